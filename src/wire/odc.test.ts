import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireError, fromHex as hex, toHex } from './bytes.js';
import { FUZZ_ITERATIONS, FUZZ_TEST_OPTIONS, expectMixed, fuzzDecoder } from './fuzz-kit.test-support.js';
import { ODC_HEADER_SIZE, OdcDeframer, OdcFlag, decodeOdcHeader, encodeOdcHeader, odcTypingFlags, odcTypingState } from './odc.js';

const COOKIE = hex('0102030405060708');

test('confirmation header: the 76 bytes of docs/protocol.md §8.4 (tag, 76, 1, 6, cookie, flags 0x60, SN)', () => {
  const b = encodeOdcHeader({ cookie: COOKIE, flags: OdcFlag.Confirmation | OdcFlag.ConfirmationExtra, screenName: 'bob' });
  assert.equal(b.length, ODC_HEADER_SIZE);
  assert.equal(toHex(b),
    '4f444332' + '004c' + '0001' + '0006' + '0000' + '0102030405060708' + '0000000000000000' + '00000000'
    + '0000' + '0000' + '00000060' + '00000000' + '626f6200000000000000000000000000' + '00'.repeat(16));
  const h = decodeOdcHeader(b);
  assert.deepEqual([toHex(h.cookie), h.flags, h.screenName, h.payloadLength], ['0102030405060708', 0x60, 'bob', 0]);
});

test('header checks: tag, length bounds, exact size; a 16-byte name fills the field without NUL', () => {
  const b = encodeOdcHeader({ screenName: 'sixteen-chars-xx', payloadLength: 5, charset: 2 });
  assert.equal(decodeOdcHeader(b).screenName, 'sixteen-chars-xx');
  assert.throws(() => encodeOdcHeader({ screenName: 'seventeen-chars-x' }), RangeError);
  const bad = b.slice();
  bad[3] = 0x31; // ODC1
  assert.throws(() => decodeOdcHeader(bad), (e) => WireError.is(e, 'BAD_VALUE'));
  const short = b.slice();
  short[5] = 10;
  assert.throws(() => decodeOdcHeader(short), (e) => WireError.is(e, 'BAD_LENGTH'));
  assert.throws(() => decodeOdcHeader(b.subarray(0, 70)), (e) => WireError.is(e, 'TRUNCATED'));
  assert.throws(() => decodeOdcHeader(new Uint8Array([...b, 0])), (e) => WireError.is(e, 'TRAILING_BYTES'));
});

test('deframer: any chunking, a longer header tail skipped, payload cap before buffering, poisoned after an error', () => {
  const msg = new TextEncoder().encode('hello over ODC');
  const one = new Uint8Array([...encodeOdcHeader({ screenName: 'alice', payloadLength: msg.length }), ...msg]);
  const typing = encodeOdcHeader({ screenName: 'alice', flags: odcTypingFlags('typing') });
  // An 80-byte header (a client with a longer header): the fields are where they always are, the tail is skipped.
  const long = new Uint8Array([...encodeOdcHeader({ screenName: 'alice', payloadLength: 2 }), 9, 9, 9, 9, 0x68, 0x69]);
  long[5] = 80;
  const stream = new Uint8Array([...one, ...typing, ...long]);
  for (const step of [1, 7, 75, 76, 77, stream.length]) {
    const d = new OdcDeframer({ maxPayload: 100 });
    const frames = [];
    for (let i = 0; i < stream.length; i += step) frames.push(...d.push(stream.subarray(i, i + step)));
    assert.equal(frames.length, 3, `step ${step}`);
    assert.equal(new TextDecoder().decode(frames[0]!.payload), 'hello over ODC');
    assert.equal(odcTypingState(frames[1]!.header.flags), 'typing');
    assert.equal(new TextDecoder().decode(frames[2]!.payload), 'hi');
    assert.equal(d.buffered, 0);
  }
  const d = new OdcDeframer({ maxPayload: 10 });
  // Only the header is in: the announced 14 bytes are refused before the payload arrives.
  assert.throws(() => d.push(one.subarray(0, ODC_HEADER_SIZE)), (e) => WireError.is(e, 'FRAME_TOO_LARGE'));
  assert.throws(() => d.push(typing), (e) => WireError.is(e, 'FRAME_TOO_LARGE'));
});

test('deframer: a 64 KiB message a byte at a time comes out whole, and packets handed out are not changed by later bytes', () => {
  const big = new Uint8Array(65_536).map((_, i) => (i * 31) & 0xff);
  const packet = new Uint8Array([...encodeOdcHeader({ screenName: 'alice', payloadLength: big.length }), ...big]);
  const d = new OdcDeframer({ maxPayload: 65_536 });
  const got = [];
  for (let i = 0; i < packet.length; i++) {
    got.push(...d.push(packet.subarray(i, i + 1)));
    if (i < packet.length - 1) assert.equal(d.buffered, i + 1);
  }
  assert.equal(got.length, 1);
  assert.deepEqual(got[0]!.payload, big);
  assert.equal(d.buffered, 0);
  // Two packets and the start of a third in one push; then the rest: the first two stay as they were.
  const small = (t: string) => new Uint8Array([...encodeOdcHeader({ screenName: 'bob', payloadLength: t.length }), ...new TextEncoder().encode(t)]);
  const stream = new Uint8Array([...small('one'), ...small('two'), ...small('three')]);
  const first = d.push(stream.subarray(0, stream.length - 3));
  assert.deepEqual(first.map((f) => new TextDecoder().decode(f.payload)), ['one', 'two']);
  const rest = d.push(stream.subarray(stream.length - 3));
  assert.deepEqual([...first, ...rest].map((f) => new TextDecoder().decode(f.payload)), ['one', 'two', 'three']);
});

test('typing states: typing, paused, erased; a message is not a typing packet', () => {
  for (const s of ['typing', 'paused', 'none'] as const) assert.equal(odcTypingState(odcTypingFlags(s)), s);
  assert.equal(odcTypingState(0), undefined);
  assert.equal(odcTypingState(OdcFlag.AutoResponse), undefined);
});

test('fuzz: ODC header and deframer', FUZZ_TEST_OPTIONS, () => {
  const seeds = [
    encodeOdcHeader({ cookie: COOKIE, flags: 0x60, screenName: 'bob' }),
    new Uint8Array([...encodeOdcHeader({ screenName: 'alice', payloadLength: 3 }), 1, 2, 3]),
  ];
  expectMixed('odc-header', fuzzDecoder('odc-header', (b) => decodeOdcHeader(b.subarray(0, Math.min(b.length, ODC_HEADER_SIZE))), seeds, { iterations: FUZZ_ITERATIONS, seed: 0x0dc2 }));
  expectMixed('odc-deframer', fuzzDecoder('odc-deframer', (b) => new OdcDeframer({ maxPayload: 64 }).push(b), seeds, { iterations: FUZZ_ITERATIONS, seed: 0x0dc3 }));
});
