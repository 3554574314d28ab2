import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader, ByteWriter, WireError, fromHex as hex, toHex } from './bytes.js';
import { TlvList, tlv, tlvU16 } from './tlv.js';
import {
  array16, block08, block16, body, bool8, checked, fixedBytes, orEmptyAtEnd, record, repeat, reserved, restBytes, restString, string08,
  string16, tlvCounted, tlvFields, tlvOpt, tlvRest, tlvReq, u16, u32, u32wrap, u8, type Infer,
} from './codec.js';
import { FUZZ_ITERATIONS, FUZZ_TEST_OPTIONS, expectMixed, fuzzDecoder } from './fuzz-kit.test-support.js';
import { FeedbagItem, SNAC_0x13_0x06_FeedbagReply } from './families/feedbag.js';
import { SNAC_0x01_0x05_OServiceServiceRedirect } from './families/oservice.js';

const isCode = (code: string) => (e: unknown): boolean => WireError.is(e) && e.code === code;

const Item = record({ name: string16, groupId: u16, itemId: u16, classId: u16, attributes: block16 });
const Header = record({ version: reserved(u8, 0), flag: bool8, count: u32, items: array16(Item, { max: 3 }), stamp: u32wrap });
const Fields = tlvFields({ family: tlvReq(0x000d, u16), address: tlvReq(0x0005, restString), ssl: tlvOpt(0x008e, u8), blob: tlvOpt(0x0010, restBytes) });

test('codec: primitives encode big-endian (known answers)', () => {
  assert.equal(toHex(body(u8).encode(0xab)), 'ab');
  assert.equal(toHex(body(u16).encode(0x1234)), '1234');
  assert.equal(toHex(body(u32).encode(0xdeadbeef)), 'deadbeef');
  assert.equal(toHex(body(u32wrap).encode(-1)), 'ffffffff');
  assert.equal(toHex(body(string08).encode('bob')), '03626f62');
  assert.equal(toHex(body(string16).encode('é')), '0002c3a9');
  assert.equal(toHex(body(block08).encode(hex('0102'))), '020102');
  assert.equal(toHex(body(fixedBytes(3)).encode(hex('aabbcc'))), 'aabbcc');
  assert.equal(toHex(body(repeat(u16)).encode([1, 2])), '00010002');
  assert.equal(toHex(body(array16(u8)).encode([7, 8, 9])), '0003070809');
  assert.equal(toHex(body(tlvRest()).encode([tlvU16(1, 2), tlv(3)])), '000100020002' + '00030000');
});

test('codec: a record encodes its fields in declaration order and decodes to the same value (known answer)', () => {
  const item: Infer<typeof Item> = { name: 'Buddies', groupId: 1, itemId: 0, classId: 1, attributes: hex('00c8 0002 0005') };
  const bytes = Item.encode(item);
  assert.equal(toHex(bytes), '0007' + '42756464696573' + '0001' + '0000' + '0001' + '0006' + '00c800020005');
  assert.deepEqual(Item.decode(bytes), item);
  assert.equal(Item.size, undefined);
  assert.equal(record({ a: u16, b: u32, c: fixedBytes(2) }).size, 8);
});

test('codec: reserved fields are written as declared, skipped on decode, and absent from the type', () => {
  const v: Infer<typeof Header> = { flag: true, count: 5, items: [], stamp: 0x01020304 };
  const bytes = Header.encode(v);
  assert.equal(toHex(bytes), '00' + '01' + '00000005' + '0000' + '01020304');
  const mutated = bytes.slice();
  mutated[0] = 9;
  assert.deepEqual(Header.decode(mutated), v);
  assert.equal('version' in Header.decode(bytes), false);
});

test('codec: decoded byte fields are views of the input, not copies', () => {
  const bytes = Item.encode({ name: 'a', groupId: 0, itemId: 1, classId: 0, attributes: hex('0001 0000') });
  const got = Item.decode(bytes);
  assert.equal(got.attributes.buffer, bytes.buffer);
  assert.equal(got.attributes.byteOffset, bytes.byteOffset + 2 + 1 + 6 + 2);
  const f = Fields.decode(Fields.encode({ family: 1, address: 'h:1', blob: hex('abcd') }));
  assert.equal(toHex(f.blob!), 'abcd');
});

test('codec: truncation anywhere is WireError TRUNCATED, trailing bytes TRAILING_BYTES', () => {
  const bytes = Header.encode({ flag: false, count: 1, items: [{ name: 'x', groupId: 2, itemId: 3, classId: 0, attributes: new Uint8Array(0) }], stamp: 7 });
  for (let n = 0; n < bytes.length; n++) assert.throws(() => Header.decode(bytes.subarray(0, n)), isCode('TRUNCATED'), `cut at ${n}`);
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  assert.throws(() => Header.decode(longer), (e) => isCode('TRAILING_BYTES')(e) && (e as WireError).offset === bytes.length);
  assert.deepEqual(record({ a: u16 }, { trailing: 'ignore' }).decode(hex('0001 ff')), { a: 1 });
});

