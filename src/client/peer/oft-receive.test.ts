import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OftType, decodeOftHeader, encodeOftHeader, oftChecksum, oftHeader } from '../../wire/oft.js';
import { RvType } from '../../wire/rendezvous.js';
import { receiveFiles } from './oft-receive.js';
import { collectOffer, sendFiles } from './oft-send.js';
import { within } from './deadline.test-support.js';
import type { PlainPeerConnection } from './peer-connection.js';

/**
 * A loopback socket pair standing for a peer connection: `conn` (ours, for receiveFiles/sendFiles, named `peer`)
 * and `raw` (the other side, driven by the test). `close()` destroys both and the listener.
 */
async function peerPair(peer: string, cookie: Uint8Array): Promise<{ conn: PlainPeerConnection; raw: Socket; close(): void }> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const accepted = once(srv, 'connection') as Promise<[Socket]>;
  const mine = connect({ host: '127.0.0.1', port: (srv.address() as { port: number }).port });
  await once(mine, 'connect');
  const [raw] = await accepted;
  const conn: PlainPeerConnection = {
    socket: mine, peer, cookie, capability: new Uint8Array(16), role: 'acceptor', route: 'direct', encrypted: false,
    proposal: { type: RvType.Propose, cookie, capability: new Uint8Array(16) },
  };
  return {
    conn,
    raw,
    close(): void {
      raw.destroy();
      mine.destroy();
      srv.close();
    },
  };
}

/** Reads exactly `n` bytes from `s`. */
async function readBytes(s: Socket, n: number, have: { buf: Buffer }): Promise<Buffer> {
  while (have.buf.length < n) {
    const [chunk] = (await once(s, 'data')) as [Buffer];
    have.buf = Buffer.concat([have.buf, chunk]);
  }
  const out = have.buf.subarray(0, n);
  have.buf = have.buf.subarray(n);
  return out;
}

