/** Family 0x0013 Feedbag / SSI (docs/protocol.md §3.9): server-stored buddy lists. */
import { ByteReader, ByteWriter, WireError } from '../bytes.js';
import { DEFAULT_MAX_TLVS, readTlvRestList } from '../tlv.js';
import { array16, block16, body, checked, record, repeat, reserved, tlvFields, tlvReq, string16, u16, u32wrap, u8, type Infer, type InferInput } from '../codec.js';

/** Feedbag family id. */
export const FEEDBAG_FAMILY = 0x0013;

/** Feedbag subtypes. */
export const FeedbagSubtype = {
  ERROR: 0x01,
  RIGHTS_QUERY: 0x02,
  RIGHTS_REPLY: 0x03,
  QUERY: 0x04,
  QUERY_IF_MODIFIED: 0x05,
  REPLY: 0x06,
  USE: 0x07,
  INSERT_ITEM: 0x08,
  UPDATE_ITEM: 0x09,
  DELETE_ITEM: 0x0a,
  STATUS: 0x0e,
  REPLY_NOT_MODIFIED: 0x0f,
  START_CLUSTER: 0x11,
  END_CLUSTER: 0x12,
} as const;

/** Item classes. */
export const FeedbagClass = { BUDDY: 0x00, GROUP: 0x01, PERMIT: 0x02, DENY: 0x03, PD_INFO: 0x04 } as const;

/** Attribute TLV types used by the server. */
export const FeedbagAttr = { ORDER: 0x00c8, PD_MODE: 0x00ca, PD_MASK: 0x00cb } as const;

/**
 * One feedbag item (docs/protocol.md §3.9), the one declaration of it that wire, store and server ports share:
 * - `name`: string16, UTF-8 — a screen name for buddy/permit/deny items, a group name for groups;
 * - `groupId`: u16 group id (0 = root group / top-level items);
 * - `itemId`: u16 item id (0 for a group's own item);
 * - `classId`: u16 class, see {@link FeedbagClass} (0 buddy, 1 group, 2 permit, 3 deny, 4 PD info, ...);
 * - `attributes`: the attribute TLVs exactly as sent, without their u16 length prefix (a view, kept opaque so no
 *   client's extensions are lost); decoding checks they parse as a TLV rest-list.
 */
export const FeedbagItem = record({
  name: string16,
  groupId: u16,
  itemId: u16,
  classId: u16,
  attributes: checked(block16, (a) => void readTlvRestList(new ByteReader(a), DEFAULT_MAX_TLVS)),
});
/** One feedbag item: name, group id, item id, class, raw attribute TLV bytes (see {@link FeedbagItem}). */
export type FeedbagItemWire = Infer<typeof FeedbagItem>;

/** Reads one item; checks the attributes parse as TLVs. */
export const readFeedbagItem: (r: ByteReader) => FeedbagItemWire = FeedbagItem.read;

/** Writes one item. */
export function writeFeedbagItem(w: ByteWriter, item: FeedbagItemWire): ByteWriter {
  FeedbagItem.write(w, item);
  return w;
}

/** 13/08 insert, 13/09 update, 13/0A delete (docs/protocol.md §3.9): items one after another, at most 1000. */
export const SNAC_0x13_0x08_FeedbagInsertItem = body(repeat(FeedbagItem, { max: 1000 }), { capacity: 256 });

/** Decodes 13/08, 13/09, 13/0A: repeated items (at most `max`). */
export function decodeItems(body: Uint8Array, max = 1000): FeedbagItemWire[] {
  return max === 1000 ? SNAC_0x13_0x08_FeedbagInsertItem.decode(body) : itemsWithMax(max).decode(body);
}

function itemsWithMax(max: number): typeof SNAC_0x13_0x08_FeedbagInsertItem {
  return body(repeat(FeedbagItem, { max }));
}

/** Encodes the body of 13/08, 13/09 and 13/0A: the items one after another. */
export const encodeItems: (items: readonly FeedbagItemWire[]) => Uint8Array = SNAC_0x13_0x08_FeedbagInsertItem.encode;

/**
 * 13/06 feedbag reply (docs/protocol.md §3.9): u8 version (written 0, ignored on decode), u16 count, items, u32
 * last-modified (Unix seconds). Clients ignore bytes after it.
 */
