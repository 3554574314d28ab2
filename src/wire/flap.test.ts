import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireError, fromHex, toHex } from './bytes.js';
import { Prng } from './fuzz-kit.test-support.js';
import {
  FLAP_MAX_FRAME, FlapChannel, FlapDeframer, decodeFlap, decodeFlapErrorCode, decodeFlapHello, decodeFlapSignOff,
  encodeFlap, encodeFlapErrorCode, encodeFlapHello, encodeFlapSignOff, type FlapFrame,
} from './flap.js';
import { tlv } from './tlv.js';

const isCode = (code: string, offset?: number) => (e: unknown) => WireError.is(e) && e.code === code && (offset === undefined || e.offset === offset);
const plain = (fs: FlapFrame[]) => fs.map((f) => [f.channel, f.sequence, toHex(f.payload)]);

test('docs/protocol.md §1.1: FLAP frame encodes byte-exact', () => {
  const f = encodeFlap({ channel: FlapChannel.Data, sequence: 0x0102, payload: fromHex('010203') });
  assert.equal(toHex(f), '2a' + '02' + '0102' + '0003' + '010203');
  assert.deepEqual(plain([decodeFlap(f)]), [[2, 0x0102, '010203']]);
});

test('docs/protocol.md §1.1: decodeFlap rejects a bad start byte, short header, and trailing bytes', () => {
  assert.throws(() => decodeFlap(fromHex('2b 02 0001 0000')), isCode('BAD_START_BYTE', 0));
  assert.throws(() => decodeFlap(fromHex('2a 02 00')), isCode('TRUNCATED'));
  assert.throws(() => decodeFlap(fromHex('2a 02 0001 0002 aa')), isCode('TRUNCATED'));
  assert.throws(() => decodeFlap(fromHex('2a 02 0001 0000 aa')), isCode('TRAILING_BYTES'));
});

test('docs/protocol.md §1.1: channel-1 hello is u32 version 1 then TLVs (auth cookie TLV 0x0006)', () => {
  assert.equal(toHex(encodeFlapHello()), '00000001');
  const withCookie = encodeFlapHello([tlv(0x0006, fromHex('abcd'))]);
  assert.equal(toHex(withCookie), '00000001' + '0006' + '0002' + 'abcd');
  const h = decodeFlapHello(withCookie);
  assert.equal(h.version, 1);
  assert.equal(toHex(h.tlvs.bytes(6)!), 'abcd');
  assert.throws(() => decodeFlapHello(fromHex('000000')), isCode('TRUNCATED'));
});

test('docs/protocol.md §1.1: channel-4 sign-off TLVs 0x0009 reason and 0x000B URL; empty old-style signoff', () => {
  const p = encodeFlapSignOff({ reason: 1, url: 'x' });
  assert.equal(toHex(p), '0009' + '0002' + '0001' + '000b' + '0001' + '78');
  const s = decodeFlapSignOff(p);
  assert.equal(s.reason, 1);
  assert.equal(s.url, 'x');
  const empty = decodeFlapSignOff(new Uint8Array(0));
  assert.equal(empty.reason, undefined);
  assert.equal(empty.tlvs.size, 0);
});

test('docs/protocol.md §1.1: channel-3 error is one u16', () => {
  assert.equal(toHex(encodeFlapErrorCode(0x0005)), '0005');
  assert.equal(decodeFlapErrorCode(fromHex('0005')), 5);
  assert.throws(() => decodeFlapErrorCode(fromHex('000500')), isCode('TRAILING_BYTES'));
});

// Three frames: a hello, an empty keep-alive, and a data frame.
const FRAMES: FlapFrame[] = [
  { channel: 1, sequence: 100, payload: fromHex('00000001') },
  { channel: 5, sequence: 101, payload: new Uint8Array(0) },
  { channel: 2, sequence: 0xffff, payload: fromHex('0004000700000000000100112233') },
];
const STREAM = (() => {
  const parts = FRAMES.map(encodeFlap);
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
})();

test('docs/protocol.md §1.1 deframer: coalesced frames in one chunk come back as views, no copy', () => {
  const d = new FlapDeframer();
  const out = d.push(STREAM);
  assert.deepEqual(plain(out), plain(FRAMES));
  for (const f of out) assert.equal(f.payload.buffer, STREAM.buffer);
  assert.equal(d.buffered, 0);
  assert.equal(d.offset, STREAM.length);
});

test('docs/protocol.md §1.1 deframer: pushTo appends to the caller\'s array and keeps what was there', () => {
  const d = new FlapDeframer();
  const queue: FlapFrame[] = [FRAMES[0]!];
  const half = Math.floor(STREAM.length / 2);
  d.pushTo(STREAM.subarray(0, half), queue);
  d.pushTo(STREAM.subarray(half), queue);
  assert.deepEqual(plain(queue), plain([FRAMES[0]!, ...FRAMES]));
  // After a bad start byte the deframer stays failed, whichever method is called next.
  const bad = new FlapDeframer();
  assert.throws(() => bad.pushTo(Uint8Array.of(0x2b), []), isCode('BAD_START_BYTE', 0));
  assert.throws(() => bad.push(STREAM), isCode('BAD_START_BYTE', 0));
});