// joustsim, as the sender, writes 0 in the prompt's cookie field and then refuses an ack that does not carry the
// rendezvous cookie (docs/protocol.md §8.5, §8.7). The receiver must write the cookie of the rendezvous.
test('receiver: the ack (0x0202) and done (0x0204) headers carry the rendezvous cookie at offset 8 even when the prompt had 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certim-oft-cookie-'));
  const cookie = new Uint8Array([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
  const pair = await peerPair('jim', cookie);
  const { conn, raw: sender } = pair;
  try {
    const data = new TextEncoder().encode('classic bytes\n');
    const received = receiveFiles(conn, { dir, offer: { kind: 1, fileCount: 1, totalSize: data.length, name: 'a.txt' } });
    const zero = new Uint8Array(8);
    sender.write(encodeOftHeader(oftHeader({ type: OftType.Prompt, cookie: zero, totalSize: data.length, size: data.length, checksum: oftChecksum(data), name: 'a.txt' })));
    const have = { buf: Buffer.alloc(0) };
    const ack = await readBytes(sender, 256, have);
    assert.equal(ack.subarray(0, 4).toString('latin1'), 'OFT2');
    assert.equal(ack.readUInt16BE(4), 256);
    assert.equal(ack.readUInt16BE(6), 0x0202);
    assert.deepEqual([...ack.subarray(8, 16)], [...cookie]);
    assert.equal(ack.readUInt32BE(60), 0, 'bytes received');
    sender.write(data);
    const done = await readBytes(sender, 256, have);
    assert.equal(done.readUInt16BE(6), 0x0204);
    assert.deepEqual([...done.subarray(8, 16)], [...cookie]);
    assert.equal(done.readUInt32BE(60), data.length, 'bytes received');
    assert.equal(done.readUInt32BE(64), oftChecksum(data), 'checksum of what arrived');
    assert.equal(done[100]! & 0x01, 0x01, 'done flag');
    const files = await received;
    assert.equal(readFileSync(files[0]!.path, 'utf8'), 'classic bytes\n');
  } finally {
    pair.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('receiver: a directory offer that sends one name twice is refused at the second prompt, nothing written for it', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certim-oft-dup-'));
  const cookie = new Uint8Array(8).fill(9);
  const pair = await peerPair('mallory', cookie);
  const { conn, raw: sender } = pair;
  try {
    const received = receiveFiles(conn, { dir, offer: { kind: 2, fileCount: 800, totalSize: 0, name: 'd' } });
    const prompt = (): Uint8Array => encodeOftHeader(oftHeader({ type: OftType.Prompt, cookie, totalSize: 0, size: 0, checksum: oftChecksum(new Uint8Array(0)), name: 'd\u0001a', filesLeft: 799, totalFiles: 800 }));
    const have = { buf: Buffer.alloc(0) };
    sender.write(prompt());
    assert.equal((await readBytes(sender, 256, have)).readUInt16BE(6), 0x0202, 'the first is acked');
    assert.equal((await readBytes(sender, 256, have)).readUInt16BE(6), 0x0204, 'and done (0 bytes)');
    sender.write(prompt());
    await assert.rejects(received, (e: unknown) => (e as { code?: string }).code === 'OFFER_REFUSED' && /sends it twice/.test((e as Error).message));
    assert.deepEqual(readdirSync(join(dir, 'd')), ['a'], 'no "a (2)"');
  } finally {
    pair.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('receiver: a partial file is resumed only for the buddy who sent it; another sender of the same name starts afresh beside it', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certim-oft-partial-'));
  writeFileSync(join(dir, 'a.txt.from-alice.certim-part'), 'ALICE-SECRET');
  const pairs: { close(): void }[] = [];
  try {
    for (const [peer, expected] of [['Mallory', 0x0202], ['Alice', 0x0205]] as const) {
      const cookie = new Uint8Array(8).fill(3);
      const pair = await peerPair(peer, cookie);
      pairs.push(pair);
      const received = receiveFiles(pair.conn, { dir, offer: { kind: 1, fileCount: 1, totalSize: 20, name: 'a.txt' } });
      received.catch(() => {});
      pair.raw.write(encodeOftHeader(oftHeader({ type: OftType.Prompt, cookie, totalSize: 20, size: 20, checksum: 0, name: 'a.txt' })));
      const answer = await readBytes(pair.raw, 256, { buf: Buffer.alloc(0) });
      assert.equal(answer.readUInt16BE(6), expected, `${peer}: ${expected === 0x0205 ? 'resume request' : 'ack from 0'}`);
      if (expected === 0x0205) assert.equal(answer.readUInt32BE(60), 'ALICE-SECRET'.length, 'her own partial length');
      pair.close();
      await received.catch(() => undefined);
    }
    assert.equal(readFileSync(join(dir, 'a.txt.from-alice.certim-part'), 'utf8'), 'ALICE-SECRET', 'mallory neither read nor truncated it');
  } finally {
    for (const p of pairs) p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// A buddy who goes silent mid-file, or stops reading what we send, must not hold the transfer (its file handle, the
// CLI command) forever: the stall limit ends it with PEER_TIMEOUT and closes the connection.
test('receiver: a sender that goes silent mid-file ends the transfer with PEER_TIMEOUT; what arrived stays as a partial to resume', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certim-oft-stall-'));
  const cookie = new Uint8Array(8).fill(5);
  const pair = await peerPair('silent', cookie);
  try {
    const data = Buffer.alloc(1000, 0x61);
    const received = receiveFiles(pair.conn, { dir, stallMs: 200, offer: { kind: 1, fileCount: 1, totalSize: data.length, name: 'b.txt' } });
    pair.raw.write(encodeOftHeader(oftHeader({ type: OftType.Prompt, cookie, totalSize: data.length, size: data.length, checksum: oftChecksum(data), name: 'b.txt' })));
    assert.equal((await readBytes(pair.raw, 256, { buf: Buffer.alloc(0) })).readUInt16BE(6), 0x0202);
    pair.raw.write(data.subarray(0, 400));
    const closed = once(pair.conn.socket, 'close');
    await assert.rejects(within(received, 10_000), (e: unknown) => (e as { code?: string }).code === 'PEER_TIMEOUT' && /silent sent nothing while we waited for the rest of the file \(600 bytes\)/.test((e as Error).message));
    await within(closed, 10_000);
    assert.equal(readFileSync(join(dir, 'b.txt.from-silent.certim-part')).length, 400, 'the 400 bytes that came are kept for a resume');
  } finally {
    pair.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sender: a receiver that acks and then reads nothing ends the transfer with PEER_TIMEOUT', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certim-oft-stall-send-'));
  const cookie = new Uint8Array(8).fill(6);
  const pair = await peerPair('sink', cookie);
  try {
    // Larger than what loopback's socket buffers on both sides take, so the sender must wait for the receiver.
    const path = join(dir, 'big.bin');
    writeFileSync(path, Buffer.alloc(64 << 20, 0x62));
    const sent = sendFiles(pair.conn, await collectOffer(path), { stallMs: 200 });
    const prompt = await readBytes(pair.raw, 256, { buf: Buffer.alloc(0) });
    assert.equal(prompt.readUInt16BE(6), 0x0101);
    pair.raw.write(encodeOftHeader({ ...decodeOftHeader(prompt), type: OftType.Ack, cookie }));
    pair.raw.pause(); // and never reads again
    await assert.rejects(within(sent, 10_000), (e: unknown) => (e as { code?: string }).code === 'PEER_TIMEOUT' && /sink read nothing of what we sent/.test((e as Error).message));
    assert.ok(pair.conn.socket.destroyed, 'the connection is closed');
  } finally {
    pair.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