test('codec: counts and repeats are bounded (TOO_MANY before reading, BAD_LENGTH for partial fixed-size elements)', () => {
  assert.throws(() => body(array16(u8, { max: 2 })).decode(hex('0003 010203')), (e) => isCode('TOO_MANY')(e) && (e as WireError).offset === 0);
  assert.throws(() => body(array16(u8)).decode(hex('ffff 01')), isCode('TRUNCATED'));
  assert.throws(() => body(repeat(u16)).decode(hex('000100')), isCode('BAD_LENGTH'));
  assert.throws(() => body(repeat(string08, { max: 1 })).decode(hex('01 61 01 62')), isCode('TOO_MANY'));
  assert.deepEqual(body(repeat(string08, { max: 2, keep: (s) => s.length > 0 })).decode(hex('00 01 61 00 00 01 62')), ['a', 'b']);
  assert.throws(() => body(repeat(fixedBytes(0))).decode(hex('00')), isCode('BAD_VALUE'), 'a repeat must advance');
  assert.deepEqual(body(repeat(restBytes)).decode(new Uint8Array(0)), []);
});

test('codec: TLV fields take the last occurrence, skip unknown types, require what is required', () => {
  const bytes = Fields.encode({ family: 0x0e, address: 'host:5190', ssl: 1 });
  assert.equal(toHex(bytes), '000d0002000e' + '00050009' + toHex(new TextEncoder().encode('host:5190')) + '008e000101');
  assert.deepEqual(Fields.decode(bytes), { family: 0x0e, address: 'host:5190', ssl: 1 });
  const extra = hex('0099 0001 ff' + toHex(bytes) + '008e 0001 00');
  assert.deepEqual(Fields.decode(extra), { family: 0x0e, address: 'host:5190', ssl: 0 });
  assert.throws(() => Fields.decode(hex('0005 0001 61')), isCode('BAD_VALUE'));
  assert.throws(() => Fields.decode(hex('000d 0001 00 0005 0000')), isCode('BAD_LENGTH'));
  assert.throws(() => Fields.decode(hex('000d 0002 00')), isCode('TRUNCATED'));
  assert.throws(() => Fields.encode({ address: 'x' } as never), RangeError);
});

test('codec: nested records, checked fields and a value TLV that must be consumed exactly', () => {
  const Inner = record({ a: u8, b: u8 });
  const Outer = record({ inner: Inner, rest: repeat(Inner) });
  assert.deepEqual(Outer.decode(hex('0102 0304 0506')), { inner: { a: 1, b: 2 }, rest: [{ a: 3, b: 4 }, { a: 5, b: 6 }] });
  assert.throws(() => Outer.decode(hex('0102 03')), isCode('BAD_LENGTH'));
  const Even = checked(u8, (v, at) => {
    if (v % 2 !== 0) throw new WireError('BAD_VALUE', at, 'odd');
  });
  assert.throws(() => body(record({ x: u8, y: Even })).decode(hex('00 03')), (e) => isCode('BAD_VALUE')(e) && (e as WireError).offset === 1);
  const T = tlvFields({ pair: tlvOpt(1, record({ a: u8, b: string08 })) });
  assert.deepEqual(T.decode(hex('0001 0003 07 01 62')), { pair: { a: 7, b: 'b' } });
  assert.throws(() => T.decode(hex('0001 0004 07 01 62 00')), isCode('TRAILING_BYTES'));
});

test('codec: counted TLV blocks (exact and to-end) and a trailing field that may be missing', () => {
  const Exact = body(tlvCounted());
  assert.equal(toHex(Exact.encode([tlvU16(1, 2)])), '0001' + '000100020002');
  assert.equal(Exact.decode(hex('0001 0001 0002 0002')).u16(1), 2);
  assert.throws(() => Exact.decode(hex('0002 0001 0002 0002')), isCode('TRUNCATED'));
  assert.throws(() => Exact.decode(hex('0000 0001 0002 0002')), isCode('TRAILING_BYTES'));
  const ToEnd = record({ d: u8, tlvs: orEmptyAtEnd(tlvCounted('to-end', 2), () => new TlvList()) });
  assert.equal(ToEnd.decode(hex('02 0000 0001 0000 0003 0000')).tlvs.size, 2, 'the count is ignored');
  assert.equal(ToEnd.decode(hex('02')).tlvs.size, 0);
  assert.throws(() => ToEnd.decode(hex('02 0000 0001 0000 0002 0000 0003 0000')), isCode('TOO_MANY'));
});

