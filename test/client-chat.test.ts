/**
 * `certim chat` driven in a real terminal: a tmux session runs the chat as alice; the test types into it with
 * `tmux send-keys` and reads the screen with `tmux capture-pane`, while bob uses the scripted CLI.
 * Proves: the buddy list and conversation render, typed text is sent encrypted (bob's listen verifies it),
 * incoming IMs show with their security marker, arrow keys move the selection, plaintext needs /plaintext,
 * an IM alice sends from another terminal shows in the conversation (several sessions per user), a key change
 * shows a warning, /verify marks the buddy verified, and /quit ends the program.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CLI, ROOT, TestServer, TestUser } from './support/cli-harness.js';

const SESSION = `certim-chat-${process.pid}-${randomBytes(3).toString('hex')}`;

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

function screen(): string {
  return tmux('capture-pane', '-p', '-t', SESSION);
}

async function waitScreen(pred: (s: string) => boolean, what: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let s = '';
  while (Date.now() < deadline) {
    s = screen();
    if (pred(s)) return s;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}; screen:\n${s}`);
}

function type(text: string): void {
  tmux('send-keys', '-t', SESSION, '-l', text);
  tmux('send-keys', '-t', SESSION, 'Enter');
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

describe('certim chat in tmux', { timeout: 400_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    execFileSync('tmux', ['-V']); // fails loudly if tmux is missing
    server = await TestServer.start();
    alice = await server.enrolledUser('alice');
    bob = await server.enrolledUser('bob');
    await server.addUser('dave', 'dave-pw-1');
    const env = Object.entries(alice.env({ TERM: 'xterm-256color', LANG: 'C.UTF-8' })).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
    const cmd = `cd ${shellQuote(ROOT)} && env ${env} ${CLI.map(shellQuote).join(' ')} chat --profile ${shellQuote(alice.profile)}; echo CHAT-EXITED-$?; sleep 60`;
    tmux('new-session', '-d', '-s', SESSION, '-x', '120', '-y', '32', cmd);
  });

  after(async () => {
    try {
      tmux('kill-session', '-t', SESSION);
    } catch {
      // already gone
    }
    await server?.stop();
  });

  it('signs on and shows the chat screen', async () => {
    const s = await waitScreen((x) => x.includes('certim chat — alice — online'), 'chat screen');
    assert.match(s, /\/msg NAME/);
  });

  it('sends what alice types, encrypted; bob verifies it', async () => {
    const listen = bob.start(['listen', '--json', '--count', '1']);
    await listen.waitFor((_o, e) => e.includes('waiting for IMs'), 'bob signed on');
    type('/msg bob');
    await waitScreen((x) => /> [*-] bob/.test(x), 'bob selected');
    type('hello bob from tmux');
    const s = await waitScreen((x) => x.includes('me [secure] hello bob from tmux'), 'sent line with lock marker');
    assert.match(s, /bob: secure, CA-certified/);
    const done = await listen.finish();
    assert.equal(done.code, 0, done.stderr);
    const [im] = listen.jsonLines();
    assert.equal(im?.text, 'hello bob from tmux');
    assert.equal(im?.verdict, 'verified');
  });

  it("shows bob's reply with its verdict marker", async () => {
    const r = await bob.run(['send', 'alice', 'hi alice, bob here']);
    assert.equal(r.code, 0, r.stderr);
    await waitScreen((x) => x.includes('bob [secure] hi alice, bob here'), "bob's message");
  });

  it('shows what alice sends from another terminal, without being signed off', async () => {
    const r = await alice.run(['send', 'bob', 'from my other terminal']);
    assert.equal(r.code, 0, r.stderr);
    const s = await waitScreen((x) => x.includes('me [secure] from my other terminal'), 'own IM from another session');
    assert.match(s, /certim chat — alice — online/);
  });

  it('arrow keys pick a buddy; plaintext to a buddy without a key needs /plaintext', async () => {
    type('/add dave');
    await waitScreen((x) => /> [*-] dave/.test(x), 'dave selected');
    tmux('send-keys', '-t', SESSION, 'Up');
    await waitScreen((x) => /> [*-] bob/.test(x) && x.includes('bob: secure'), 'Up selects bob');
    tmux('send-keys', '-t', SESSION, 'Down');
    await waitScreen((x) => /> [*-] dave/.test(x) && x.includes('dave: no certificate'), 'Down selects dave');
    type('psst dave');
    await waitScreen((x) => x.includes('[NOT SENT]') && x.includes('Type /plaintext'), 'refused plaintext');
    type('/plaintext');
    await waitScreen((x) => x.includes('PLAINTEXT ALLOWED'), 'plaintext allowed banner');
    type('psst dave, in the clear');
    await waitScreen((x) => x.includes('me [PLAINTEXT] psst dave, in the clear'), 'plaintext marker');
  });

  it("warns when bob's key changes, and /verify marks the new key verified", async () => {
    const rotate = await bob.run(['keys', 'rotate']);
    assert.equal(rotate.code, 0, rotate.stderr);
    const fp = (JSON.parse((await bob.run(['keys', 'show', '--json'])).stdout) as { fingerprint: string }).fingerprint;
    await waitScreen((x) => x.includes("WARNING: bob's key changed!"), 'key-change warning');
    type('/msg bob');
    await waitScreen((x) => x.includes('bob: secure, KEY CHANGED'), 'changed trust in the title');
    type(`/verify bob ${fp}`);
    await waitScreen((x) => x.includes('bob: secure, personally verified'), 'verified title');
  });

  it('/quit exits cleanly', async () => {
    type('/quit');
    await waitScreen((x) => x.includes('CHAT-EXITED-0'), 'exit code 0');
  });
});
