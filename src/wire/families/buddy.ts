/** Family 0x0003 Buddy (docs/protocol.md §3.3): rights, client-side buddy list edits, arrival/departure notices. */
import { ByteReader, ByteWriter, WireError, decodeText } from '../bytes.js';
import { tlvU16, writeTlvRestList } from '../tlv.js';
import { readUserInfo, type UserInfo } from '../user-info.js';

/** Buddy family id. */
export const BUDDY_FAMILY = 0x0003;

/** Buddy subtypes. */
export const BuddySubtype = {
  ERROR: 0x01,
  RIGHTS_QUERY: 0x02,
  RIGHTS_REPLY: 0x03,
  ADD_BUDDIES: 0x04,
  DEL_BUDDIES: 0x05,
  ARRIVED: 0x0b,
  DEPARTED: 0x0c,
  ADD_TEMP_BUDDIES: 0x0f,
  DEL_TEMP_BUDDIES: 0x10,
} as const;

/** Encodes 03/03: TLVs 0x01 max buddies, 0x02 max watchers, 0x03 max ICQ broadcast, 0x04 max temp buddies. */
export function encodeRights(maxBuddies: number, maxWatchers: number): Uint8Array {
  return writeTlvRestList(new ByteWriter(24), [
    tlvU16(0x0001, maxBuddies),
    tlvU16(0x0002, maxWatchers),
    tlvU16(0x0003, 220),
    tlvU16(0x0004, 160),
  ]).finish();
}

/** Decodes a list of u8-length screen names (03/04, 03/05, 09/05..08), at most `max`. */
export function decodeScreenNameList(body: Uint8Array, max = 1000): string[] {
  const r = new ByteReader(body);
  const out: string[] = [];
  while (!r.done) {
    if (out.length >= max) throw new WireError('TOO_MANY', r.offset, `more than ${max} screen names`);
    const sn = r.block8('screen name');
    if (sn.length > 0) out.push(decodeText(sn));
  }
  return out;
}

/** Encodes a list of screen names. */
export function encodeScreenNameList(names: readonly string[]): Uint8Array {
  const w = new ByteWriter(names.length * 17);
  for (const n of names) w.string8(n);
  return w.finish();
}

/** Decodes 03/0B arrival or 03/0C departure: one or more user-info blocks (at most 1000). */
export function decodeUserInfoList(body: Uint8Array): UserInfo[] {
  const r = new ByteReader(body);
  const out: UserInfo[] = [];
  while (r.remaining > 0) {
    if (out.length >= 1000) throw new WireError('TOO_MANY', r.offset, 'more than 1000 user-info blocks');
    out.push(readUserInfo(r));
  }
  return out;
}

/** Encodes 03/0C: SN, u16 warning 0, TLV count 1, TLV 0x0001 class 0 (R's departure shape). */
export function encodeDeparted(screenName: string): Uint8Array {
  return new ByteWriter(24).string8(screenName).u16(0).u16(1).u16(0x0001).u16(2).u16(0).finish();
}
