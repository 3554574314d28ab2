/**
 * `/direct` in `certim chat` (a real terminal in tmux) against a real server, with bob as a library client: alice
 * invites, bob accepts, lines in both directions are marked "direct", and when the peer connection is killed the
 * chat says so and the next line goes through the server again (docs/protocol.md §15.1).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CertimClient, IncomingIm } from '../src/client/client.js';
import { openClient } from '../src/client/node/account.js';
import { ProfileDir } from '../src/client/node/profile.js';
import { ShareServer } from '../src/client/peer/getfile-manager.js';
import { DirectImManager } from '../src/client/peer/odc-manager.js';
import type { DirectIncomingIm } from '../src/client/peer/odc-session.js';
import { CLI, TestServer, type TestUser } from './support/cli-harness.js';
import { shellQuote, TmuxSession } from './support/tmux.js';

describe('certim chat: /direct', { timeout: 400_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bobUser: TestUser;
  let bob: CertimClient;
  let dim: DirectImManager;
  let tty: TmuxSession;
  let cwd: string;

  before(async () => {
    server = await TestServer.start();
    alice = await server.enrolledUser('alice');
    bobUser = await server.enrolledUser('bob');
    ({ client: bob } = await openClient(new ProfileDir(bobUser.profile), { password: bobUser.password, passphrase: bobUser.passphrase, buddies: ['alice'], client: { reconnect: false } }));
    await bob.connect();
    dim = new DirectImManager(bob, { peer: { proxy: { host: '127.0.0.1', port: server.ready.proxy } } });
    const env = Object.entries(alice.env({ TERM: 'xterm-256color', LANG: 'C.UTF-8', CERTIM_PROXY: `127.0.0.1:${server.ready.proxy}` })).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
    // The chat runs in a scratch folder: `/get` fetches into the current directory.
    cwd = await mkdtemp(join(server.tmp, 'alice-cwd-'));
    tty = TmuxSession.start(`cd ${shellQuote(cwd)} && env ${env} ${CLI.map(shellQuote).join(' ')} chat bob --profile ${shellQuote(alice.profile)}; echo CHAT-EXITED-$?; sleep 60`, 120, 30);
    await tty.waitScreen((x) => x.includes('certim chat — alice — online') && /\* bob/.test(x), 'chat with bob online');
  });

  after(async () => {
    tty?.kill();
    dim?.stop();
    bob?.close();
    await server?.stop();
  });

  it('opens a Direct IM, marks direct lines both ways, and falls back to the server when it is killed', async () => {
    const invited = once(dim, 'invitation');
    tty.line('/direct bob');
    await invited;
    const session = await dim.open('alice');
    await tty.waitScreen((x) => x.includes('Direct IM with bob is up'), 'the chat says the Direct IM is up');

    const got = once(dim, 'im') as Promise<[DirectIncomingIm]>;
    tty.line('hello over the direct line');
    const [m] = await got;
    assert.deepEqual([m.text, m.direct, m.verdict], ['hello over the direct line', true, 'verified']);
    await tty.waitScreen((x) => /me \[secure, direct\] hello over the direct line/.test(x), 'our line marked direct');
    await session.send('bob answers directly');
    await tty.waitScreen((x) => /bob \[secure, direct\] bob answers directly/.test(x), 'bob\'s line marked direct');

    // Kill the peer connection: the chat says so, and the next line goes through the server, encrypted.
    (session as unknown as { opts: { stream: { destroy(): void } } }).opts.stream.destroy();
    await tty.waitScreen((x) => x.includes('Direct IM with bob closed') && x.includes('Messages go through the server'), 'the chat says it fell back');
    const viaServer = new Promise<IncomingIm>((resolve) => bob.once('im', resolve));
    tty.line('after the cut');
    const m2 = await viaServer;
    assert.deepEqual([m2.text, m2.verdict, m2.secure, 'direct' in m2], ['after the cut', 'verified', true, false]);
    await tty.waitScreen((x) => /me \[secure\] after the cut/.test(x), 'the line is a server IM again');
  });

  it('/get lists bob\'s shared folder and fetches a file into the current directory', async () => {
    const share = join(server.tmp, 'bob-share');
    await mkdir(join(share, 'pics'), { recursive: true });
    await writeFile(join(share, 'notes.txt'), 'notes from bob');
    const sharing = new ShareServer(bob, { root: share, peer: { proxy: { host: '127.0.0.1', port: server.ready.proxy } } });
    await sharing.start();
    try {
      tty.line('/get bob');
      await tty.waitScreen((x) => x.includes('bob shares (TLS pinned to') && x.includes('pics/') && x.includes('notes.txt  (14 bytes)'), 'the listing in the conversation');
      tty.line('/get bob notes.txt');
      await tty.waitScreen((x) => x.includes('fetched /notes.txt from bob'), 'the fetch reported');
      assert.equal(await readFile(join(cwd, 'notes.txt'), 'utf8'), 'notes from bob');
    } finally {
      sharing.stop();
    }
  });
});
