/** Family 0x0003 Buddy (docs/protocol.md §3.3): rights, client-side buddy list edits, arrival/departure notices. */
import { tlvU16 } from '../tlv.js';
import { UserInfoBlock, type UserInfo } from '../user-info.js';
import { body, repeat, string08, tlvFields, tlvReq, u16, type Infer } from '../codec.js';

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

/** 03/03 buddy rights reply (docs/protocol.md §3.3): TLVs 0x01 max buddies, 0x02 max watchers, 0x03 max ICQ broadcast, 0x04 max temp buddies. */
export const SNAC_0x03_0x03_BuddyRightsReply = tlvFields({
  maxBuddies: tlvReq(0x0001, u16),
  maxWatchers: tlvReq(0x0002, u16),
  maxIcqBroadcast: tlvReq(0x0003, u16),
  maxTempBuddies: tlvReq(0x0004, u16),
}, { capacity: 24 });
/** 03/03 buddy rights reply. */
export type SNAC_0x03_0x03_BuddyRightsReply = Infer<typeof SNAC_0x03_0x03_BuddyRightsReply>;

/** Encodes 03/03 with certim's fixed ICQ-broadcast (220) and temp-buddy (160) maxima. */
export function encodeRights(maxBuddies: number, maxWatchers: number): Uint8Array {
  return SNAC_0x03_0x03_BuddyRightsReply.encode({ maxBuddies, maxWatchers, maxIcqBroadcast: 220, maxTempBuddies: 160 });
}

const nonEmpty = (s: string): boolean => s.length > 0;

/**
 * 03/04 add buddies, 03/05 remove buddies (and 09/05..08, docs/protocol.md §3.3, §3.5): repeated string08 screen
 * names; empty names are dropped on decode, at most 1000 kept.
 */
export const SNAC_0x03_0x04_BuddyAddBuddies = body(repeat(string08, { max: 1000, keep: nonEmpty }), { capacity: 256 });

/** Decodes a list of u8-length screen names (03/04, 03/05, 09/05..08), at most `max`. */
export function decodeScreenNameList(body: Uint8Array, max = 1000): string[] {
  return max === 1000 ? SNAC_0x03_0x04_BuddyAddBuddies.decode(body) : bodyWithMax(max).decode(body);
}

function bodyWithMax(max: number): typeof SNAC_0x03_0x04_BuddyAddBuddies {
  return body(repeat(string08, { max, keep: nonEmpty }));
}

/** Encodes a list of screen names. */
export const encodeScreenNameList: (names: readonly string[]) => Uint8Array = SNAC_0x03_0x04_BuddyAddBuddies.encode;

/** 03/0B arrived and 03/0C departed (docs/protocol.md §3.3): one or more user-info blocks (at most 1000). */
export const SNAC_0x03_0x0B_BuddyArrived = body(repeat(UserInfoBlock, { max: 1000 }), { capacity: 128 });

/** Decodes 03/0B arrival or 03/0C departure: one or more user-info blocks (at most 1000). */
export const decodeUserInfoList: (body: Uint8Array) => UserInfo[] = SNAC_0x03_0x0B_BuddyArrived.decode;

/** Encodes 03/0C: SN, u16 warning 0, TLV count 1, TLV 0x0001 class 0 (R's departure shape). */
export function encodeDeparted(screenName: string): Uint8Array {
  return SNAC_0x03_0x0B_BuddyArrived.encode([{ screenName, tlvs: [tlvU16(0x0001, 0)] }]);
}
