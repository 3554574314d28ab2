import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter, WireError, toHex } from './bytes.js';
import { FUZZ_ITERATIONS, FUZZ_TEST_OPTIONS, expectMixed, fuzzDecoder } from './fuzz-kit.test-support.js';
import {
  GETFILE_MAX_ENTRIES, decodeGetFileList, decodeGetFileServiceData, encodeGetFileList, encodeGetFileServiceData, joinGetFilePath, splitGetFilePath,
} from './getfile.js';

test('listing: Lst1, then per entry 0x0101 mtime, 0x0303 size, 0x0505 0, 0x0404 name, [0x0900 dir flag], 0x0909', () => {
  const b = encodeGetFileList([
    { name: 'a.txt', size: 5, modTime: 0x5f000000, directory: false },
    { name: 'sub', size: 0, modTime: 1, directory: true },
  ]);
  assert.equal(toHex(b),
    '4c737431'
    + '0101' + '0004' + '5f000000' + '0303' + '0004' + '00000005' + '0505' + '0002' + '0000' + '0404' + '0005' + '612e747874' + '0909' + '0000'
    + '0101' + '0004' + '00000001' + '0303' + '0004' + '00000000' + '0505' + '0002' + '0000' + '0404' + '0003' + '737562'
    + '0900' + '0004' + '00000001' + '0909' + '0000');
  assert.deepEqual(decodeGetFileList(b), [
    { name: 'a.txt', size: 5, modTime: 0x5f000000, directory: false },
    { name: 'sub', size: 0, modTime: 1, directory: true },
  ]);
});

test('listing decode: entries split at the next mtime without an end marker (joscar), checks', () => {
  const w = new ByteWriter().bytes(new TextEncoder().encode('Lst1'));
  for (const n of ['x', 'y']) w.u16(0x0101).u16(4).u32(7).u16(0x0404).u16(1).bytes(new TextEncoder().encode(n));
  assert.deepEqual(decodeGetFileList(w.finish()).map((e) => e.name), ['x', 'y']);
  assert.throws(() => decodeGetFileList(new TextEncoder().encode('Lst2')), (e) => WireError.is(e, 'BAD_VALUE'));
  const noName = new ByteWriter().bytes(new TextEncoder().encode('Lst1')).u16(0x0303).u16(4).u32(1).u16(0x0909).u16(0).finish();
  assert.throws(() => decodeGetFileList(noName), (e) => WireError.is(e, 'BAD_VALUE'));
  const badSize = new ByteWriter().bytes(new TextEncoder().encode('Lst1')).u16(0x0303).u16(2).u16(1).finish();
  assert.throws(() => decodeGetFileList(badSize), (e) => WireError.is(e, 'BAD_LENGTH'));
  const many = new ByteWriter().bytes(new TextEncoder().encode('Lst1'));
  for (let i = 0; i <= GETFILE_MAX_ENTRIES; i++) many.u16(0x0404).u16(1).u8(0x61).u16(0x0909).u16(0);
  assert.throws(() => decodeGetFileList(many.finish()), (e) => WireError.is(e, 'TOO_MANY'));
});

test('service data and paths', () => {
  assert.equal(toHex(encodeGetFileServiceData()), '0012' + '0002' + '00000001' + '00');
  assert.deepEqual(decodeGetFileServiceData(encodeGetFileServiceData({ version: 1, flags: 0 }).subarray(0, 8)), { version: 1, flags: 0 });
  assert.throws(() => decodeGetFileServiceData(Uint8Array.from([0, 0x13, 0, 2, 0, 0, 0, 1])), (e) => WireError.is(e, 'BAD_VALUE'));
  assert.equal(joinGetFilePath(['a', 'b']), 'a\x01b');
  assert.deepEqual(splitGetFilePath('\x01a\x01b'), ['a', 'b']);
  assert.deepEqual(splitGetFilePath(''), []);
});

test('fuzz: listing and service data', FUZZ_TEST_OPTIONS, () => {
  const seeds = [encodeGetFileList([{ name: 'a.txt', size: 5, modTime: 9, directory: false }, { name: 'd', size: 0, modTime: 1, directory: true }])];
  expectMixed('getfile-list', fuzzDecoder('getfile-list', decodeGetFileList, seeds, { iterations: FUZZ_ITERATIONS, seed: 0x6f11 }));
  expectMixed('getfile-sd', fuzzDecoder('getfile-sd', decodeGetFileServiceData, [encodeGetFileServiceData()], { iterations: FUZZ_ITERATIONS, seed: 0x6f12 }));
});
