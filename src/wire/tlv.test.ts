import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader, ByteWriter, WireError, fromHex, toHex } from './bytes.js';
import { Prng } from './fuzz-kit.test-support.js';
import {
  TlvList, decodeTlvRestList, encodeTlvRestList, readTlvCountedBlock, readTlvLengthBlock, readTlvRestList,
  tlv, tlvString, tlvU16, tlvU32, tlvU8, writeTlvCountedBlock, writeTlvLengthBlock, type Tlv,
} from './tlv.js';

const isCode = (code: string) => (e: unknown) => WireError.is(e) && e.code === code;

test('docs/protocol.md §1.3: rest-list with a repeated type and an empty (flag) TLV', () => {
  const buf = fromHex('0001 0002 abcd  0002 0000  0001 0001 ff');
  const l = decodeTlvRestList(buf);
  assert.equal(l.size, 3);
  assert.equal(toHex(l.get(1)!.value), 'abcd');
  assert.equal(toHex(l.getLast(1)!.value), 'ff'); // joscar getLastTlv semantics
  assert.equal(l.getAll(1).length, 2);
  assert.equal(l.has(2), true);
  assert.equal(l.get(2)!.value.length, 0);
  assert.equal(l.has(3), false);
  assert.equal(l.get(1)!.offset, 4);
  assert.equal(l.u8(1), 0xff);
});

test('docs/protocol.md §1.3: typed accessors check widths', () => {
  const l = decodeTlvRestList(fromHex('0001 0002 0102  0002 0004 80000001  0003 0003 616263'));
  assert.equal(l.u16(1), 0x0102);
  assert.equal(l.u32(2), 0x80000001);
  assert.equal(l.string(3), 'abc');
  assert.equal(l.u16(9), undefined);
  assert.throws(() => l.u16(2), isCode('BAD_LENGTH'));
  assert.throws(() => l.u32(1), isCode('BAD_LENGTH'));
});

test('docs/protocol.md §1.3: encode helpers are byte-exact', () => {
  const bytes = encodeTlvRestList([tlvU8(1, 0xfe), tlvU16(2, 0x1234), tlvU32(3, 0xdeadbeef), tlvString(4, 'hi'), tlv(5)]);
  assert.equal(toHex(bytes), '00010001fe' + '000200021234' + '00030004deadbeef' + '000400026869' + '00050000');
});

test('docs/protocol.md §1.3: counted block (exact) stops after count TLVs, leaving following data', () => {
  const r = new ByteReader(fromHex('0002 0001 0001 aa 0002 0000  0003 0001 bb'));
  const l = readTlvCountedBlock(r);
  assert.equal(l.size, 2);
  assert.equal(r.offset, 11);
  assert.equal(r.remaining, 5);
});

test('docs/protocol.md §1.3: counted block with count larger than data is TRUNCATED in exact mode', () => {
  assert.throws(() => readTlvCountedBlock(new ByteReader(fromHex('0003 0001 0001 aa'))), isCode('TRUNCATED'));
});

test('docs/protocol.md §1.3 robustness rule: to-end mode parses to the end of the field, ignoring a wrong count', () => {
  const r = new ByteReader(fromHex('0000 0001 0001 aa 0002 0000'));
  const l = readTlvCountedBlock(r, 'to-end');
  assert.equal(l.size, 2);
  assert.equal(r.done, true);
});

test('docs/protocol.md §1.3: length block reads exactly its byte length', () => {
  const r = new ByteReader(fromHex('0009 0001 0001 aa 0002 0000  ffff'));
  const l = readTlvLengthBlock(r);
  assert.equal(l.size, 2);
  assert.equal(r.remaining, 2);
  assert.throws(() => readTlvLengthBlock(new ByteReader(fromHex('0006 0001 0003 aa'))), isCode('TRUNCATED'));
  // a TLV straddling the block end is an error even though the outer buffer has the bytes
  assert.throws(() => readTlvLengthBlock(new ByteReader(fromHex('0005 0001 0002 aabb'))), isCode('TRUNCATED'));
});

test('docs/protocol.md §1.3: counted and length blocks encode byte-exact', () => {
  const items = [tlvU16(1, 7), tlv(2)];
  assert.equal(toHex(writeTlvCountedBlock(new ByteWriter(), items).finish()), '0002' + '000100020007' + '00020000');
  assert.equal(toHex(writeTlvLengthBlock(new ByteWriter(), items).finish()), '000a' + '000100020007' + '00020000');
});

test('truncated TLV header and value report offsets', () => {
  assert.throws(() => decodeTlvRestList(fromHex('0001 00')), (e) => WireError.is(e, 'TRUNCATED') && e.offset === 0);
  assert.throws(() => decodeTlvRestList(fromHex('0001 0000 0002 0005 aa')), (e) => WireError.is(e, 'TRUNCATED') && e.offset === 8);
});

test('maxTlvs bounds the list', () => {
  const buf = encodeTlvRestList(Array.from({ length: 10 }, (_, i) => tlv(i)));
  assert.equal(decodeTlvRestList(buf, 10).size, 10);
  assert.throws(() => decodeTlvRestList(buf, 9), isCode('TOO_MANY'));
  assert.throws(() => readTlvRestList(new ByteReader(buf), 3), isCode('TOO_MANY'));
});

test('TlvList is iterable in wire order', () => {
  const l = new TlvList([tlv(3), tlv(1), tlv(2)]);
  assert.deepEqual([...l].map((t) => t.type), [3, 1, 2]);
});

function randomTlvs(rng: Prng): Tlv[] {
  return Array.from({ length: rng.int(12) }, () => tlv(rng.int(0x10000), rng.bytes(rng.chance(0.1) ? rng.int(3000) : rng.int(20))));
}

test('property: rest-list, counted block and length block round-trip (2000 seeded cases)', () => {
  const rng = new Prng(1);
  for (let i = 0; i < 2000; i++) {
    const items = randomTlvs(rng);
    const plain = (l: TlvList) => l.items.map((t) => [t.type, toHex(t.value)]);
    const want = items.map((t) => [t.type, toHex(t.value)]);
    assert.deepEqual(plain(decodeTlvRestList(encodeTlvRestList(items))), want);
    const counted = writeTlvCountedBlock(new ByteWriter(), items).u8(0x99).finish();
    const rc = new ByteReader(counted);
    assert.deepEqual(plain(readTlvCountedBlock(rc)), want);
    assert.equal(rc.remaining, 1);
    const lb = writeTlvLengthBlock(new ByteWriter(), items).u8(0x99).finish();
    const rl = new ByteReader(lb);
    assert.deepEqual(plain(readTlvLengthBlock(rl)), want);
    assert.equal(rl.remaining, 1);
  }
});
