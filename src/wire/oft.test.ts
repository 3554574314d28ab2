import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { WireError } from './bytes.js';
import { OFT_CHECKSUM_EMPTY, OFT_HEADER_SIZE, OftCharset, OftType, decodeOftHeader, encodeOftHeader, oftChecksum, oftHeader, oftHeaderLength } from './oft.js';

test('OFT checksum: hand-computed vectors from the documented algorithm (docs/protocol.md §8.5)', () => {
  assert.equal(oftChecksum(new Uint8Array(0)), OFT_CHECKSUM_EMPTY);
  assert.equal(oftChecksum(new Uint8Array([0x01])), 0xfeff0000);
  assert.equal(oftChecksum(new Uint8Array([0x01, 0x02])), 0xfefd0000);
  // 0xFFFF - 0xFF00 - 0x00FF = 0, then - 0xFF00 borrows (and one more), - 0x00FF; folded twice: 0xFFFF.
  assert.equal(oftChecksum(new Uint8Array([0xff, 0xff, 0xff, 0xff])), 0xffff0000);
});

test('OFT checksum: any chunking gives the same result as one pass (resume continues from a prefix)', () => {
  for (let t = 0; t < 100; t++) {
    const d = randomBytes(1 + (t * 97) % 4000);
    const whole = oftChecksum(d);
    let c = OFT_CHECKSUM_EMPTY;
    for (let off = 0; off < d.length;) {
      const part = d.subarray(off, off + 1 + ((off * 31 + t) % 700));
      c = oftChecksum(part, c, off);
      off += part.length;
    }
    assert.equal(c, whole);
  }
});

test('OFT2 header: round trip at 256 bytes, with the fields at their offsets', () => {
  const cookie = Buffer.from('0123456789abcdef', 'hex');
  const h = oftHeader({ type: OftType.Prompt, cookie, totalFiles: 3, filesLeft: 2, totalSize: 300, size: 100, checksum: 0x12340000, name: 'dir\u0001a.txt' });
  const b = encodeOftHeader(h);
  assert.equal(b.length, OFT_HEADER_SIZE);
  assert.equal(Buffer.from(b.subarray(0, 4)).toString(), 'OFT2');
  assert.equal((b[6]! << 8) | b[7]!, 0x0101);
  assert.deepEqual(Buffer.from(b.subarray(8, 16)), cookie);
  assert.equal(Buffer.from(b).readUInt32BE(32), 100);
  assert.equal(Buffer.from(b).readUInt32BE(40), 0x12340000);
  assert.equal(Buffer.from(b.subarray(68, 81)).toString(), 'Cool FileXfer');
  assert.equal(b[100], 0x20);
  assert.deepEqual([...b.subarray(192, 201)], [...Buffer.from('dir\u0001a.txt')].slice(0, 9));
  const d = decodeOftHeader(b);
  assert.deepEqual({ ...d, cookie: Buffer.from(d.cookie) }, { ...h, cookie });
});

test('OFT2 header: a non-ASCII name goes as UTF-16BE; a long name lengthens the header', () => {
  const h = oftHeader({ type: OftType.Prompt, cookie: new Uint8Array(8), name: 'café\u0001naïve.txt' });
  const d = decodeOftHeader(encodeOftHeader(h));
  assert.equal(d.charset, OftCharset.Utf16be);
  assert.equal(d.name, h.name);
  const long = oftHeader({ type: OftType.Prompt, cookie: new Uint8Array(8), name: 'x'.repeat(200) });
  const lb = encodeOftHeader(long);
  assert.ok(lb.length > OFT_HEADER_SIZE);
  assert.equal(decodeOftHeader(lb).name, long.name);
});

test('OFT2 header: bad magic, short and oversized lengths fail with WireError before allocation', () => {
  const b = Buffer.from(encodeOftHeader(oftHeader({ type: OftType.Ack, cookie: new Uint8Array(8) })));
  const bad = Buffer.from(b);
  bad.write('OFT3', 0);
  assert.throws(() => oftHeaderLength(bad), WireError);
  const short = Buffer.from(b);
  short.writeUInt16BE(100, 4);
  assert.throws(() => oftHeaderLength(short), (e: unknown) => e instanceof WireError && e.code === 'BAD_LENGTH');
  const huge = Buffer.from(b);
  huge.writeUInt16BE(60000, 4);
  assert.throws(() => oftHeaderLength(huge), (e: unknown) => e instanceof WireError && e.code === 'FRAME_TOO_LARGE');
  assert.throws(() => decodeOftHeader(b.subarray(0, 200)), (e: unknown) => e instanceof WireError && e.code === 'TRUNCATED');
});

test('OFT checksum: the summing form equals the byte-by-byte reference on random data', () => {
  const reference = (d: Uint8Array, start = OFT_CHECKSUM_EMPTY, offset = 0): number => {
    let c = start >>> 16;
    for (let i = 0; i < d.length; i++) {
      const v = (offset + i) % 2 === 1 ? d[i]! : d[i]! << 8;
      const before = c;
      c = (c - v) >>> 0;
      if (c > before) c = (c - 1) >>> 0;
    }
    c = (c & 0xffff) + (c >>> 16);
    c = (c & 0xffff) + (c >>> 16);
    return (c << 16) >>> 0;
  };
  for (let t = 0; t < 200; t++) {
    const d = t % 3 === 0 ? new Uint8Array(1 + t * 13).fill(0xff) : randomBytes(1 + (t * 131) % 9000);
    assert.equal(oftChecksum(d), reference(d), `case ${t}`);
    assert.equal(oftChecksum(d.subarray(1), 0x12340000, 1), reference(d.subarray(1), 0x12340000, 1), `odd offset ${t}`);
    // Every alignment of the bytes in memory (the word-at-a-time path needs 4-aligned memory) and of the file offset.
    for (const skip of [2, 3, 5, 6]) {
      const part = d.subarray(Math.min(skip, d.length));
      for (const off of [0, 1, 2, 7]) assert.equal(oftChecksum(part, 0xabcd0000, off), reference(part, 0xabcd0000, off), `case ${t}, memory +${skip}, offset ${off}`);
    }
  }
});
