import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader, ByteWriter, WireError, fromHex as hex } from '../bytes.js';
import { readTlvRestList, tlvU16 } from '../tlv.js';
import {
  TLV_CERTIM_PASSWORD, decodeKeyRequest, decodeKeyResponse, decodeLoginRequest, decodeLoginResponse, encodeKeyRequest, encodeKeyResponse,
  encodeLoginFailure, encodeLoginRequest, encodeLoginSuccess, strongPasswordHash,
} from './bucp.js';
import { decodeScreenNameList, decodeUserInfoList, encodeDeparted } from './buddy.js';
import { decodeItems, decodeQueryIfModified, encodeReply, pdModeOf } from './feedbag.js';
import { decodeChannelMsgToHost, decodeHostAck, decodeParameters, encodeHostAck, encodeParameters, rewriteRendezvousAddress } from './icbm.js';
import { decodeSetInfo, decodeUserInfoQuery, decodeUserInfoQuery2, decodeUserInfoReply, encodeSetInfo, encodeUserInfoQuery2, encodeUserInfoReply } from './locate.js';
import {
  decodeBartQuery2, decodeClientOnline, decodeRateClassIds, decodeU16List, decodeVersions, encodeBartReply2, encodeClientOnline, encodeRateInfo,
  encodeU16List,
} from './oservice.js';
import { encodeUserInfo } from '../user-info.js';

test('BUCP 17/02: classic strong login and certim password TLV', () => {
  const strong = decodeLoginRequest(hex('0001 0003 626f62  0025 0010 00112233445566778899aabbccddeeff  004c 0000  004a 0001 01'));
  assert.equal(strong.screenName, 'bob');
  assert.equal(strong.strong, true);
  assert.equal(strong.multiConn, 1);
  assert.equal(strong.passwordHash!.length, 16);
  const certim = decodeLoginRequest(new ByteWriter().u16(1).u16(3).bytes(Buffer.from('bob')).u16(TLV_CERTIM_PASSWORD).u16(2).bytes(Buffer.from('pw')).finish());
  assert.equal(certim.certimPassword, 'pw');
  assert.equal(certim.passwordHash, undefined);
  assert.throws(() => decodeLoginRequest(hex('0025 0002 0000')), (e) => WireError.is(e, 'BAD_VALUE'));
  assert.throws(() => decodeLoginRequest(hex('0001 0003 626f62 0025 0002 0000')), (e) => WireError.is(e, 'BAD_LENGTH'));
});

test('BUCP 17/03 success and failure TLVs', () => {
  const ok = readTlvRestList(new ByteReader(encodeLoginSuccess('Bob', 'h:1', new Uint8Array(256))));
  assert.equal(ok.string(5), 'h:1');
  assert.equal(ok.bytes(6)!.length, 256);
  assert.equal(readTlvRestList(new ByteReader(encodeLoginFailure('Bob', 0x18))).u16(8), 0x18);
});

test('BUCP client direction: 17/06, 17/07, strong MD5 17/02 and 17/03 round trips', () => {
  assert.deepEqual(decodeKeyRequest(encodeKeyRequest({ screenName: 'bob' })), { screenName: 'bob' });
  const key = hex('0102030405060708');
  assert.deepEqual([...decodeKeyResponse(encodeKeyResponse(key))], [...key]);
  // MD5(key ‖ MD5("pw") ‖ "AOL Instant Messenger (SM)"), known answer computed with node:crypto.
  const hash = strongPasswordHash(key, 'pw');
  assert.deepEqual([...hash], [...hex('fb19cfc80fb443f3bd4449e6bee30d72')]);
  const req = decodeLoginRequest(encodeLoginRequest({ screenName: 'bob', passwordHash: hash, strong: true, clientId: 'certim', multiConn: 1 }));
  assert.deepEqual([req.screenName, req.strong, req.clientId, req.multiConn, req.certimPassword], ['bob', true, 'certim', 1, undefined]);
  assert.deepEqual([...req.passwordHash!], [...hash]);
  assert.deepEqual([...req.tlvs].map((t) => t.type), [0x0001, 0x0025, 0x004c, 0x0003, 0x004a]);
  assert.equal(decodeLoginRequest(encodeLoginRequest({ screenName: 'bob', certimPassword: 'pw' })).certimPassword, 'pw');
  const ok = decodeLoginResponse(encodeLoginSuccess('Bob', 'h:1', new Uint8Array(256)));
  assert.ok(ok.ok && ok.bosAddress === 'h:1' && ok.cookie.length === 256 && ok.screenName === 'Bob');
  assert.deepEqual(decodeLoginResponse(encodeLoginFailure('Bob', 0x18)), { ok: false, errorCode: 0x18, errorUrl: 'https://certim.invalid/login-error/24' });
  const waited = decodeLoginResponse(encodeLoginFailure('Bob', 0x18, 'https://certim.invalid/login-error/24?retry-after=8&scope=pair'));
  assert.deepEqual(waited, { ok: false, errorCode: 0x18, errorUrl: 'https://certim.invalid/login-error/24?retry-after=8&scope=pair' });
  assert.throws(() => decodeLoginResponse(hex('0001 0003 626f62')), (e) => WireError.is(e, 'BAD_VALUE'));
  assert.throws(() => decodeKeyResponse(hex('0005 0102')), (e) => WireError.is(e, 'TRUNCATED'));
});