export const SNAC_0x13_0x06_FeedbagReply = record({ version: reserved(u8, 0), items: array16(FeedbagItem, { max: 2000 }), lastModified: u32wrap }, { trailing: 'ignore', capacity: 1024 });
/** 13/06 feedbag reply. */
export type SNAC_0x13_0x06_FeedbagReply = Infer<typeof SNAC_0x13_0x06_FeedbagReply>;

/** Encodes 13/06: u8 version 0, u16 count, items, u32 last-modified (Unix seconds). */
export function encodeReply(items: readonly FeedbagItemWire[], lastModified: number): Uint8Array {
  return SNAC_0x13_0x06_FeedbagReply.encode({ items, lastModified });
}

/**
 * Decodes 13/05: u32 last-modified, then the item count — a u8 in R, a u16 in joscar (docs/protocol.md §9.9);
 * the body length tells them apart (a variant shape, hand-written).
 */
export function decodeQueryIfModified(body: Uint8Array): { lastModified: number; count: number } {
  const r = new ByteReader(body);
  const lastModified = r.u32('last modified');
  const count = r.remaining >= 2 ? r.u16('count') : r.u8('count');
  return { lastModified, count };
}

/** 13/0F reply not modified (docs/protocol.md §3.9): u32 last-modified, u16 item count. */
export const SNAC_0x13_0x0F_FeedbagReplyNotModified = record({ lastModified: u32wrap, count: u16 });

/** Encodes 13/0F not-modified: u32 last-modified, u16 count. */
export function encodeNotModified(lastModified: number, count: number): Uint8Array {
  return SNAC_0x13_0x0F_FeedbagReplyNotModified.encode({ lastModified, count });
}

/** 13/0E status (docs/protocol.md §3.9): one u16 status per item. */
export const SNAC_0x13_0x0E_FeedbagStatus = body(repeat(u16));

/** Encodes 13/0E: one u16 status per item. */
export const encodeStatus: (codes: readonly number[]) => Uint8Array = SNAC_0x13_0x0E_FeedbagStatus.encode;

/** 13/03 rights reply (docs/protocol.md §3.9): TLV 0x0004 = u16 max items per class (classes 0..0x14). */
export const SNAC_0x13_0x03_FeedbagRightsReply = tlvFields({ maxPerClass: tlvReq(0x0004, repeat(u16)) }, { capacity: 64 });
/** 13/03 rights reply. */
export type SNAC_0x13_0x03_FeedbagRightsReply = InferInput<typeof SNAC_0x13_0x03_FeedbagRightsReply>;

/** Encodes 13/03: TLV 0x0004 = u16 max items per class (classes 0..0x14). */
export function encodeRights(maxPerClass: readonly number[]): Uint8Array {
  return SNAC_0x13_0x03_FeedbagRightsReply.encode({ maxPerClass });
}

/** The u8 PD mode (attribute 0x00CA) of a class-4 item's attributes, if present. */
export function pdModeOf(attributes: Uint8Array): number | undefined {
  try {
    const t = readTlvRestList(new ByteReader(attributes)).bytes(FeedbagAttr.PD_MODE);
    return t !== undefined && t.length >= 1 ? t[0] : undefined;
  } catch (e) {
    if (WireError.is(e)) return undefined;
    throw e;
  }
}

/** Decodes 13/06 (client side): u8 version, u16 count (at most `max`), items, u32 last-modified (Unix seconds). */
export function decodeReply(body: Uint8Array, max = 2000): { items: FeedbagItemWire[]; lastModified: number } {
  return max === 2000 ? SNAC_0x13_0x06_FeedbagReply.decode(body) : replyWithMax(max).decode(body);
}

function replyWithMax(max: number): typeof SNAC_0x13_0x06_FeedbagReply {
  return record({ version: reserved(u8, 0), items: array16(FeedbagItem, { max }), lastModified: u32wrap }, { trailing: 'ignore' });
}

/**
 * Decodes 13/0E: one u16 status per item (0 ok, 2 not found, 0x0A id in use, 0x0C too many, 0x10 bad format); a
 * stray odd byte at the end is ignored (client-side leniency the declaration's strict decoder would not allow).
 */
export function decodeStatus(body: Uint8Array): number[] {
  const r = new ByteReader(body);
  const out: number[] = [];
  while (r.remaining >= 2) out.push(r.u16('status'));
  return out;
}