test('docs/protocol.md §1.1 deframer: every single split point of a multi-frame stream', () => {
  for (let i = 0; i <= STREAM.length; i++) {
    const d = new FlapDeframer();
    const out = [...d.push(STREAM.subarray(0, i)), ...d.push(STREAM.subarray(i))];
    assert.deepEqual(plain(out), plain(FRAMES), `split at ${i}`);
    assert.equal(d.buffered, 0);
  }
});

test('docs/protocol.md §1.1 deframer: every pair of split points (three chunks) and byte-by-byte', () => {
  for (let i = 0; i <= STREAM.length; i++) {
    for (let j = i; j <= STREAM.length; j++) {
      const d = new FlapDeframer();
      const out = [...d.push(STREAM.subarray(0, i)), ...d.push(STREAM.subarray(i, j)), ...d.push(STREAM.subarray(j))];
      assert.deepEqual(plain(out), plain(FRAMES), `split at ${i},${j}`);
    }
  }
  const d = new FlapDeframer();
  const out: FlapFrame[] = [];
  for (let i = 0; i < STREAM.length; i++) out.push(...d.push(STREAM.subarray(i, i + 1)));
  assert.deepEqual(plain(out), plain(FRAMES));
});

test('docs/protocol.md §1.1 deframer: a held partial frame is not corrupted when the caller reuses its chunk buffer', () => {
  const d = new FlapDeframer();
  const chunk = new Uint8Array(STREAM.subarray(0, 20));
  const first = d.push(chunk);
  chunk.fill(0);
  const rest = d.push(STREAM.subarray(20));
  assert.deepEqual(plain(rest), plain(FRAMES).slice(first.length));
});

test('docs/protocol.md §1.1 deframer: maxFrameSize accepts the limit and rejects one more, before the payload arrives', () => {
  const ok = new FlapDeframer({ maxFrameSize: 100 });
  assert.equal(ok.push(encodeFlap({ channel: 2, sequence: 1, payload: new Uint8Array(94) })).length, 1);
  const d = new FlapDeframer({ maxFrameSize: 100 });
  // only the header of a 101-byte frame: rejected now, nothing buffered (no allocation for the body)
  assert.throws(() => d.push(fromHex('2a 02 0001 005f')), isCode('FRAME_TOO_LARGE', 4));
  assert.equal(d.buffered, 0);
  // poisoned: later pushes rethrow
  assert.throws(() => d.push(fromHex('2a')), isCode('FRAME_TOO_LARGE'));
});

test('docs/protocol.md §1.1 deframer: oversize header split across chunks is still rejected on the header', () => {
  const d = new FlapDeframer({ maxFrameSize: 1000 });
  assert.deepEqual(d.push(fromHex('2a 02 00')), []);
  assert.throws(() => d.push(fromHex('01 ff ff')), isCode('FRAME_TOO_LARGE', 4));
});

test('docs/protocol.md §1.1 deframer: default limit is 65535+6 and the constructor refuses nonsense limits', () => {
  assert.equal(new FlapDeframer().maxFrameSize, FLAP_MAX_FRAME);
  assert.equal(FLAP_MAX_FRAME, 65541);
  assert.throws(() => new FlapDeframer({ maxFrameSize: 5 }), RangeError);
  assert.throws(() => new FlapDeframer({ maxFrameSize: 70000 }), RangeError);
  const d = new FlapDeframer();
  const big = encodeFlap({ channel: 2, sequence: 9, payload: new Uint8Array(65535).fill(7) });
  const out = [...d.push(big.subarray(0, 3)), ...d.push(big.subarray(3, 40000)), ...d.push(big.subarray(40000))];
  assert.equal(out.length, 1);
  assert.equal(out[0]!.payload.length, 65535);
});

test('docs/protocol.md §1.1 deframer: bad start byte is a protocol error at its stream offset, even as a 1-byte chunk', () => {
  assert.throws(() => new FlapDeframer().push(fromHex('00')), isCode('BAD_START_BYTE', 0));
  const d = new FlapDeframer();
  d.push(STREAM.subarray(0, 10)); // first frame complete
  assert.throws(() => d.push(fromHex('2b')), isCode('BAD_START_BYTE', 10));
  const e = new FlapDeframer();
  assert.throws(() => e.push(new Uint8Array([...STREAM, 0x41, 0x42])), isCode('BAD_START_BYTE', STREAM.length));
});

test('property: random frames in random chunkings deframe to the same frames (500 seeded streams)', () => {
  const rng = new Prng(7);
  for (let s = 0; s < 500; s++) {
    const frames: FlapFrame[] = Array.from({ length: 1 + rng.int(8) }, () => ({
      channel: 1 + rng.int(5), sequence: rng.int(0x10000), payload: rng.bytes(rng.chance(0.1) ? rng.int(5000) : rng.int(300)),
    }));
    const bytes = frames.map(encodeFlap);
    const stream = new Uint8Array(bytes.reduce((a, b) => a + b.length, 0));
    let o = 0;
    for (const b of bytes) { stream.set(b, o); o += b.length; }
    const d = new FlapDeframer();
    const out: FlapFrame[] = [];
    for (let i = 0; i < stream.length;) {
      const n = 1 + rng.int(rng.chance(0.5) ? 16 : 2000);
      out.push(...d.push(stream.subarray(i, i + n)));
      i += n;
    }
    assert.deepEqual(plain(out), plain(frames));
    assert.equal(d.buffered, 0);
  }
});