test('OService client direction: 01/02 and 01/08 round trips, 01/07 class ids from v1 and v2 records', () => {
  const entries = [{ family: 1, version: 4, toolId: 0x0110, toolVersion: 0x0801 }];
  assert.deepEqual(decodeClientOnline(encodeClientOnline(entries)), entries);
  assert.deepEqual(decodeU16List(encodeU16List([1, 2, 5])), [1, 2, 5]);
  const cls = { id: 1, window: 80, clear: 2500, alert: 2000, limit: 1500, disconnect: 800, current: 6000, max: 6000, lastTime: 0, dropping: false };
  const pairs = new Map([[1, [[1, 2]] as Array<[number, number]>]]);
  for (const v2 of [false, true]) assert.deepEqual(decodeRateClassIds(encodeRateInfo([cls, { ...cls, id: 2 }], pairs, v2)), [1, 2]);
  assert.throws(() => decodeRateClassIds(hex('0002 0001')), WireError);
});

test('OService: rate info record sizes (30 bytes v1, 35 bytes v2), versions, BART ids', () => {
  const cls = { id: 1, window: 80, clear: 2500, alert: 2000, limit: 1500, disconnect: 800, current: 6000, max: 6000, lastTime: 0, dropping: false };
  const pairs = new Map([[1, [[1, 2], [4, 6]] as Array<[number, number]>]]);
  assert.equal(encodeRateInfo([cls], pairs, false).length, 2 + 30 + 4 + 8);
  assert.equal(encodeRateInfo([cls], pairs, true).length, 2 + 35 + 4 + 8);
  assert.deepEqual(decodeVersions(hex('0001 0004 0013 0004')), [{ family: 1, version: 4 }, { family: 0x13, version: 4 }]);
  assert.throws(() => decodeVersions(hex('0001 00')), WireError);
  const q = hex('0402 01 10 d41d8cd98f00b204e9800998ecf8427e 0403 01 10 d41d8cd98f00b204e9800998ecf8427e');
  const ids = decodeBartQuery2(q);
  assert.deepEqual(ids.map((i) => i.type), [0x0402, 0x0403]);
  assert.equal(encodeBartReply2(ids.map((id) => ({ query: id, code: 0, reply: id }))).length, 2 * (20 + 1 + 20));
});

test('Locate: set info, queries, bad capability length', () => {
  const si = decodeSetInfo(hex('0004 0000 0005 0010 09460001 4c7f11d1 82224445 53540000'));
  assert.equal(si.away!.length, 0);
  assert.equal(si.capabilities!.length, 1);
  assert.throws(() => decodeSetInfo(hex('0005 0003 010203')), (e) => WireError.is(e, 'BAD_LENGTH'));
  assert.deepEqual(decodeUserInfoQuery2(hex('00000008 03 626f62')), { flags: 8, screenName: 'bob' });
  assert.deepEqual(decodeUserInfoQuery(hex('0003 03 626f62')), { flags: 2, screenName: 'bob' });
  assert.throws(() => decodeUserInfoQuery2(hex('00000008 00')), WireError);
});

