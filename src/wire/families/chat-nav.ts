/**
 * Family 0x000D ChatNav (docs/protocol.md §3.6): rights, exchange info, room info, create-or-join, all answered with
 * `0D/09`; plus the two room structures both ChatNav and Chat (§3.8 `0E/02`) carry, and AOL-style room cookies.
 *
 * Shapes (§3.6):
 * - mini room info: u16 exchange, u8-length cookie, u16 instance (also TLV 0x0001 of `01/04`, §3.7);
 * - room-info structure: mini room info, u8 detail level, u16 TLV count, TLVs. OOS writes a real count; joscar
 *   writes 0 and then its TLVs (§9.9), so a room-info structure that ends its enclosing field is parsed to the end;
 * - `0D/09`: TLV 0x0002 u8 max concurrent rooms, 0x0003 exchange info (repeatable: u16 exchange + counted TLV
 *   block), 0x0004 room-info structure.
 */
import { ByteReader, ByteWriter, decodeText } from '../bytes.js';
import { TlvList, tlv, tlvU8, writeTlvCountedBlock, writeTlvRestList, type Tlv } from '../tlv.js';
import { block08, body, orEmptyAtEnd, record, tlvCounted, u16, u8, type Infer } from '../codec.js';

/** ChatNav family id. */
export const CHATNAV_FAMILY = 0x000d;

/** ChatNav subtypes (docs/protocol.md §3.6). */
export const ChatNavSubtype = {
  ERROR: 0x01,
  RIGHTS_QUERY: 0x02,
  EXCHANGE_INFO_QUERY: 0x03,
  ROOM_INFO_QUERY: 0x04,
  CREATE_ROOM: 0x08,
  NAV_INFO: 0x09,
} as const;

/** `0D/09` TLV types. */
export const NavInfoTlv = {
  /** u8 max concurrent rooms. */
  MAX_ROOMS: 0x0002,
  /** Exchange info (repeatable). */
  EXCHANGE_INFO: 0x0003,
  /** Room-info structure. */
  ROOM_INFO: 0x0004,
} as const;

/** Room and exchange TLV types (docs/protocol.md §3.6, joscar `AbstractChatInfo`). */
export const RoomTlv = {
  /** Fully qualified room name. */
  FULLY_QUALIFIED_NAME: 0x006a,
  /** u16 flags: 1 evilable, 2 nav-only, 4 instancing, 8 peek. */
  FLAGS: 0x00c9,
  /** u32 creation time (Unix s). */
  CREATION_TIME: 0x00ca,
  /** u16 max message length. */
  MAX_MESSAGE_LENGTH: 0x00d1,
  /** u16 max occupancy. */
  MAX_OCCUPANCY: 0x00d2,
  /** Room name. */
  NAME: 0x00d3,
  /** Exchange info: URL. */
  EXCHANGE_URL: 0x00d4,
  /** u8 create permissions. */
  CREATE_PERMISSIONS: 0x00d5,
  /** Charset 1. */
  CHARSET1: 0x00d6,
  /** Language 1. */
  LANGUAGE1: 0x00d7,
  /** Charset 2. */
  CHARSET2: 0x00d8,
  /** Language 2. */
  LANGUAGE2: 0x00d9,
  /** u16 max visible message length. */
  MAX_VISIBLE_MESSAGE_LENGTH: 0x00da,
  /** Content type: `text/x-aolrtf`, or `application/pkcs7-mime` for a secure room (§7.1). */
  CONTENT_TYPE: 0x00db,
} as const;

/** Exchange-info TLV types that are not room TLVs (docs/protocol.md §3.6). */
export const ExchangeTlv = {
  /** u16 class permissions. */
  CLASS_PERMISSIONS: 0x0002,
  /** u16 max rooms. */
  MAX_ROOMS: 0x0003,
  /** u16 max room name length. */
  MAX_NAME_LENGTH: 0x0004,
} as const;

/** The content type of a plain room. */
export const CONTENT_TYPE_PLAIN = 'text/x-aolrtf';
/** The content type of a secure room (docs/protocol.md §7.1). */
export const CONTENT_TYPE_SECURE = 'application/pkcs7-mime';
/** The cookie a client sends in `0D/08` to create a room. */
export const CREATE_COOKIE = 'create';
/** The instance a client sends in `0D/08` (joscar `INSTANCE_LAST`). */
export const INSTANCE_LAST = 0xffff;

/**
 * Mini room info: which room (docs/protocol.md §3.6, §3.7): u16 exchange (4 = user-created rooms), u8-length room
 * cookie bytes (ASCII), u16 instance.
 */
export const MiniRoomInfo = record({ exchange: u16, cookie: block08, instance: u16 }, { capacity: 24 });
/** Mini room info: which room. */
export type MiniRoomInfo = Infer<typeof MiniRoomInfo>;

/** A room-info structure (`0D/08` body, `0D/09` TLV 0x0004, `0E/02` body). */
export interface RoomInfo extends MiniRoomInfo {
  /** Detail level (OOS writes 2, joscar's create 1). */
  detail: number;
  /** Room TLVs. */
  tlvs: TlvList;
}

/** Reads mini room info at the reader. */
export const readMiniRoomInfo: (r: ByteReader) => MiniRoomInfo = MiniRoomInfo.read;

/** Decodes mini room info that fills `buf` (TLV 0x0001 of `01/04`). */
export const decodeMiniRoomInfo: (buf: Uint8Array) => MiniRoomInfo = MiniRoomInfo.decode;

