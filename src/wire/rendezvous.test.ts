import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireError } from './bytes.js';
import { capabilityBytes } from './capabilities.js';
import { rewriteRendezvousAddress } from './families/icbm.js';
import {
  RvCancelReason, RvType, SendFileKind, decodeRendezvous, decodeSendFileServiceData, encodeRendezvous, encodeSendFileServiceData, proposalAddresses,
} from './rendezvous.js';

const cap = capabilityBytes('SendFile');
const cookie = Buffer.from('c00k1e!!');

test('rendezvous: a TLS proposal round-trips with index, addresses, port, NAT checks and service data', () => {
  const sd = encodeSendFileServiceData({ kind: SendFileKind.OneFile, fileCount: 1, totalSize: 1234, name: 'a.txt' });
  const b = encodeRendezvous({ type: RvType.Propose, cookie, capability: cap, requestIndex: 1, address: new Uint8Array([10, 0, 0, 2]), clientAddress: new Uint8Array([10, 0, 0, 2]), port: 4443, tls: true, hostCheck: true, serviceData: sd });
  assert.deepEqual([...b.subarray(0, 2)], [0, 0]);
  assert.deepEqual(Buffer.from(b.subarray(2, 10)), cookie);
  const m = decodeRendezvous(b);
  assert.deepEqual([m.type, m.requestIndex, m.port, m.tls, m.hostCheck, m.viaProxy], [0, 1, 4443, true, true, undefined]);
  assert.deepEqual(decodeSendFileServiceData(m.serviceData!), { kind: 1, fileCount: 1, totalSize: 1234, name: 'a.txt' });
  // 0x0016 / 0x0017 are the address and port XORed with all ones.
  assert.deepEqual(m.extra, undefined);
  const raw = Buffer.from(b);
  const at17 = raw.indexOf(Buffer.from([0x00, 0x17, 0x00, 0x02]));
  assert.equal(raw.readUInt16BE(at17 + 4), (~4443) & 0xffff);
});

test('rendezvous: accept echoes 0x0011; cancel carries its reason; unknown TLVs survive', () => {
  const a = decodeRendezvous(encodeRendezvous({ type: RvType.Accept, cookie, capability: cap, tls: true }));
  assert.deepEqual([a.type, a.tls], [RvType.Accept, true]);
  const c = decodeRendezvous(encodeRendezvous({ type: RvType.Cancel, cookie, capability: cap, cancelReason: RvCancelReason.Declined, extra: [{ type: 0x1234, value: new Uint8Array([9]), offset: -1 }] }));
  assert.equal(c.cancelReason, 1);
  assert.deepEqual(c.extra?.map((t) => [t.type, [...t.value]]), [[0x1234, [9]]]);
});

test('rendezvous: the address order is server-seen first; through the proxy only 0x0002 counts; IPv6 (0x7C11)', () => {
  const prop = encodeRendezvous({ type: RvType.Propose, cookie, capability: cap, requestIndex: 1, address: new Uint8Array([192, 168, 1, 5]), clientAddress: new Uint8Array([192, 168, 1, 5]), port: 5000, address6: new Uint8Array([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]) });
  const seen = decodeRendezvous(rewriteRendezvousAddress(prop, new Uint8Array([203, 0, 113, 9]))!);
  assert.deepEqual(proposalAddresses(seen), { ipv4: ['203.0.113.9', '192.168.1.5'], ipv6: ['2001:db8:0:0:0:0:0:1'] });
  const viaProxy = decodeRendezvous(encodeRendezvous({ type: RvType.Propose, cookie, capability: cap, requestIndex: 3, address: new Uint8Array([127, 0, 0, 1]), port: 777, viaProxy: true }));
  assert.deepEqual(proposalAddresses(viaProxy), { ipv4: ['127.0.0.1'], ipv6: [] });
});

test('rendezvous: malformed blocks fail with WireError', () => {
  const good = Buffer.from(encodeRendezvous({ type: RvType.Propose, cookie, capability: cap, port: 1 }));
  assert.throws(() => decodeRendezvous(good.subarray(0, 20)), WireError);
  const badType = Buffer.from(good);
  badType.writeUInt16BE(7, 0);
  assert.throws(() => decodeRendezvous(badType), WireError);
  const badPort = Buffer.concat([good.subarray(0, 26), Buffer.from([0x00, 0x05, 0x00, 0x03, 1, 2, 3])]);
  assert.throws(() => decodeRendezvous(badPort), (e: unknown) => e instanceof WireError && e.code === 'BAD_LENGTH');
  assert.throws(() => decodeSendFileServiceData(Buffer.concat([Buffer.from([0, 1, 0, 1, 0, 0, 0, 1]), Buffer.alloc(2000, 0x41)])), WireError);
});
