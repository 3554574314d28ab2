/** The portable byte helpers (no Buffer in the portable core) agree with Node's Buffer on random input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { ByteReader, ByteWriter, TextMemo, bytesEqual, concatBytes, constantTimeEqual, decodeTextAt, fromBase64, fromHex, latin1Decode, latin1Encode, toBase64, toHex } from './bytes.js';
import { sha256 } from './sha256.js';

test('hex, base64, latin-1 and SHA-256 match Buffer / node:crypto for 0..300-byte inputs', () => {
  for (let n = 0; n <= 300; n++) {
    const b = randomBytes(n);
    assert.equal(toHex(b), b.toString('hex'));
    assert.deepEqual(fromHex(b.toString('hex')), new Uint8Array(b));
    assert.equal(toBase64(b), b.toString('base64'));
    assert.deepEqual(fromBase64(b.toString('base64')), new Uint8Array(b));
    assert.equal(latin1Decode(b), b.toString('latin1'));
    assert.deepEqual(latin1Encode(b.toString('latin1')), new Uint8Array(b));
    assert.equal(toHex(sha256(b.subarray(0, n >> 1), b.subarray(n >> 1))), createHash('sha256').update(b).digest('hex'));
  }
  // A 100 KB input crosses the latin-1 decoder's chunking and many SHA-256 blocks.
  const big = randomBytes(100_000);
  assert.equal(latin1Decode(big), big.toString('latin1'));
  assert.equal(toHex(sha256(big)), createHash('sha256').update(big).digest('hex'));
});

test('base64 decoding skips whitespace and stops at padding, like Buffer; hex refuses odd or non-hex input', () => {
  const b = randomBytes(50);
  const wrapped = b.toString('base64').replace(/(.{16})/g, '$1\n');
  assert.deepEqual(fromBase64(wrapped), new Uint8Array(b));
  assert.deepEqual(fromBase64('YWJj'), new Uint8Array(Buffer.from('abc')));
  assert.deepEqual(fromBase64('YWI='), new Uint8Array(Buffer.from('ab')));
  assert.throws(() => fromHex('abc'));
  assert.throws(() => fromHex('zz'));
});

test('concatBytes, bytesEqual and constantTimeEqual', () => {
  const a = Uint8Array.of(1, 2);
  const b = Uint8Array.of(3);
  assert.deepEqual(concatBytes(a, b, new Uint8Array(0)), Uint8Array.of(1, 2, 3));
  assert.equal(bytesEqual(a, Uint8Array.of(1, 2)), true);
  assert.equal(bytesEqual(a, Uint8Array.of(1, 3)), false);
  assert.equal(bytesEqual(a, Uint8Array.of(1)), false);
  assert.equal(constantTimeEqual(a, Uint8Array.of(1, 2)), true);
  assert.equal(constantTimeEqual(a, Uint8Array.of(1, 3)), false);
});

test('ByteWriter strings: the ASCII fast path writes what the UTF-8 encoder writes, and falls back for the rest', () => {
  const strings = ['', 'a', 'alice', 'x'.repeat(64), 'x'.repeat(65), 'Ünïcode', 'abc\u007f', 'ab\u0080', '漢字', '\ud800', 'a'.repeat(63) + 'é'];
  for (const s of strings) {
    const utf8 = new TextEncoder().encode(s);
    assert.deepEqual([...new ByteWriter(4).string16(s).finish()], [utf8.length >> 8, utf8.length & 0xff, ...utf8], s);
    assert.deepEqual([...new ByteWriter(4).string8(s).finish()], [utf8.length, ...utf8], s);
    assert.equal(new ByteReader(new ByteWriter().string16(s).finish()).string16(), new TextDecoder().decode(utf8), s);
    assert.equal(new ByteReader(new ByteWriter().string8(s).finish()).string8(), new TextDecoder().decode(utf8), s);
  }
  // A non-ASCII string that fails the fast path half-way leaves nothing of its attempt behind.
  assert.deepEqual([...new ByteWriter(4).u8(9).string16('abcé').u8(7).finish()], [9, 0, 5, 0x61, 0x62, 0x63, 0xc3, 0xa9, 7]);
  assert.throws(() => new ByteWriter().string8('é'.repeat(200)), RangeError);
  assert.throws(() => new ByteReader(Uint8Array.of(0, 5, 0x61)).string16(), /string16/);
});

test('ByteWriter: u16 and u32 patches and truncate', () => {
  const w = new ByteWriter(2).u16(0).u32(0);
  w.bytes(Uint8Array.of(1, 2, 3));
  w.patchU32(2, w.length - 6);
  w.patchU16(0, 0xbeef);
  assert.deepEqual([...w.finish()], [0xbe, 0xef, 0, 0, 0, 3, 1, 2, 3]);
  w.truncate(2).u8(4);
  assert.deepEqual([...w.finish()], [0xbe, 0xef, 4]);
  assert.throws(() => w.truncate(4), RangeError);
  assert.throws(() => w.patchU16(2, 1), RangeError);
  assert.throws(() => w.patchU32(0, 1), RangeError);
  assert.throws(() => w.patchU16(0, 0x10000), RangeError);
});

test('TextMemo: the same bytes give the same string and key back without decoding; other bytes are decoded afresh', () => {
  let keyed = 0;
  const memo = new TextMemo((t) => {
    keyed++;
    return t.toLowerCase();
  });
  const buf = new TextEncoder().encode('..Alice..Bob..Al1ce..' + 'x'.repeat(40) + '..Zoë');
  const alice = memo.decode(buf, 2, 7);
  assert.equal(alice, 'Alice');
  assert.equal(memo.key(alice), 'alice');
  // The same bytes elsewhere in another buffer: the remembered string, key derived once.
  const again = memo.decode(Uint8Array.from(buf), 2, 7);
  assert.equal(again, 'Alice');
  assert.equal(memo.key(again), 'alice');
  assert.equal(keyed, 1);
  // Same length, one byte different: decoded, and the key follows.
  assert.equal(memo.decode(buf, 14, 19), 'Al1ce');
  assert.equal(memo.key('Al1ce'), 'al1ce');
  assert.equal(keyed, 2);
  // A text that is not the remembered one gets its own key (never the remembered one).
  assert.equal(memo.key('Bob'), 'bob');
  // Longer than 32 bytes: decoded every time, the memo unchanged; non-ASCII decodes as UTF-8.
  assert.equal(memo.decode(buf, 21, 61), 'x'.repeat(40));
  assert.equal(memo.key('Al1ce'), 'al1ce');
  assert.equal(memo.decode(buf, 63, buf.length), decodeTextAt(buf, 63, buf.length));
  assert.equal(memo.decode(buf, 63, buf.length), 'Zoë');
  // Bytes from a Buffer are copied: changing the Buffer afterwards changes nothing remembered.
  const chunk = Buffer.from('..carol..');
  assert.equal(memo.decode(chunk, 2, 7), 'carol');
  chunk.write('dave!', 2);
  assert.equal(memo.decode(chunk, 2, 7), 'dave!');
  assert.equal(memo.key('dave!'), 'dave!');
});
