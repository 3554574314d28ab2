/**
 * ChatNav (0x000D) handlers (docs/protocol.md §3.6): rights, exchange info, room info, and create-or-join of
 * user-created rooms on exchange 4. Every answer is a `0D/09`; refusals are `0D/01` with a stable code:
 *
 * | code | when |
 * |---|---|
 * | 0x08 NotSupportedByHost | an exchange other than 4 |
 * | 0x0D RequestDenied | a room name that is empty, too long, has control characters, or whose cookie would not fit |
 * | 0x0E MalformedPayload | an unreadable body, or `0D/08` without a name (TLV 0x00D3) |
 * | 0x14 NoMatch | `0D/04` for a room that does not exist (or no longer) |
 * | 0x15 ListOverflow | too many rooms (server-wide, or created by this user), too many or too large room TLVs |
 *
 * Room TLVs: the creator's are stored as sent and echoed in every room-info structure — **0x00DB content type**
 * above all, which clients read to pick the secure codec (§7.1; OOS drops it, §9.8) — except the ones the server
 * owns (name, fully qualified name, creation time, the limits), which it writes itself. A `0D/08` naming an
 * existing room joins it: the answer shows that room's own TLVs (its real 0x00DB), not the requester's.
 */
import { encodeText } from '../../wire/bytes.js';
import {
  CHATNAV_FAMILY as F, CONTENT_TYPE_PLAIN, ChatNavSubtype as S, RoomTlv, ExchangeTlv, cookieText, decodeExchangeInfoQuery,
  decodeRoomInfo, decodeRoomInfoQuery, encodeNavInfo, encodeRoomInfo, roomCookie, type ExchangeInfo,
} from '../../wire/families/chat-nav.js';
import { SnacErrorCode } from '../../wire/snac.js';
import { decodeTlvRestList, encodeTlvRestList, tlv, tlvString, tlvU16, tlvU32, tlvU8, type Tlv } from '../../wire/tlv.js';
import { MAX_COOKIE_ROOM } from '../auth/cookie.js';
import type { EngineConfig } from '../config.js';
import { RoomError, type RoomRecord } from '../cluster/rooms.js';
import { errorReply, reply, type BosContext, type BosFamily, type Reply } from './family.js';

/** The one exchange certim serves: user-created rooms (docs/protocol.md §3.6). */
export const USER_ROOMS_EXCHANGE = 4;

/** Most concurrent rooms announced in `0D/09` TLV 0x0002 (u8). */
const MAX_CONCURRENT_ROOMS = 10;

/** Room TLVs a creator may set but the server writes itself (so a room never lies about its name or limits). */
const SERVER_OWNED: ReadonlySet<number> = new Set([
  RoomTlv.FULLY_QUALIFIED_NAME, RoomTlv.CREATION_TIME, RoomTlv.MAX_MESSAGE_LENGTH, RoomTlv.MAX_OCCUPANCY, RoomTlv.NAME,
  RoomTlv.MAX_VISIBLE_MESSAGE_LENGTH,
]);

/** Most room TLVs a creator may have stored. */
const MAX_STORED_TLVS = 32;


/** The room-info structure of `room` (ChatNav `0D/09` TLV 0x0004, Chat `0E/02`), detail level 2 as OOS sends. */
export function roomInfoBody(room: RoomRecord, config: EngineConfig): Uint8Array {
  const maxLen = Math.min(0xffff, config.maxRoomMessageLength);
  const tlvs: Tlv[] = [
    tlvString(RoomTlv.FULLY_QUALIFIED_NAME, room.name),
    tlvU32(RoomTlv.CREATION_TIME, Math.floor(room.createdAt / 1000)),
    tlvU16(RoomTlv.MAX_MESSAGE_LENGTH, maxLen),
    tlvU16(RoomTlv.MAX_VISIBLE_MESSAGE_LENGTH, maxLen),
    tlvU16(RoomTlv.MAX_OCCUPANCY, Math.min(0xffff, config.maxRoomOccupancy)),
    tlvString(RoomTlv.NAME, room.name),
    ...decodeTlvRestList(room.tlvs).items,
  ];
  return encodeRoomInfo({ exchange: room.exchange, cookie: encodeText(room.cookie), instance: room.instance, detail: 2, tlvs });
}

