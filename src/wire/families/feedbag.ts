/** Family 0x0013 Feedbag / SSI (docs/protocol.md §3.9): server-stored buddy lists. */
import { ByteReader, ByteWriter, WireError, decodeText } from '../bytes.js';
import { DEFAULT_MAX_TLVS, readTlvRestList, tlv, writeTlvRestList } from '../tlv.js';

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

/** One item: name, group id, item id, class, raw attribute TLV bytes. */
export interface FeedbagItemWire {
  /** Name. */
  name: string;
  /** Group id. */
  groupId: number;
  /** Item id. */
  itemId: number;
  /** Class id. */
  classId: number;
  /** Attribute TLVs without the u16 length prefix. */
  attributes: Uint8Array;
}

/** Reads one item; checks the attributes parse as TLVs. */
export function readFeedbagItem(r: ByteReader): FeedbagItemWire {
  const name = decodeText(r.block16('item name'));
  const groupId = r.u16('group id');
  const itemId = r.u16('item id');
  const classId = r.u16('class');
  const attributes = r.block16('attributes');
  readTlvRestList(new ByteReader(attributes), DEFAULT_MAX_TLVS);
  return { name, groupId, itemId, classId, attributes };
}

/** Writes one item. */
export function writeFeedbagItem(w: ByteWriter, item: FeedbagItemWire): ByteWriter {
  return w.string16(item.name).u16(item.groupId).u16(item.itemId).u16(item.classId).block16(item.attributes);
}

/** Decodes 13/08, 13/09, 13/0A: repeated items (at most `max`). */
export function decodeItems(body: Uint8Array, max = 1000): FeedbagItemWire[] {
  const r = new ByteReader(body);
  const out: FeedbagItemWire[] = [];
  while (!r.done) {
    if (out.length >= max) throw new WireError('TOO_MANY', r.offset, `more than ${max} feedbag items`);
    out.push(readFeedbagItem(r));
  }
  return out;
}

/** Encodes 13/06: u8 version 0, u16 count, items, u32 last-modified (Unix seconds). */
export function encodeReply(items: readonly FeedbagItemWire[], lastModified: number): Uint8Array {
  const w = new ByteWriter(1024).u8(0).u16(items.length);
  for (const item of items) writeFeedbagItem(w, item);
  return w.u32(lastModified >>> 0).finish();
}

/**
 * Decodes 13/05: u32 last-modified, then the item count — a u8 in R, a u16 in joscar (docs/protocol.md §9.9);
 * the body length tells them apart.
 */
export function decodeQueryIfModified(body: Uint8Array): { lastModified: number; count: number } {
  const r = new ByteReader(body);
  const lastModified = r.u32('last modified');
  const count = r.remaining >= 2 ? r.u16('count') : r.u8('count');
  return { lastModified, count };
}

/** Encodes 13/0F not-modified: u32 last-modified, u16 count. */
export function encodeNotModified(lastModified: number, count: number): Uint8Array {
  return new ByteWriter(6).u32(lastModified >>> 0).u16(count).finish();
}

/** Encodes 13/0E: one u16 status per item. */
export function encodeStatus(codes: readonly number[]): Uint8Array {
  const w = new ByteWriter(codes.length * 2);
  for (const c of codes) w.u16(c);
  return w.finish();
}

/** Encodes 13/03: TLV 0x0004 = u16 max items per class (classes 0..0x14), plus 0x0002/0x0003 maxima. */
export function encodeRights(maxPerClass: readonly number[]): Uint8Array {
  const arr = new ByteWriter(maxPerClass.length * 2);
  for (const m of maxPerClass) arr.u16(m);
  return writeTlvRestList(new ByteWriter(64), [tlv(0x0004, arr.finish())]).finish();
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

/** Decodes 13/06 (client side): u8 version, u16 count, items, u32 last-modified (Unix seconds). */
export function decodeReply(body: Uint8Array, max = 2000): { items: FeedbagItemWire[]; lastModified: number } {
  const r = new ByteReader(body);
  r.u8('version');
  const count = r.u16('item count');
  if (count > max) throw new WireError('TOO_MANY', 1, `more than ${max} feedbag items`);
  const items: FeedbagItemWire[] = [];
  for (let i = 0; i < count; i++) items.push(readFeedbagItem(r));
  return { items, lastModified: r.u32('last modified') };
}

/** Encodes the body of 13/08, 13/09 and 13/0A: the items one after another. */
export function encodeItems(items: readonly FeedbagItemWire[]): Uint8Array {
  const w = new ByteWriter(256);
  for (const item of items) writeFeedbagItem(w, item);
  return w.finish();
}

/** Decodes 13/0E: one u16 status per item (0 ok, 2 not found, 0x0A id in use, 0x0C too many, 0x10 bad format). */
export function decodeStatus(body: Uint8Array): number[] {
  const r = new ByteReader(body);
  const out: number[] = [];
  while (r.remaining >= 2) out.push(r.u16('status'));
  return out;
}