test('Locate client direction: 02/04, 02/15 and 02/06 round trips', () => {
  const cap = new Uint8Array(16).fill(9);
  const si = decodeSetInfo(encodeSetInfo({ capabilities: [cap], certInfo: hex('0102') }));
  assert.deepEqual(si.capabilities!.map((c) => [...c]), [[...cap]]);
  assert.deepEqual([...si.certInfo!], [1, 2]);
  assert.deepEqual(decodeUserInfoQuery2(encodeUserInfoQuery2({ flags: 0x0c, screenName: 'bob' })), { flags: 0x0c, screenName: 'bob' });
  const reply = decodeUserInfoReply(encodeUserInfoReply(encodeUserInfo({ screenName: 'bob', tlvs: [] }), [tlvU16(0x0006, 7)]));
  assert.equal(reply.user.screenName, 'bob');
  assert.equal(reply.tlvs.u16(0x0006), 7);
  assert.throws(() => decodeUserInfoReply(hex('03 626f')), (e) => WireError.is(e, 'TRUNCATED'));
});

test('ICBM client direction: 04/02 and 04/0C round trips', () => {
  const p = { channel: 0, flags: 0x0b, maxMessageLength: 8000, maxSenderWarn: 999, maxReceiverWarn: 999, minInterval: 0 };
  assert.deepEqual(decodeParameters(encodeParameters(p)), p);
  const ack = decodeHostAck(encodeHostAck(new Uint8Array(8).fill(3), 1, 'bob'));
  assert.deepEqual([ack.channel, ack.screenName, ack.cookie.length], [1, 'bob', 8]);
  assert.throws(() => decodeHostAck(hex('0102')), (e) => WireError.is(e, 'TRUNCATED'));
});

test('Buddy: screen-name lists and departures', () => {
  assert.deepEqual(decodeUserInfoList(encodeDeparted('bob')).map((u) => u.screenName), ['bob']);
  assert.deepEqual(decodeScreenNameList(hex('03 626f62 05 616c696365')), ['bob', 'alice']);
  assert.throws(() => decodeScreenNameList(hex('05 6162')), (e) => WireError.is(e, 'TRUNCATED'));
  assert.throws(() => decodeScreenNameList(hex('01 61 01 62'), 1), (e) => WireError.is(e, 'TOO_MANY'));
  assert.deepEqual([...encodeDeparted('bob')], [...hex('03 626f62 0000 0001 0001 0002 0000')]);
});

test('ICBM: 04/06 decode keeps raw TLV bytes; rendezvous rewrite only with 0x0003', () => {
  const body = hex('0102030405060708 0001 03 626f62 0002 0003 aabbcc 0003 0000');
  const m = decodeChannelMsgToHost(body);
  assert.deepEqual([...m.tlvBytes], [...hex('0002 0003 aabbcc 0003 0000')]);
  assert.throws(() => decodeChannelMsgToHost(hex('01020304')), (e) => WireError.is(e, 'TRUNCATED'));
  const head = new Uint8Array(26).fill(7);
  const rv = Uint8Array.from([...head, ...hex('0003 0004 0a000001 0005 0002 1234 0004 0004 01010101')]);
  const out = rewriteRendezvousAddress(rv, Uint8Array.from([198, 51, 100, 9]))!;
  assert.deepEqual([...out.subarray(26)], [...hex('0003 0004 c6336409 0005 0002 1234 0004 0004 c6336409')]);
  assert.equal(rewriteRendezvousAddress(Uint8Array.from([...head, ...hex('0005 0002 1234')]), Uint8Array.from([1, 2, 3, 4])), undefined);
});

test('Feedbag: items round trip, PD mode attribute, 13/05 count width conflict', () => {
  const attrs = hex('00ca 0001 04');
  const reply = encodeReply([{ name: 'x', groupId: 0, itemId: 5, classId: 4, attributes: attrs }], 77);
  const r = new ByteReader(reply);
  assert.equal(r.u8(), 0);
  assert.equal(r.u16(), 1);
  const items = decodeItems(r.bytes(reply.length - 7));
  assert.deepEqual(items.map((i) => [i.name, i.itemId, i.classId]), [['x', 5, 4]]);
  assert.equal(r.u32(), 77);
  assert.equal(pdModeOf(attrs), 4);
  assert.equal(pdModeOf(hex('00ca 0005 01')), undefined);
  assert.deepEqual(decodeQueryIfModified(hex('00000010 0003')), { lastModified: 16, count: 3 });
  assert.deepEqual(decodeQueryIfModified(hex('00000010 03')), { lastModified: 16, count: 3 });
  assert.throws(() => decodeItems(hex('0001 41 0000 0001 0000 0005 00ca 0009 01')), WireError);
});