test('codec: encoders reject out-of-range values with RangeError (programming errors)', () => {
  assert.throws(() => body(u8).encode(256), RangeError);
  assert.throws(() => body(u16).encode(-1), RangeError);
  assert.throws(() => body(u32).encode(2 ** 32), RangeError);
  assert.throws(() => body(fixedBytes(8)).encode(new Uint8Array(7)), RangeError);
  assert.throws(() => body(string08).encode('x'.repeat(256)), RangeError);
});

test('codec: field codecs compose with hand-written readers and writers', () => {
  const w = new ByteWriter().u8(0xee);
  Item.write(w, { name: '', groupId: 0, itemId: 0, classId: 4, attributes: new Uint8Array(0) });
  const r = new ByteReader(w.finish(), 1);
  assert.deepEqual(Item.read(r), { name: '', groupId: 0, itemId: 0, classId: 4, attributes: new Uint8Array(0) });
  assert.equal(r.done, true);
});

test('codec: round-trips of family declarations (feedbag reply, service redirect)', () => {
  const items = [
    { name: 'Buddies', groupId: 1, itemId: 0, classId: 1, attributes: hex('00c8 0002 0005') },
    { name: 'bob', groupId: 1, itemId: 5, classId: 0, attributes: new Uint8Array(0) },
  ];
  const reply = SNAC_0x13_0x06_FeedbagReply.decode(SNAC_0x13_0x06_FeedbagReply.encode({ items, lastModified: 1_700_000_000 }));
  assert.deepEqual(reply, { items, lastModified: 1_700_000_000 });
  assert.throws(() => FeedbagItem.decode(hex('0001 41 0000 0001 0000 0005 00ca 0009 01')), isCode('TRUNCATED'));
  const redirect = { family: 0x0e, address: '127.0.0.1:5190', cookie: hex('c00c1e'), sslState: 0 };
  assert.deepEqual(SNAC_0x01_0x05_OServiceServiceRedirect.decode(SNAC_0x01_0x05_OServiceServiceRedirect.encode(redirect)), redirect);
  const base = toHex(SNAC_0x01_0x05_OServiceServiceRedirect.encode({ family: 0x0e, address: 'h:1', cookie: hex('01') }));
  assert.equal('sslState' in SNAC_0x01_0x05_OServiceServiceRedirect.decode(hex(base + '008e 0000')), false, 'an empty SSL state TLV is absent');
  assert.equal(SNAC_0x01_0x05_OServiceServiceRedirect.decode(hex(base + '008e 0002 0100')).sslState, 1, 'only the first byte counts');
});

test('fuzz: codec declarations keep the decoder contract', FUZZ_TEST_OPTIONS, () => {
  const N = Math.floor(FUZZ_ITERATIONS / 4);
  const headerSeeds = [
    Header.encode({ flag: true, count: 2, items: [{ name: 'ab', groupId: 1, itemId: 2, classId: 0, attributes: hex('0001 0001 ff') }], stamp: 3 }),
    Header.encode({ flag: false, count: 0, items: [], stamp: 0 }),
  ];
  expectMixed('codec header', fuzzDecoder('codec header', (b) => Header.decode(b), headerSeeds, { iterations: N, seed: 11 }), N);
  const fieldSeeds = [Fields.encode({ family: 1, address: 'a:1', ssl: 1, blob: hex('0102') }), Fields.encode({ family: 0xffff, address: '' })];
  expectMixed('codec tlv fields', fuzzDecoder('codec tlv fields', (b) => Fields.decode(b), fieldSeeds, { iterations: N, seed: 12 }), N);
  const replySeeds = [SNAC_0x13_0x06_FeedbagReply.encode({ items: [{ name: 'g', groupId: 1, itemId: 0, classId: 1, attributes: hex('00c8 0002 0001') }], lastModified: 9 })];
  expectMixed('feedbag reply', fuzzDecoder('feedbag reply', (b) => SNAC_0x13_0x06_FeedbagReply.decode(b), replySeeds, { iterations: N, seed: 13 }), N);
  const repeatSeeds = [body(repeat(record({ a: u16, s: string08 }), { max: 8 })).encode([{ a: 1, s: 'x' }, { a: 2, s: '' }])];
  const Rep = body(repeat(record({ a: u16, s: string08 }), { max: 8 }));
  expectMixed('repeat', fuzzDecoder('repeat', (b) => Rep.decode(b), repeatSeeds, { iterations: N, seed: 14 }), N);
});
