/**
 * Raw-OSCAR steps of a chat-room client (docs/protocol.md §3.6–3.8), over {@link TestConnection}: open a service
 * connection through `01/04` -> `01/05`, create or join a room through ChatNav the way joscar writes it, join the
 * room's chat connection, and build room messages with all five message-block TLVs.
 */
import assert from 'node:assert/strict';
import { ByteReader, ByteWriter, encodeText } from '../../src/wire/bytes.js';
import { FlapChannel, encodeFlapHello } from '../../src/wire/flap.js';
import {
  CHATNAV_FAMILY, ChatNavSubtype, CREATE_COOKIE, INSTANCE_LAST, NavInfoTlv, RoomTlv, decodeRoomInfo, encodeMiniRoomInfo, writeMiniRoomInfo, type RoomInfo,
} from '../../src/wire/families/chat-nav.js';
import { CHAT_FAMILY, ChatMessageTlv, ChatSubtype, ChatTlv, encodeChatMsgToHost } from '../../src/wire/families/chat.js';
import { ServiceTlv, decodeServiceRedirect, encodeClientOnline, encodeServiceRequest, encodeU16List, encodeVersions } from '../../src/wire/families/oservice.js';
import { decodeSnac, decodeSnacError, type Snac } from '../../src/wire/snac.js';
import { decodeTlvRestList, tlv, tlvString, writeTlvRestList, type Tlv } from '../../src/wire/tlv.js';
import { TestConnection, type Endpoint } from './oscar-test-client.js';

/** The next SNAC of `family` answering request `id` (a reply or an error). */
export async function answerTo(c: TestConnection, family: number, id: number, timeoutMs = 3000): Promise<Snac> {
  const f = await c.nextFrame((fr) => {
    if (fr.channel !== FlapChannel.Data || fr.payload.length < 10) return false;
    const s = decodeSnac(fr.payload);
    return s.family === family && s.requestId === id;
  }, timeoutMs);
  return decodeSnac(f.payload);
}

/** `01/04` for `family` on `from`; resolves with the redirect, or the SNAC error code when refused. */
export async function requestService(from: TestConnection, family: number, tlvs: Tlv[] = []): Promise<{ address: string; cookie: Uint8Array } | number> {
  const id = from.sendSnac(0x0001, 0x0004, encodeServiceRequest(family, tlvs));
  const f = await answerTo(from, 0x0001, id);
  if (f.subtype === 0x0001) return decodeSnacError(f.body).code;
  const r = decodeServiceRedirect(f.body);
  return { address: r.address, cookie: r.cookie };
}

/** Opens the redirected connection, presents the cookie and runs the service handshake up to client ready. */
export async function redeem(ep: Endpoint, redirect: { address: string; cookie: Uint8Array }, family: number): Promise<TestConnection> {
  const c = await TestConnection.open({ ...ep, port: Number(redirect.address.split(':')[1]) });
  await c.nextFrame((f) => f.channel === FlapChannel.SignOn);
  c.sendFrame(FlapChannel.SignOn, encodeFlapHello([tlv(0x0006, redirect.cookie)]));
  const online = new ByteReader((await c.expectSnac(0x0001, 0x0003)).body);
  assert.deepEqual([online.u16(), online.u16()], [0x0001, family], '01/03 announces OService and the service family');
  c.sendSnac(0x0001, 0x0017, encodeVersions([{ family: 1, version: 4 }, { family, version: 1 }]));
  await c.expectSnac(0x0001, 0x0018);
  c.sendSnac(0x0001, 0x0006);
  const n = new ByteReader((await c.expectSnac(0x0001, 0x0007)).body).u16();
  c.sendSnac(0x0001, 0x0008, encodeU16List(Array.from({ length: n }, (_, i) => i + 1)));
  c.sendSnac(0x0001, 0x0002, encodeClientOnline([1, family].map((f) => ({ family: f, version: 1, toolId: 0x0110, toolVersion: 0x0801 }))));
  return c;
}

/** Opens a ChatNav connection from a BOS connection. */
export async function openChatNav(ep: Endpoint, bos: TestConnection): Promise<TestConnection> {
  const r = await requestService(bos, CHATNAV_FAMILY);
  assert.notEqual(typeof r, 'number', `ChatNav refused: ${String(r)}`);
  return redeem(ep, r as { address: string; cookie: Uint8Array }, CHATNAV_FAMILY);
}

