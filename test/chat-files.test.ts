/**
 * File transfer inside `certim chat` (tmux) against a real server: an offer from bob (a library client) shows its
 * name, size and bob's trust; /accept saves it, /decline refuses it (bob sees the cancel), /send offers a file that
 * bob's library client accepts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertimClient } from '../src/client/client.js';
import { PeerError, acceptFileOffer, fileOfferOf, sendFile, type FileOffer } from '../src/client/peer/index.js';
import { CLI, ROOT, TestServer, type TestUser } from './support/cli-harness.js';
import { libraryClient } from './support/file-peer.js';
import { shellQuote, TmuxSession } from './support/tmux.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('file transfer in certim chat', { timeout: 400_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bobUser: TestUser;
  let bob: CertimClient;
  let tty: TmuxSession;
  let downloads: string;

  before(async () => {
    server = await TestServer.start();
    alice = await server.enrolledUser('alice');
    bobUser = await server.enrolledUser('bob');
    bob = await libraryClient(bobUser);
    downloads = join(server.tmp, 'downloads');
    mkdirSync(downloads);
    const env = Object.entries(alice.env({ TERM: 'xterm-256color', LANG: 'C.UTF-8', CERTIM_DOWNLOADS: downloads, CERTIM_PROXY: `127.0.0.1:${server.ready.proxy}` }))
      .map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
    tty = TmuxSession.start(`cd ${shellQuote(ROOT)} && env ${env} ${CLI.map(shellQuote).join(' ')} chat bob --profile ${shellQuote(alice.profile)}; echo CHAT-EXITED-$?; sleep 60`, 120, 30);
    await tty.waitScreen((x) => x.includes('certim chat — alice — online'), 'chat signed on');
  });

  after(async () => {
    tty?.kill();
    bob?.close();
    await server?.stop();
  });

  const route = (): { proxy: { host: string; port: number } } => ({ proxy: { host: '127.0.0.1', port: server.ready.proxy } });

  it('shows an offer with name, size and trust; /accept saves it into the downloads directory', async () => {
    const data = randomBytes(300_000);
    const src = join(server.tmp, 'notes.bin');
    writeFileSync(src, data);
    const t = await sendFile(bob, 'alice', src, route());
    await tty.waitScreen((x) => ['[file offer]', '"notes.bin"', '293.0 KiB', 'CA-certified'].every((w) => x.includes(w)), 'the offer line');
    tty.line('/accept');
    const r = await t.result;
    assert.equal(r.route, 'direct');
    await tty.waitScreen((x) => x.includes('checksum verified'), 'the received note');
    assert.equal(sha(readFileSync(join(downloads, 'notes.bin'))), sha(data));
  });

  it('/decline refuses the offer: the sender gets a cancel with reason "declined"', async () => {
    const src = join(server.tmp, 'unwanted.bin');
    writeFileSync(src, randomBytes(1000));
    const t = await sendFile(bob, 'alice', src, route());
    await tty.waitScreen((x) => x.includes('"unwanted.bin"'), 'the offer');
    tty.line('/decline');
    await assert.rejects(t.result, (e: unknown) => PeerError.is(e, 'PEER_CANCELLED') && e.cancelReason === 1);
    await tty.waitScreen((x) => x.includes('declined unwanted.bin'), 'the declined note');
  });

  it('/send offers a file to the open conversation; the buddy accepts it', async () => {
    const data = randomBytes(200_000);
    const src = join(server.tmp, 'from-alice.bin');
    writeFileSync(src, data);
    const offered = new Promise<FileOffer>((resolve) => bob.on('rendezvous', ({ from, message }) => {
      const o = fileOfferOf(from, message);
      if (o) resolve(o);
    }));
    tty.line(`/send ${src}`);
    const o = await offered;
    assert.deepEqual([o.from, o.data.name, o.data.totalSize], ['alice', 'from-alice.bin', data.length]);
    const into = join(server.tmp, 'bob-in');
    mkdirSync(into);
    const t = await acceptFileOffer(bob, o, into, route());
    await t.result;
    assert.equal(sha(readFileSync(join(into, 'from-alice.bin'))), sha(data));
    await tty.waitScreen((x) => x.includes('sent 1 file(s) over TLS'), 'the sent note');
  });
});
