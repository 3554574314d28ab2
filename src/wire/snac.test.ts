import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireError, fromHex, toHex } from './bytes.js';
import { Prng } from './fuzz-kit.test-support.js';
import {
  RequestIdCounter, SNAC_FRAME_OVERHEAD, SnacErrorCode, SnacErrorTlv, SnacFlag, allocSnacBody, decodeSnac, decodeSnacError, decodeSnacHeader, encodeSnac,
  encodeSnacError, encodeSnacFrame, isServerRequestId,
} from './snac.js';
import { decodeFlap } from './flap.js';
import { tlvU16 } from './tlv.js';

const isCode = (code: string) => (e: unknown) => WireError.is(e) && e.code === code;

test('docs/protocol.md §1.2: SNAC header encodes byte-exact and decodes back', () => {
  const p = encodeSnac({ family: 0x0004, subtype: 0x0006, flags: 0, requestId: 0x01020304 }, fromHex('aabb'));
  assert.equal(toHex(p), '0004' + '0006' + '0000' + '01020304' + 'aabb');
  const s = decodeSnac(p);
  assert.deepEqual([s.family, s.subtype, s.flags, s.requestId, toHex(s.body), s.bodyOffset], [4, 6, 0, 0x01020304, 'aabb', 10]);
  assert.equal(s.versionPrefix, undefined);
});

test('docs/protocol.md §1.2: request id with the high bit decodes as an unsigned u32', () => {
  const h = decodeSnacHeader(fromHex('0001 0003 0000 80000007'));
  assert.equal(h.requestId, 0x80000007);
  assert.equal(isServerRequestId(h.requestId), true);
});

test('docs/protocol.md §1.2: flag 0x8000 skips the u16-prefixed family-version TLVs', () => {
  const p = fromHex('0001 0003 8000 00000001  0004 0001 0002  cafe');
  const s = decodeSnac(p);
  assert.equal(toHex(s.body), 'cafe');
  assert.equal(toHex(s.versionPrefix!), '00010002');
  assert.equal(s.bodyOffset, 16);
  assert.equal(toHex(encodeSnac({ family: 1, subtype: 3, flags: SnacFlag.FamilyVersionPrefix, requestId: 1 }, fromHex('cafe'), fromHex('00010002'))), toHex(p));
  assert.throws(() => decodeSnac(fromHex('0001 0003 8000 00000001 0009 00')), isCode('TRUNCATED'));
  assert.throws(() => decodeSnac(fromHex('0001 0003 8000 00000001 00')), isCode('TRUNCATED'));
});

test('docs/protocol.md §1.2: flag 0x0001 (more replies) does not change the body', () => {
  const s = decodeSnac(fromHex('0013 0006 0001 00000005 0102'));
  assert.equal(s.flags & SnacFlag.MoreReplies, 1);
  assert.equal(toHex(s.body), '0102');
});

test('docs/protocol.md §1.2: a short SNAC header is TRUNCATED', () => {
  assert.throws(() => decodeSnac(fromHex('0004 0007 0000 000000')), isCode('TRUNCATED'));
  assert.throws(() => decodeSnacHeader(new Uint8Array(0)), isCode('TRUNCATED'));
});

test('docs/protocol.md §1.1+§1.2: encodeSnacFrame builds a channel-2 FLAP around the SNAC in one buffer', () => {
  const f = encodeSnacFrame(5, { family: 4, subtype: 7, flags: 0, requestId: 0x80000001 }, fromHex('ee'));
  assert.equal(toHex(f), '2a02' + '0005' + '000b' + '0004' + '0007' + '0000' + '80000001' + 'ee');
  assert.equal(decodeFlap(f).payload.length, 11);
});

test('docs/protocol.md §1.5: SNAC error body is u16 code + optional TLVs', () => {
  assert.equal(toHex(encodeSnacError(SnacErrorCode.NotLoggedOn)), '0004');
  const withSub = encodeSnacError(SnacErrorCode.InvalidSnac, [tlvU16(SnacErrorTlv.ErrorSubcode, 1)]);
  assert.equal(toHex(withSub), '0001' + '0008' + '0002' + '0001');
  const e = decodeSnacError(withSub);
  assert.equal(e.code, 1);
  assert.equal(e.tlvs.u16(SnacErrorTlv.ErrorSubcode), 1);
  assert.throws(() => decodeSnacError(fromHex('00')), isCode('TRUNCATED'));
});

test('docs/protocol.md §1.5: error code table matches the listed values', () => {
  assert.equal(SnacErrorCode.InvalidSnac, 0x01);
  assert.equal(SnacErrorCode.RefusedByClient, 0x0a);
  assert.equal(SnacErrorCode.MalformedPayload, 0x0e);
  assert.equal(SnacErrorCode.InLocalPermitDeny, 0x10);
  assert.equal(SnacErrorCode.NotWhileOnAol, 0x18);
  assert.equal(SnacErrorCode.Timeout, 0x1a);
  assert.equal(SnacErrorCode.GeneralFailure, 0x1c);
  const values = Object.values(SnacErrorCode);
  assert.deepEqual([...values].sort((a, b) => a - b), Array.from({ length: 0x20 }, (_, i) => i + 1));
});

test('docs/protocol.md §1.2: request-id counters — server ids carry the high bit, client ids never do, no zero', () => {
  const s = new RequestIdCounter(true);
  assert.equal(s.next(), 0x80000001);
  assert.equal(s.next(), 0x80000002);
  const c = new RequestIdCounter(false);
  assert.equal(c.next(), 1);
  assert.equal(isServerRequestId(c.next()), false);
  const w = new RequestIdCounter(false);
  (w as unknown as { n: number }).n = 0x7ffffffe;
  assert.deepEqual([w.next(), w.next()], [0x7fffffff, 1]);
});

test('property: SNAC encode/decode round-trip with and without the version prefix (2000 cases)', () => {
  const rng = new Prng(3);
  for (let i = 0; i < 2000; i++) {
    const flags = rng.chance(0.3) ? (rng.int(0x10000) | 0x8000) : rng.int(0x8000);
    const h = { family: rng.int(0x10000), subtype: rng.int(0x10000), flags, requestId: rng.next() };
    const body = rng.bytes(rng.int(200));
    const prefix = rng.bytes(rng.int(20));
    const s = decodeSnac(encodeSnac(h, body, prefix));
    assert.deepEqual([s.family, s.subtype, s.flags, s.requestId], [h.family, h.subtype, h.flags, h.requestId]);
    assert.equal(toHex(s.body), toHex(body));
    if (flags & 0x8000) assert.equal(toHex(s.versionPrefix!), toHex(prefix));
  }
});

test('docs/protocol.md §1.2: a body from allocSnacBody is framed in place once, then copied; its bytes never change', () => {
  const body = allocSnacBody(3);
  body.set([7, 8, 9]);
  const h = { family: 4, subtype: 7, flags: 0, requestId: 0x80000001 };
  const first = encodeSnacFrame(1, h, body);
  assert.equal(first.buffer, body.buffer, 'the first frame uses the room before the body');
  assert.equal(first.byteOffset + SNAC_FRAME_OVERHEAD, body.byteOffset);
  const second = encodeSnacFrame(2, { ...h, requestId: 0x80000002 }, body);
  assert.notEqual(second.byteOffset + SNAC_FRAME_OVERHEAD, body.byteOffset, 'a second framing copies');
  assert.equal(toHex(first), '2a020001000d' + '0004000700008000000' + '1' + '070809');
  assert.equal(toHex(second), '2a020002000d' + '0004000700008000000' + '2' + '070809');
  assert.equal(toHex(body), '070809');
});
