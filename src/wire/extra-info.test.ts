import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader, WireError, fromHex, toHex } from './bytes.js';
import { Prng } from './fuzz-kit.test-support.js';
import { BartType, decodeExtraInfoBlock, decodeExtraInfoBlocks, encodeExtraInfoBlock, encodeExtraInfoBlocks, readExtraInfoBlock } from './extra-info.js';

const isCode = (code: string) => (e: unknown) => WireError.is(e) && e.code === code;
const MD5_EMPTY = 'd41d8cd98f00b204e9800998ecf8427e';

test('docs/protocol.md §6.1/§6.4: cert hash BART ID {0x0402, flags 0x01, 16-byte MD5("")}', () => {
  const b = encodeExtraInfoBlock({ type: BartType.CertHashA, flags: 0x01, data: fromHex(MD5_EMPTY) });
  assert.equal(toHex(b), '0402' + '01' + '10' + MD5_EMPTY);
  const d = decodeExtraInfoBlock(b);
  assert.deepEqual([d.type, d.flags, toHex(d.data)], [0x0402, 1, MD5_EMPTY]);
});

test('docs/protocol.md §4.1 TLV 0x001D: a list of BART IDs (icon hash, status text)', () => {
  const list = fromHex('0001 00 05 0102030405  0002 04 06 0002 6869 0000');
  const ids = decodeExtraInfoBlocks(list);
  assert.deepEqual(ids.map((i) => [i.type, i.flags, toHex(i.data)]), [[1, 0, '0102030405'], [2, 4, '000268690000']]);
  assert.equal(toHex(encodeExtraInfoBlocks(ids)), toHex(list));
});

test('ExtraInfoBlock errors: truncated data, trailing bytes, oversize encode', () => {
  assert.throws(() => decodeExtraInfoBlock(fromHex('0001 00 05 0102')), isCode('TRUNCATED'));
  assert.throws(() => decodeExtraInfoBlock(fromHex('0001 00 00 ff')), isCode('TRAILING_BYTES'));
  assert.throws(() => decodeExtraInfoBlocks(fromHex('0001 00 00 00')), isCode('TRUNCATED'));
  assert.throws(() => encodeExtraInfoBlock({ type: 1, flags: 0, data: new Uint8Array(256) }), RangeError);
  const r = new ByteReader(fromHex('0001 00 01 aa ffff'));
  readExtraInfoBlock(r);
  assert.equal(r.remaining, 2);
});

test('property: ExtraInfoBlock lists round-trip (3000 cases)', () => {
  const rng = new Prng(5);
  for (let i = 0; i < 3000; i++) {
    const ids = Array.from({ length: rng.int(6) }, () => ({ type: rng.int(0x10000), flags: rng.int(256), data: rng.bytes(rng.int(256)) }));
    const back = decodeExtraInfoBlocks(encodeExtraInfoBlocks(ids));
    assert.deepEqual(back.map((b) => [b.type, b.flags, toHex(b.data)]), ids.map((b) => [b.type, b.flags, toHex(b.data)]));
  }
});
