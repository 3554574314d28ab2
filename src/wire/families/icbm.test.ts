/**
 * The 04/06 -> 04/07 relay allow-list (docs/protocol.md §3.4): only TLVs a client may set reach the recipient, and
 * server-owned ones (0x000B, 0x0016, ...) appear only when the server appends them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader, ByteWriter } from '../bytes.js';
import { decodeIcbmChannelMsgToClient } from '../icbm-message.js';
import { readTlvRestList, tlv, tlvU32, writeTlvRestList } from '../tlv.js';
import { writeUserInfo } from '../user-info.js';
import { CLIENT_SETTABLE_ICBM_TLVS, encodeDelivery, isClientSettableIcbmTlv } from './icbm.js';

const table: Array<[number, boolean, string]> = [
  [0x0001, false, 'undefined in 04/06'],
  [0x0002, true, 'IM data'],
  [0x0003, false, 'host-ack request (consumed by the server)'],
  [0x0004, true, 'auto-response'],
  [0x0005, true, 'rendezvous / ICQ data'],
  [0x0006, false, 'store-if-offline (consumed by the server)'],
  [0x0007, false, 'undefined'],
  [0x0008, true, 'icon info'],
  [0x0009, true, 'wants icon'],
  [0x000b, false, 'sender can type: 04/07, server-owned'],
  [0x000d, true, 'BART / expression info'],
  [0x0016, false, 'offline timestamp: 04/07, server-owned'],
  [0x0000, false, 'zero'],
  [0xffff, false, 'max'],
];

for (const [type, relayed, what] of table) {
  test(`ICBM relay allow-list: 0x${type.toString(16).padStart(4, '0')} ${what} -> ${relayed ? 'relayed' : 'dropped'}`, () => {
    assert.equal(isClientSettableIcbmTlv(type), relayed);
  });
}

test('ICBM relay allow-list has exactly the six client-settable types', () => {
  assert.deepEqual([...CLIENT_SETTABLE_ICBM_TLVS].sort((a, b) => a - b), [0x0002, 0x0004, 0x0005, 0x0008, 0x0009, 0x000d]);
});

const senderInfo = writeUserInfo(new ByteWriter(64), { screenName: 'alice', warningLevel: 0, tlvs: [] }).finish();

function clientTlvs(): ReturnType<typeof readTlvRestList> {
  // What a hostile client sends: the IM plus forged server-owned fields (0x0016 = 1 Jan 2001 "stored offline").
  const w = writeTlvRestList(new ByteWriter(128), [
    tlv(0x0016, Uint8Array.of(0x3a, 0x4f, 0xbd, 0x80)),
    tlv(0x0002, Uint8Array.of(1, 2, 3)),
    tlv(0x000b),
    tlv(0x0003),
    tlv(0x0008, Uint8Array.of(9, 9)),
    tlv(0x0006),
    tlv(0x1234, Uint8Array.of(7)),
  ]);
  return readTlvRestList(new ByteReader(w.finish()));
}

test('encodeDelivery: forged server-owned and unknown TLVs are dropped; allowed ones kept in order, byte for byte', () => {
  const body = encodeDelivery(new Uint8Array(8).fill(5), 1, senderInfo, clientTlvs());
  const m = decodeIcbmChannelMsgToClient(body);
  assert.deepEqual(m.tlvs.items.map((t) => t.type), [0x0002, 0x0008]);
  assert.deepEqual([...m.tlvs.bytes(0x0002)!], [1, 2, 3]);
  assert.deepEqual([...m.tlvs.bytes(0x0008)!], [9, 9]);
});

test('encodeDelivery: offline delivery carries exactly one 0x0016, the server\'s', () => {
  const serverTime = 1_780_000_000;
  const body = encodeDelivery(new Uint8Array(8), 1, senderInfo, clientTlvs(), undefined, [tlvU32(0x0016, serverTime)]);
  const m = decodeIcbmChannelMsgToClient(body);
  assert.deepEqual(m.tlvs.items.map((t) => t.type), [0x0002, 0x0008, 0x0016]);
  assert.equal(m.tlvs.u32(0x0016), serverTime);
});