/** Writes mini room info (RangeError for a cookie over 255 bytes). */
export function writeMiniRoomInfo(w: ByteWriter, m: MiniRoomInfo): ByteWriter {
  MiniRoomInfo.write(w, m);
  return w;
}

/** Encodes mini room info. */
export const encodeMiniRoomInfo: (m: MiniRoomInfo) => Uint8Array = MiniRoomInfo.encode;

/**
 * The room-info structure (docs/protocol.md §3.6; `0D/08` body, `0D/09` TLV 0x0004, `0E/02` body) with at most
 * `maxTlvs` TLVs: mini room info, u8 detail level, counted TLV block. It ends its field, so TLVs are read to the end
 * whatever the count says (joscar writes 0, §9.9); encoded with the real count (what OOS, Pidgin and joscar's reader
 * all accept).
 */
function roomInfoCodec(maxTlvs: number) {
  return record({
    exchange: u16, cookie: block08, instance: u16, detail: u8,
    // joscar's create sends only the u8 type and u16 "code" before its TLVs; a body that stops after the detail
    // level has no TLVs.
    tlvs: orEmptyAtEnd(tlvCounted('to-end', maxTlvs), () => new TlvList()),
  }, { capacity: 128 });
}

/** The room-info structure with at most 64 TLVs (see `roomInfoCodec`). */
export const RoomInfoCodec = roomInfoCodec(64);

/**
 * Decodes a room-info structure that ends its field (`0D/08` body, `0E/02` body, the value of `0D/09` TLV
 * 0x0004): TLVs are read to the end whatever the count says (joscar writes 0, §9.9), at most `maxTlvs`.
 */
export function decodeRoomInfo(buf: Uint8Array, maxTlvs = 64): RoomInfo {
  return (maxTlvs === 64 ? RoomInfoCodec : roomInfoCodec(maxTlvs)).decode(buf);
}

/** Encodes a room-info structure with a real TLV count (what OOS, Pidgin and joscar's reader all accept). */
export const encodeRoomInfo: (info: MiniRoomInfo & { detail: number; tlvs: readonly Tlv[] }) => Uint8Array = RoomInfoCodec.encode;

/** `0D/03` request exchange info (docs/protocol.md §3.6): u16 exchange; bytes after it are ignored. */
export const SNAC_0x0D_0x03_ChatNavRequestExchangeInfo = body(u16, { trailing: 'ignore' });

/** Decodes `0D/03`: u16 exchange. */
export const decodeExchangeInfoQuery: (body: Uint8Array) => number = SNAC_0x0D_0x03_ChatNavRequestExchangeInfo.decode;

/** `0D/04` request room info (docs/protocol.md §3.6): mini room info, then an optional u8 detail level (ignored). */
export const SNAC_0x0D_0x04_ChatNavRequestRoomInfo = body(MiniRoomInfo, { trailing: 'ignore' });

/** Decodes `0D/04`: mini room info, then an optional u8 detail level. */
export const decodeRoomInfoQuery: (body: Uint8Array) => MiniRoomInfo = SNAC_0x0D_0x04_ChatNavRequestRoomInfo.decode;

/** One exchange as `0D/09` TLV 0x0003 carries it. */
export interface ExchangeInfo {
  /** Exchange number. */
  exchange: number;
  /** Exchange TLVs (room TLVs plus {@link ExchangeTlv}). */
  tlvs: readonly Tlv[];
}

/** What a `0D/09` carries (each part optional). */
export interface NavInfo {
  /** TLV 0x0002: max concurrent rooms. */
  maxRooms?: number;
  /** TLV 0x0003, one per exchange. */
  exchanges?: readonly ExchangeInfo[];
  /** TLV 0x0004: an encoded room-info structure ({@link encodeRoomInfo}). */
  room?: Uint8Array;
}

/** Encodes `0D/09`. */
export function encodeNavInfo(n: NavInfo): Uint8Array {
  const list: Tlv[] = [];
  if (n.maxRooms !== undefined) list.push(tlvU8(NavInfoTlv.MAX_ROOMS, n.maxRooms));
  for (const x of n.exchanges ?? []) list.push(tlv(NavInfoTlv.EXCHANGE_INFO, writeTlvCountedBlock(new ByteWriter(64).u16(x.exchange), x.tlvs).finish()));
  if (n.room) list.push(tlv(NavInfoTlv.ROOM_INFO, n.room));
  return writeTlvRestList(new ByteWriter(128), list).finish();
}

/**
 * AOL-style room cookie `!aol://2719:10-<exchange>-<URL-encoded name>` (docs/protocol.md §3.6): joscar and
 * joustsim find a room's name only in that form (`OscarTools.getRoomNameFromCookie`); OOS's `4-0-name` is not
 * understood by them.
 */
export function roomCookie(exchange: number, name: string): string {
  return `!aol://2719:10-${exchange}-${encodeURIComponent(name)}`;
}

const ROOM_COOKIE_RE = /^!aol:\/\/\d{1,9}:\d{1,9}-(\d{1,5})-(.*)$/s;

/** Exchange and name of an AOL-style room cookie; undefined when `cookie` is not one. */
export function parseRoomCookie(cookie: string): { exchange: number; name: string } | undefined {
  const m = ROOM_COOKIE_RE.exec(cookie);
  if (!m) return undefined;
  try {
    return { exchange: Number(m[1]), name: decodeURIComponent(m[2]!) };
  } catch {
    return undefined;
  }
}

/** The cookie bytes as text (ASCII in practice; invalid bytes replaced). */
export function cookieText(cookie: Uint8Array): string {
  return decodeText(cookie);
}