function exchangeInfo(config: EngineConfig): ExchangeInfo {
  return {
    exchange: USER_ROOMS_EXCHANGE,
    // OOS's exchange block, which AIM 5.x accepts, with certim's limits.
    tlvs: [
      tlvU16(ExchangeTlv.CLASS_PERMISSIONS, 0x0010),
      tlvU16(ExchangeTlv.MAX_NAME_LENGTH, config.maxRoomNameLength),
      tlvU16(RoomTlv.FLAGS, 0x000f),
      tlvU8(RoomTlv.CREATE_PERMISSIONS, 2),
      tlvU16(RoomTlv.MAX_MESSAGE_LENGTH, Math.min(0xffff, config.maxRoomMessageLength)),
      tlvU16(RoomTlv.MAX_OCCUPANCY, Math.min(0xffff, config.maxRoomOccupancy)),
      tlvString(RoomTlv.CHARSET1, 'us-ascii'),
      tlvString(RoomTlv.LANGUAGE1, 'en'),
      tlvString(RoomTlv.CHARSET2, 'us-ascii'),
      tlvString(RoomTlv.LANGUAGE2, 'en'),
    ],
  };
}

function navInfo(ctx: BosContext): Reply {
  return reply(F, S.NAV_INFO, encodeNavInfo({ maxRooms: MAX_CONCURRENT_ROOMS, exchanges: [exchangeInfo(ctx.engine.config)] }));
}

/**
 * A room name a user may create, trimmed; undefined when refused: empty, longer than the limit (UTF-8 bytes),
 * control or format characters (they would hide a name's real form from other members), or a cookie that would
 * not fit a service cookie (the `01/05` cookie carries it, server/auth/cookie.ts).
 */
export function acceptableRoomName(raw: string, config: EngineConfig): string | undefined {
  const name = raw.trim();
  if (name.length === 0 || encodeText(name).length > config.maxRoomNameLength) return undefined;
  if (/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(name)) return undefined;
  if (encodeText(roomCookie(USER_ROOMS_EXCHANGE, name)).length > MAX_COOKIE_ROOM) return undefined;
  return name;
}

/** 0D/08: create the room, or join the live room of that name. */
async function createRoom(ctx: BosContext, body: Uint8Array): Promise<Reply[]> {
  const { engine } = ctx;
  const req = decodeRoomInfo(body);
  if (req.exchange !== USER_ROOMS_EXCHANGE) return [errorReply(F, SnacErrorCode.NotSupportedByHost)];
  const rawName = req.tlvs.string(RoomTlv.NAME);
  if (rawName === undefined) return [errorReply(F, SnacErrorCode.MalformedPayload)];
  const name = acceptableRoomName(rawName, engine.config);
  if (name === undefined) return [errorReply(F, SnacErrorCode.RequestDenied)];
  const kept = req.tlvs.items.filter((t) => !SERVER_OWNED.has(t.type)).map((t) => tlv(t.type, t.value));
  if (!kept.some((t) => t.type === RoomTlv.CONTENT_TYPE)) kept.push(tlvString(RoomTlv.CONTENT_TYPE, CONTENT_TYPE_PLAIN));
  const stored = encodeTlvRestList(kept);
  if (kept.length > MAX_STORED_TLVS || stored.length > engine.config.maxRoomTlvBytes) return [errorReply(F, SnacErrorCode.ListOverflow)];
  try {
    const { room } = await engine.rooms.createOrGet(
      { exchange: USER_ROOMS_EXCHANGE, name, creator: ctx.session.key, tlvs: stored, cookie: roomCookie(USER_ROOMS_EXCHANGE, name) },
      engine.clock.now(),
    );
    return [reply(F, S.NAV_INFO, encodeNavInfo({ room: roomInfoBody(room, engine.config) }))];
  } catch (e) {
    if (RoomError.is(e, 'ROOM_LIMIT') || RoomError.is(e, 'ROOM_CREATOR_LIMIT')) return [errorReply(F, SnacErrorCode.ListOverflow)];
    throw e;
  }
}

/** 0D/04: the room-info structure of a live room. */
async function roomInfo(ctx: BosContext, body: Uint8Array): Promise<Reply[]> {
  const q = decodeRoomInfoQuery(body);
  const room = await ctx.engine.rooms.get(cookieText(q.cookie), ctx.engine.clock.now());
  if (!room || room.exchange !== q.exchange) return [errorReply(F, SnacErrorCode.NoMatch)];
  return [reply(F, S.NAV_INFO, encodeNavInfo({ room: roomInfoBody(room, ctx.engine.config) }))];
}

/** ChatNav, on ChatNav connections. */
export const chatNavFamily: BosFamily = {
  family: F,
  version: 1,
  handlers: {
    [S.RIGHTS_QUERY]: (ctx) => [navInfo(ctx)],
    [S.EXCHANGE_INFO_QUERY]: (ctx, body) => (decodeExchangeInfoQuery(body) === USER_ROOMS_EXCHANGE ? [navInfo(ctx)] : [errorReply(F, SnacErrorCode.NotSupportedByHost)]),
    [S.ROOM_INFO_QUERY]: roomInfo,
    [S.CREATE_ROOM]: createRoom,
  },
};
