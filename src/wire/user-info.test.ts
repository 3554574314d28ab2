import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader, ByteWriter, WireError, fromHex, toHex } from './bytes.js';
import { Prng } from './fuzz-kit.test-support.js';
import { Capability, capabilityToString, expandShortCapability } from './capabilities.js';
import { tlv } from './tlv.js';
import { MAX_USER_CAPABILITIES, UserClass, UserInfoBuilder, UserInfoTlv, decodeUserInfo, encodeUserInfo, readUserInfo, writeUserInfo } from './user-info.js';

const isCode = (code: string) => (e: unknown) => WireError.is(e) && e.code === code;
const MD5_EMPTY = 'd41d8cd98f00b204e9800998ecf8427e';

// docs/protocol.md §4.1: string08 SN, u16 warning, u16 TLV count, TLVs.
const GOLDEN = '03' + '426f62' + '0000' + '0005'
  + '0001' + '0002' + '0010'
  + '0003' + '0004' + '5f5e1000'
  + '0004' + '0002' + '0003'
  + '000d' + '0010' + '094600014c7f11d18222444553540000'
  + '001b' + '0010' + MD5_EMPTY;

test('docs/protocol.md §4.1: builder emits the user info block byte-exact', () => {
  const b = new UserInfoBuilder('Bob').userClass(UserClass.Aim).onlineSince(0x5f5e1000).idleMinutes(3)
    .capabilities(['SecureIm']).certInfoHash(fromHex(MD5_EMPTY));
  assert.equal(toHex(b.encode()), GOLDEN);
});

test('docs/protocol.md §4.1/§4.2: typed accessors read class, online, idle, caps and cert hash', () => {
  const u = decodeUserInfo(fromHex(GOLDEN));
  assert.equal(u.screenName, 'Bob');
  assert.equal(u.warningLevel, 0);
  assert.equal(u.userClass, 0x0010);
  assert.equal(u.isAway, false);
  assert.equal(u.onlineSince, 0x5f5e1000);
  assert.equal(u.idleMinutes, 3);
  assert.equal(u.memberSince, undefined);
  assert.equal(u.status, undefined);
  assert.deepEqual(u.capabilities.map(capabilityToString), [Capability.SecureIm]);
  assert.equal(toHex(u.certInfoHash!), MD5_EMPTY);
});

test('docs/protocol.md §4.1: short caps (0x0019) expand and merge with full caps without duplicates', () => {
  const u = decodeUserInfo(new UserInfoBuilder('a').capabilities(['SecureIm']).add(tlv(0x0019, fromHex('0001 1345'))).encode());
  assert.deepEqual(u.capabilities.map(capabilityToString), [Capability.SecureIm, Capability.DirectIm]);
  const bad = decodeUserInfo(new UserInfoBuilder('a').add(tlv(0x000d, new Uint8Array(15))).encode());
  assert.throws(() => bad.capabilities, isCode('BAD_LENGTH'));
});

test('docs/protocol.md §4.1: a maximal short-caps TLV (32766 entries) gives the first MAX_USER_CAPABILITIES, deduplicated', () => {
  const shorts = new Uint8Array(65532);
  for (let i = 0; i < shorts.length; i += 2) { shorts[i] = (i >> 9) & 0xff; shorts[i + 1] = (i >> 1) & 0xff; }
  const u = decodeUserInfo(new UserInfoBuilder('a').capabilities(['SecureIm']).add(tlv(0x0019, shorts)).encode());
  const caps = u.capabilities.map(capabilityToString);
  assert.equal(caps.length, MAX_USER_CAPABILITIES);
  assert.equal(caps[0], Capability.SecureIm);
  assert.equal(new Set(caps).size, caps.length, 'SecureIm (short 0x0001) appears once');
  // In order: the full UUID first, then the shorts 0x0000, 0x0002, 0x0003, ... (0x0001 is SecureIm again).
  assert.deepEqual(caps.slice(1, 4), [0x0000, 0x0002, 0x0003].map((n) => capabilityToString(expandShortCapability(n))));
});

test('docs/protocol.md §4.1: member since prefers 0x0005 and falls back to 0x0002; away bit; status; warning', () => {
  const u = decodeUserInfo(fromHex('01 61 0064 0003 0002 0004 00000010 0001 0002 0030 0006 0004 00010000'));
  assert.equal(u.warningLevel, 100);
  assert.equal(u.memberSince, 0x10);
  assert.equal(u.isAway, true);
  assert.equal(u.status, 0x00010000);
  const v = decodeUserInfo(new UserInfoBuilder('a').memberSince(5).add(tlv(2, fromHex('00000009'))).status(1).encode());
  assert.equal(v.memberSince, 5);
});

test('docs/protocol.md §4.2: a zero-length 0x001B means no certificate; other lengths are BAD_LENGTH', () => {
  assert.equal(decodeUserInfo(fromHex('01 61 0000 0001 001b 0000')).certInfoHash, undefined);
  assert.equal(decodeUserInfo(fromHex('01 61 0000 0000')).certInfoHash, undefined);
  assert.throws(() => decodeUserInfo(fromHex('01 61 0000 0001 001b 0002 aabb')).certInfoHash, isCode('BAD_LENGTH'));
});

test('docs/protocol.md §4.1: TLV count is honoured exactly so following data (04/07 TLVs) is not swallowed', () => {
  const r = new ByteReader(fromHex('01 61 0000 0001 0001 0002 0010  0002 0000'));
  const u = readUserInfo(r);
  assert.equal(u.tlvs.size, 1);
  assert.equal(r.remaining, 4);
  assert.throws(() => decodeUserInfo(fromHex('01 61 0000 0001 0001 0002 0010 0002 0000')), isCode('TRAILING_BYTES'));
  assert.throws(() => decodeUserInfo(fromHex('01 61 0000 0002 0001 0002 0010')), isCode('TRUNCATED'));
  assert.throws(() => decodeUserInfo(fromHex('05 61')), isCode('TRUNCATED'));
});

test('docs/protocol.md §4.1 BART TLV 0x001D decodes via bartIds', () => {
  const u = decodeUserInfo(new UserInfoBuilder('a').bartIds([{ type: 1, flags: 0, data: fromHex('0102') }]).encode());
  assert.deepEqual(u.bartIds.map((b) => [b.type, toHex(b.data)]), [[1, '0102']]);
  assert.equal(u.tlvs.has(UserInfoTlv.BartInfo), true);
});

test('property: user info blocks round-trip through write/read (2000 cases)', () => {
  const rng = new Prng(9);
  for (let i = 0; i < 2000; i++) {
    const sn = 'u' + rng.int(1e9).toString(36);
    const tlvs = Array.from({ length: rng.int(10) }, () => tlv(rng.int(0x10000), rng.bytes(rng.int(40))));
    const warningLevel = rng.int(1000);
    const bytes = new ByteWriter().bytes(encodeUserInfo({ screenName: sn, warningLevel, tlvs })).u16(0xbeef).finish();
    const r = new ByteReader(bytes);
    const u = readUserInfo(r);
    assert.equal(u.screenName, sn);
    assert.equal(u.warningLevel, warningLevel);
    assert.deepEqual(u.tlvs.items.map((t) => [t.type, toHex(t.value)]), tlvs.map((t) => [t.type, toHex(t.value)]));
    assert.equal(r.u16(), 0xbeef);
    assert.equal(toHex(writeUserInfo(new ByteWriter(), u).finish()), toHex(bytes.subarray(0, bytes.length - 2)));
  }
});