/**
 * `0D/08` written as joscar's `JoinRoomCmd` writes it: exchange, cookie "create", instance 0xFFFF, type 1, a u16
 * "code" of 0 where OOS expects a TLV count, then the TLVs. Resolves with the room info of `0D/09`, or the error code.
 */
export async function createRoom(nav: TestConnection, exchange: number, tlvs: Tlv[]): Promise<RoomInfo | number> {
  const w = new ByteWriter(256);
  writeMiniRoomInfo(w, { exchange, cookie: encodeText(CREATE_COOKIE), instance: INSTANCE_LAST }).u8(1).u16(0);
  writeTlvRestList(w, tlvs);
  const id = nav.sendSnac(CHATNAV_FAMILY, ChatNavSubtype.CREATE_ROOM, w.finish());
  return navAnswer(nav, id);
}

/** The room info (or error code) answering request `id` on a ChatNav connection. */
export async function navAnswer(nav: TestConnection, id: number): Promise<RoomInfo | number> {
  const f = await answerTo(nav, CHATNAV_FAMILY, id);
  if (f.subtype === ChatNavSubtype.ERROR) return decodeSnacError(f.body).code;
  const room = decodeTlvRestList(f.body).bytes(NavInfoTlv.ROOM_INFO);
  assert.ok(room, '0D/09 carries TLV 0x0004');
  return decodeRoomInfo(room);
}

/** The room TLVs joscar's secure create sends (`JD/CLHandler.java` enccreateroom, docs/protocol.md §7.1). */
export function roomTlvs(name: string, contentType: string, extra: Tlv[] = []): Tlv[] {
  return [tlvString(RoomTlv.NAME, name), tlvString(RoomTlv.CHARSET1, 'us-ascii'), tlvString(RoomTlv.LANGUAGE1, 'en'), tlvString(RoomTlv.CONTENT_TYPE, contentType), ...extra];
}

/** Joins `room` from a BOS connection: `01/04` with TLV 0x0001 -> `01/05` -> the chat connection, client ready sent. */
export async function joinRoom(ep: Endpoint, bos: TestConnection, room: { exchange: number; cookie: Uint8Array; instance: number }): Promise<TestConnection> {
  const r = await requestService(bos, CHAT_FAMILY, [tlv(ServiceTlv.ROOM, encodeMiniRoomInfo(room))]);
  assert.notEqual(typeof r, 'number', `chat refused: ${String(r)}`);
  return redeem(ep, r as { address: string; cookie: Uint8Array }, CHAT_FAMILY);
}

/** A message block with all five TLVs, in joscar's `ChatMsg` order (0x0004, 0x0002, 0x0003, 0x0005, 0x0001). */
export function messageBlock(contentType: string, body: Uint8Array): Uint8Array {
  return writeTlvRestList(new ByteWriter(64 + body.length), [
    tlvString(ChatMessageTlv.CONTENT_TYPE, contentType),
    tlvString(ChatMessageTlv.CHARSET, 'us-ascii'),
    tlvString(ChatMessageTlv.LANGUAGE, 'en'),
    tlvString(ChatMessageTlv.CONTENT_ENCODING, 'binary'),
    tlv(ChatMessageTlv.BODY, body),
  ]).finish();
}

/** Sends `0E/05` with the message block and the given extra TLVs (0x0001 public unless `whisperTo`). */
export function sendRoomMessage(chat: TestConnection, block: Uint8Array, opts: { cookie?: Uint8Array; reflect?: boolean; whisperTo?: string; extra?: Tlv[] } = {}): number {
  const tlvs: Tlv[] = [];
  if (opts.whisperTo === undefined) tlvs.push(tlv(ChatTlv.PUBLIC));
  else tlvs.push(tlvString(ChatTlv.WHISPER_TO, opts.whisperTo));
  tlvs.push(...(opts.extra ?? []), tlv(ChatTlv.MESSAGE, block));
  if (opts.reflect) tlvs.push(tlv(ChatTlv.REFLECT));
  return chat.sendSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_HOST, encodeChatMsgToHost({ cookie: opts.cookie ?? Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), tlvs }));
}
