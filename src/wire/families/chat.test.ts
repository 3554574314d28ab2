/**
 * ChatNav and Chat codecs (docs/protocol.md §3.6–3.8): known-answer bytes for the structures, joscar's zero TLV
 * count, AOL room cookies, and the decoder contract under 100,000 random and mutated inputs each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter, WireError, encodeText, fromHex, toHex } from '../bytes.js';
import { FUZZ_ITERATIONS, FUZZ_TEST_OPTIONS, expectMixed, fuzzDecoder } from '../fuzz-kit.test-support.js';
import { tlv, tlvString } from '../tlv.js';
import {
  RoomTlv, decodeMiniRoomInfo, decodeRoomInfo, decodeRoomInfoQuery, encodeMiniRoomInfo, encodeNavInfo, encodeRoomInfo, parseRoomCookie, roomCookie,
} from './chat-nav.js';
import { decodeChatMessageBlock, decodeChatMsgToClient, decodeChatMsgToHost, encodeChatMsgToClient, encodeChatMsgToHost } from './chat.js';

test('room-info structure: known bytes, real count written, joscar zero count read to the end', () => {
  const enc = encodeRoomInfo({ exchange: 4, cookie: encodeText('c'), instance: 0, detail: 2, tlvs: [tlvString(RoomTlv.CONTENT_TYPE, 'x')] });
  assert.equal(toHex(enc), '0004' + '0163' + '0000' + '02' + '0001' + '00db0001' + '78');
  const joscar = fromHex('0004' + '06637265617465' + 'ffff' + '01' + '0000' + '00d30003616263' + '00db0001' + '78');
  const r = decodeRoomInfo(joscar);
  assert.deepEqual([r.exchange, Buffer.from(r.cookie).toString(), r.instance, r.detail], [4, 'create', 0xffff, 1]);
  assert.deepEqual([r.tlvs.string(RoomTlv.NAME), r.tlvs.string(RoomTlv.CONTENT_TYPE)], ['abc', 'x']);
  assert.equal(decodeRoomInfo(fromHex('0004' + '0163' + '0000' + '02')).tlvs.size, 0, 'nothing after the detail level');
  assert.throws(() => decodeRoomInfo(fromHex('0004' + '0563')), (e: unknown) => WireError.is(e, 'TRUNCATED'));
});

test('mini room info, room info query, nav info', () => {
  const m = { exchange: 4, cookie: encodeText('!aol://2719:10-4-a'), instance: 7 };
  const b = encodeMiniRoomInfo(m);
  assert.deepEqual(decodeMiniRoomInfo(b), { ...m, cookie: b.subarray(3, 3 + m.cookie.length) });
  assert.throws(() => decodeMiniRoomInfo(Uint8Array.from([...b, 0])), (e: unknown) => WireError.is(e, 'TRAILING_BYTES'));
  assert.equal(decodeRoomInfoQuery(Uint8Array.from([...b, 2])).instance, 7, 'detail level after the mini info is ignored');
  const nav = encodeNavInfo({ maxRooms: 10, exchanges: [{ exchange: 4, tlvs: [tlv(0x0004, Uint8Array.of(0, 32))] }], room: Uint8Array.of(1) });
  assert.equal(toHex(nav), '000200010a' + '0003000a' + '0004' + '0001' + '000400020020' + '00040001' + '01');
});

test('AOL room cookies round-trip names with spaces, percent signs and non-ASCII; other forms are not parsed', () => {
  for (const name of ['Secret Plans', '100% real', 'café 東京', 'a-b-c']) {
    const c = roomCookie(4, name);
    assert.match(c, /^!aol:\/\/2719:10-4-[A-Za-z0-9%\-_.!~*'()]+$/);
    assert.deepEqual(parseRoomCookie(c), { exchange: 4, name });
  }
  assert.equal(parseRoomCookie('4-0-room'), undefined, "OOS's form");
  assert.equal(parseRoomCookie('!aol://2719:10-4-%E0%A4'), undefined, 'bad escape');
});

test('0E/05 and 0E/06: the message block is carried as raw bytes; the sender block is 0x0003', () => {
  const block = fromHex('0004000178' + '000200017a' + '0001000100');
  const host = encodeChatMsgToHost({ cookie: new Uint8Array(8).fill(1), tlvs: [tlv(0x0001), tlv(0x0005, block)] });
  const d = decodeChatMsgToHost(host);
  assert.equal(d.channel, 3);
  assert.deepEqual([...d.tlvs.bytes(0x0005)!], [...block]);
  assert.deepEqual(decodeChatMessageBlock(block).items.map((t) => t.type), [4, 2, 1]);
  const out = encodeChatMsgToClient({ cookie: d.cookie, channel: 3, senderInfo: Uint8Array.of(1, 0x61, 0, 0, 0, 0), public: true, message: block });
  const c = decodeChatMsgToClient(out);
  assert.deepEqual(c.tlvs.items.map((t) => t.type), [0x0003, 0x0001, 0x0005], "OOS's order");
  assert.deepEqual([...c.tlvs.bytes(0x0005)!], [...block]);
  assert.throws(() => encodeChatMsgToHost({ cookie: new Uint8Array(7), tlvs: [] }), RangeError);
});

const N = FUZZ_ITERATIONS;

test('fuzz: room-info structure, mini room info, 0E/05, message blocks', FUZZ_TEST_OPTIONS, () => {
  const room = encodeRoomInfo({ exchange: 4, cookie: encodeText(roomCookie(4, 'x y')), instance: 0, detail: 2, tlvs: [tlvString(RoomTlv.NAME, 'x y'), tlvString(RoomTlv.CONTENT_TYPE, 'application/pkcs7-mime')] });
  expectMixed('room-info', fuzzDecoder('room-info', (b) => {
    const r = decodeRoomInfo(b);
    return [r.tlvs.string(RoomTlv.NAME), r.tlvs.string(RoomTlv.CONTENT_TYPE), parseRoomCookie(Buffer.from(r.cookie).toString())];
  }, [room], { iterations: N, seed: 41 }));
  expectMixed('mini-room-info', fuzzDecoder('mini-room-info', (b) => decodeMiniRoomInfo(b), [encodeMiniRoomInfo({ exchange: 4, cookie: encodeText('c'), instance: 1 })], { iterations: N, seed: 42 }));
  const msg = encodeChatMsgToHost({ cookie: new Uint8Array(8), tlvs: [tlv(1), tlvString(2, 'bob'), tlv(5, new ByteWriter().u16(1).u16(2).u16(0x4142).finish()), tlv(6)] });
  expectMixed('0E/05', fuzzDecoder('0E/05', (b) => {
    const m = decodeChatMsgToHost(b);
    const block = m.tlvs.bytes(5);
    return block ? decodeChatMessageBlock(block).bytes(1) : m.tlvs.string(2);
  }, [msg], { iterations: N, seed: 43 }));
});
