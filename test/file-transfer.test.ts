/**
 * Secure file transfer end to end (docs/protocol.md §8): a real server process, `certim file send` and
 * `certim file receive` as real CLI processes, and a scripted library peer (test/support/file-peer.ts) for what a
 * well-behaved CLI never does: hostile names, hanging up half-way, cancelling.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertimClient } from '../src/client/client.js';
import { OftType } from '../src/wire/oft.js';
import { TestServer, type RunningCli, type TestUser } from './support/cli-harness.js';
import { cancelMessage, libraryClient, nextCancel, offer, prompt, proxyArgs, startFileReceiver } from './support/file-peer.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('certim file send / receive', { timeout: 600_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let big: string;
  let bigSha: string;
  const libs: CertimClient[] = [];

  before(async () => {
    server = await TestServer.start();
    alice = await server.enrolledUser('alice');
    bob = await server.enrolledUser('bob');
    big = join(server.tmp, 'big.bin');
    const data = randomBytes(50 * 1024 * 1024);
    writeFileSync(big, data);
    bigSha = sha(data);
  });

  after(async () => {
    for (const c of libs) c.close();
    await server?.stop();
  });

  const receiver = (dir: string, extra: string[] = []): Promise<RunningCli> => startFileReceiver(bob, 'alice', dir, [...proxyArgs(server), ...extra]);

  const event = (p: RunningCli, name: string): Record<string, unknown> | undefined => p.jsonLines().find((l) => l.event === name);

  it('sends a 50 MB file directly, TLS-pinned, checksum verified, with progress', async () => {
    const dir = join(server.tmp, 'in-direct');
    const r = await receiver(dir);
    const s = await alice.run(['file', 'send', 'bob', big, '--json', ...proxyArgs(server)]);
    assert.equal(s.code, 0, s.stderr);
    const rr = await r.finish();
    assert.equal(rr.code, 0, rr.stderr);
    const sent = s.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'sent')!;
    assert.deepEqual([sent.route, sent.bytes, sent.files], ['direct', 50 * 1024 * 1024, 1]);
    const got = event(r, 'received')!;
    assert.equal(got.route, 'direct');
    const offerLine = event(r, 'offer')!;
    assert.deepEqual([offerLine.from, offerLine.name, offerLine.size, offerLine.trust], ['alice', 'big.bin', 50 * 1024 * 1024, 'ca']);
    const progress = r.jsonLines().filter((l) => l.event === 'progress');
    assert.ok(progress.length >= 1, 'progress was reported');
    assert.equal(progress.at(-1)!.bytes, 50 * 1024 * 1024);
    assert.equal(sha(readFileSync(join(dir, 'big.bin'))), bigSha);
  });

  it('sends the same file through the rendezvous proxy when forced', async () => {
    const dir = join(server.tmp, 'in-proxy');
    const r = await receiver(dir);
    const s = await alice.run(['file', 'send', 'bob', big, '--json', '--force-proxy', ...proxyArgs(server)]);
    assert.equal(s.code, 0, s.stderr);
    const rr = await r.finish();
    assert.equal(rr.code, 0, rr.stderr);
    assert.equal(event(r, 'received')!.route, 'proxy');
    assert.equal(sha(readFileSync(join(dir, 'big.bin'))), bigSha);
  });

  it('sends a directory; names keep their relative paths under the receiving directory', async () => {
    const src = join(server.tmp, 'album');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'one.txt'), 'first file\n');
    writeFileSync(join(src, 'sub', 'two.bin'), randomBytes(100_000));
    writeFileSync(join(src, 'empty'), '');
    const dir = join(server.tmp, 'in-dir');
    const r = await receiver(dir);
    const s = await alice.run(['file', 'send', 'bob', src, '--json', ...proxyArgs(server)]);
    assert.equal(s.code, 0, s.stderr);
    assert.equal((await r.finish()).code, 0, r.stderr);
    for (const f of ['one.txt', 'sub/two.bin', 'empty']) assert.equal(sha(readFileSync(join(dir, 'album', f))), sha(readFileSync(join(src, f))), f);
  });

  it('resumes an interrupted transfer from the partial file (0x0205 / 0x0106 / 0x0207)', async () => {
    const dir = join(server.tmp, 'in-resume');
    const data = readFileSync(big);
    let r = await receiver(dir);
    // A scripted alice sends 20 MB of the file and hangs up.
    const a = await libraryClient(alice);
    libs.push(a);
    const conn = await offer(a, 'bob', 'big.bin', data.length, server.ready.proxy);
    const answer = await prompt(conn, 'big.bin', data);
    assert.equal(answer.type, OftType.Ack);
    await new Promise<void>((res) => conn.socket.write(data.subarray(0, 20 * 1024 * 1024), () => res()));
    // Named for its sender: only alice's next offer of big.bin resumes it.
    const partial = join(dir, 'big.bin.from-alice.certim-part');
    await r.waitFor(() => existsSync(partial) && statSync(partial).size === 20 * 1024 * 1024, 'the partial file', 60_000);
    conn.socket.destroy();
    const rr = await r.finish();
    assert.equal(rr.code, 1);
    assert.equal(event(r, 'error')!.code, 'TRANSFER_CLOSED');
    assert.ok(!existsSync(join(dir, 'big.bin')), 'nothing is presented as complete');
    a.close();
    // The real CLI sends the whole file again; the receiver resumes at 20 MB.
    r = await receiver(dir);
    const s = await alice.run(['file', 'send', 'bob', big, '--json', ...proxyArgs(server)]);
    assert.equal(s.code, 0, s.stderr);
    assert.equal((await r.finish()).code, 0, r.stderr);
    const got = event(r, 'received')! as { files: Array<{ resumedFrom: number }> };
    assert.equal(got.files[0]!.resumedFrom, 20 * 1024 * 1024);
    const sent = s.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'sent')!;
    assert.equal(sent.bytesSent, data.length - 20 * 1024 * 1024, 'only the rest went over the wire');
    assert.equal(sha(readFileSync(join(dir, 'big.bin'))), bigSha);
    assert.ok(!existsSync(partial));
  });

  it('a sender that cancels half-way is reported as cancelled; a receiver that cancels tells the sender', async () => {
    const data = randomBytes(4 * 1024 * 1024);
    // Sender cancels.
    let dir = join(server.tmp, 'in-cancel-1');
    let r = await receiver(dir);
    const a = await libraryClient(alice);
    libs.push(a);
    let conn = await offer(a, 'bob', 'c.bin', data.length, server.ready.proxy);
    await prompt(conn, 'c.bin', data);
    conn.socket.write(data.subarray(0, 1024 * 1024));
    await r.waitFor(() => r.jsonLines().some((l) => l.event === 'progress'), 'progress', 30_000);
    await a.sendRendezvous('bob', cancelMessage(conn));
    conn.socket.destroy();
    let rr = await r.finish();
    assert.equal(rr.code, 1);
    const err = event(r, 'error')!;
    assert.equal(err.code, 'PEER_CANCELLED', JSON.stringify(err));
    assert.match(String(err.message), /alice cancelled the transfer/);
    // Receiver cancels (Ctrl-C): the sender gets a rendezvous cancel for the cookie and the stream closes.
    dir = join(server.tmp, 'in-cancel-2');
    r = await receiver(dir);
    conn = await offer(a, 'bob', 'c.bin', data.length, server.ready.proxy);
    const cancelled = nextCancel(a, conn.cookie);
    await prompt(conn, 'c.bin', data);
    conn.socket.write(data.subarray(0, 1024 * 1024));
    await r.waitFor(() => r.jsonLines().some((l) => l.event === 'progress'), 'progress', 30_000);
    r.child.kill('SIGINT');
    rr = await r.finish();
    assert.equal(rr.code, 1);
    assert.equal(event(r, 'error')!.code, 'ABORTED');
    await cancelled;
    await new Promise<void>((res) => (conn.socket.destroyed ? res() : conn.socket.once('close', () => res())));
  });

  it('refuses hostile names: in the offer (declined before connecting) and in an OFT prompt (nothing written outside)', async () => {
    const a = await libraryClient(alice);
    libs.push(a);
    const dir = join(server.tmp, 'in-evil');
    // The offer itself names a path outside.
    let r = await receiver(dir);
    const declined = offer(a, 'bob', '../../evil.sh', 10, server.ready.proxy).then(() => undefined, (e: unknown) => e as Error & { code?: string; cancelReason?: number });
    await r.finish();
    const refused = event(r, 'refused')!;
    assert.equal(refused.code, 'OFFER_REFUSED');
    assert.match(String(refused.reason), /climbs out of the download directory|path traversal/);
    const e = await declined;
    assert.equal(e?.code, 'PEER_CANCELLED');
    assert.equal(e?.cancelReason, 1);
    // A harmless offer, then an OFT prompt that climbs out, then one with an absolute path, then a device name.
    for (const evil of ['..\u0001..\u0001evil.sh', '/tmp/evil.sh', 'ok.txt\u0001..\u0001..\u0001x', 'CON']) {
      r = await receiver(dir);
      const conn = await offer(a, 'bob', 'ok.txt', 10, server.ready.proxy);
      const closed = new Promise<void>((res) => conn.socket.once('close', () => res()));
      conn.socket.on('error', () => {});
      await prompt(conn, evil, Buffer.from('#!/bin/sh\n')).catch(() => undefined);
      await closed;
      const rr = await r.finish();
      assert.equal(rr.code, 1, JSON.stringify(evil));
      assert.equal(event(r, 'refused')?.code, 'OFFER_REFUSED', `${JSON.stringify(evil)}: ${r.stdout}`);
    }
    assert.deepEqual(readdirSync(dir), [], 'nothing was written');
    assert.ok(!existsSync(join(server.tmp, 'evil.sh')) && !existsSync('/tmp/evil.sh'));
  });
});
