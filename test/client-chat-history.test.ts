/**
 * `certim chat --history` in tmux with a real server: conversations are kept in the profile encrypted with the
 * user's key (no plaintext in the file, mode 0600), shown again at the next `chat --history`, and neither
 * written nor shown without the option.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT, TestServer, TestUser } from './support/cli-harness.js';
import { shellQuote, TmuxSession } from './support/tmux.js';
import { historyOutsideCiphertext } from '../src/client/node/history.test-support.js';

describe('certim chat --history', { timeout: 400_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  const sessions: TmuxSession[] = [];

  function chat(...args: string[]): TmuxSession {
    const env = Object.entries(alice.env({ TERM: 'xterm-256color', LANG: 'C.UTF-8' })).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
    const t = TmuxSession.start(`cd ${shellQuote(ROOT)} && env ${env} ${CLI.map(shellQuote).join(' ')} chat ${args.map(shellQuote).join(' ')} --profile ${shellQuote(alice.profile)}; echo CHAT-EXITED-$?; sleep 60`, 100, 30);
    sessions.push(t);
    return t;
  }

  before(async () => {
    server = await TestServer.start();
    alice = await server.enrolledUser('alice');
    bob = await server.enrolledUser('bob');
  });

  after(async () => {
    for (const s of sessions) s.kill();
    await server?.stop();
  });

  it('keeps the conversation encrypted and shows it again next time', async () => {
    const t = chat('--history', 'bob');
    await t.waitScreen((x) => x.includes('certim chat — alice — online'), 'chat');
    const r = await bob.run(['send', 'alice', 'remember me 漢字 please']);
    assert.equal(r.code, 0, r.stderr);
    await t.waitScreen((x) => x.includes('bob [secure] remember me 漢字 please'), "bob's IM");
    t.line('noted, bob');
    await t.waitScreen((x) => x.includes('me [secure] noted, bob  (stored: bob is offline)'), 'reply stored');
    t.line('/quit');
    await t.waitScreen((x) => x.includes('CHAT-EXITED-0'), 'exit');

    const file = join(alice.profile, 'history.jsonl');
    const raw = readFileSync(file, 'utf8');
    assert.equal(raw.trim().split('\n').length, 2);
    assert.doesNotMatch(historyOutsideCiphertext(raw), /remember|noted|漢字|bob/);
    assert.equal(statSync(file).mode & 0o777, 0o600);

    const again = chat('--history');
    const s = await again.waitScreen((x) => x.includes('remember me 漢字 please') && x.includes('noted, bob'), 'history shown');
    assert.match(s, /bob \[secure\] \(history\) remember me 漢字 please/);
    again.line('/quit');
    await again.waitScreen((x) => x.includes('CHAT-EXITED-0'), 'exit');

    const plain = chat();
    await plain.waitScreen((x) => x.includes('certim chat — alice — online'), 'chat without history');
    await new Promise((r) => setTimeout(r, 1000));
    assert.doesNotMatch(plain.screen(), /remember me/);
    plain.line('/quit');
    await plain.waitScreen((x) => x.includes('CHAT-EXITED-0'), 'exit');
    assert.equal(readFileSync(file, 'utf8'), raw, 'without --history nothing is written');
    assert.ok(existsSync(file));
  });
});
