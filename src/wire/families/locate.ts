/**
 * Family 0x0002 Locate (docs/protocol.md §3.2): rights, set info (profile, away, capabilities, certificate-info block),
 * user-info queries (old 02/05 and new 02/15) and the 02/06 reply.
 */
import { ByteWriter } from '../bytes.js';
import { TlvList, writeTlvRestList, type Tlv } from '../tlv.js';
import { UserInfoBlock } from '../user-info.js';
import { fixedBytes, nonEmptyString08 as nonEmptyScreenName, record, repeat, restBytes, restString, tlvFields, tlvOpt, tlvReq, tlvRest, u16, u32, type Infer } from '../codec.js';

/** Locate family id. */
export const LOCATE_FAMILY = 0x0002;

/** Locate subtypes. */
export const LocateSubtype = {
  ERROR: 0x01,
  RIGHTS_QUERY: 0x02,
  RIGHTS_REPLY: 0x03,
  SET_INFO: 0x04,
  USER_INFO_QUERY: 0x05,
  USER_INFO_REPLY: 0x06,
  SET_DIR_INFO: 0x09,
  SET_DIR_REPLY: 0x0a,
  GET_DIR_INFO: 0x0b,
  GET_DIR_REPLY: 0x0c,
  SET_KEYWORD_INFO: 0x0f,
  SET_KEYWORD_REPLY: 0x10,
  USER_INFO_QUERY2: 0x15,
} as const;

/** 02/04 and 02/06 TLV types. */
export const LocateTlv = {
  PROFILE_MIME: 0x0001,
  PROFILE: 0x0002,
  AWAY_MIME: 0x0003,
  AWAY: 0x0004,
  CAPABILITIES: 0x0005,
  CERT_INFO: 0x0006,
} as const;

/** 02/15 request flags. */
export const InfoQueryFlag = { PROFILE: 0x01, AWAY: 0x02, CAPABILITIES: 0x04, CERTIFICATES: 0x08 } as const;

/** Limits announced in 02/03. */
export interface LocateRights {
  /** Max profile length. */
  maxProfile: number;
  /** Max capabilities. */
  maxCapabilities: number;
  /** Max cert-info block length (must hold two RSA-3072 certs). */
  maxCertBlock: number;
}

/** 02/03 rights reply (docs/protocol.md §3.2): TLVs 0x01 profile, 0x02 caps, 0x03 find-by-email, 0x04 cert block, 0x05 short caps. */
export const SNAC_0x02_0x03_LocateRightsReply = tlvFields({
  maxProfile: tlvReq(0x0001, u16),
  maxCapabilities: tlvReq(0x0002, u16),
  maxFindByEmail: tlvReq(0x0003, u16),
  maxCertBlock: tlvReq(0x0004, u16),
  maxShortCapabilities: tlvReq(0x0005, u16),
}, { capacity: 32 });

/** Encodes 02/03: TLVs 0x01 profile, 0x02 caps, 0x03 find-by-email (10), 0x04 cert block, 0x05 short caps (= caps). */
export function encodeRights(r: LocateRights): Uint8Array {
  return SNAC_0x02_0x03_LocateRightsReply.encode({ ...r, maxFindByEmail: 10, maxShortCapabilities: r.maxCapabilities });
}

/**
 * 02/04 set info (docs/protocol.md §3.2); every field is "unchanged" when absent: TLV 0x0001 profile MIME type, 0x0002
 * profile bytes, 0x0003 away MIME type, 0x0004 away text (empty = not away), 0x0005 capability UUIDs (16 bytes each,
 * concatenated), 0x0006 certificate-info block bytes verbatim (§6.1). Encoded in type order.
 */
export const SNAC_0x02_0x04_LocateSetInfo = tlvFields({
  profileMime: tlvOpt(LocateTlv.PROFILE_MIME, restString),
  profile: tlvOpt(LocateTlv.PROFILE, restBytes),
  awayMime: tlvOpt(LocateTlv.AWAY_MIME, restString),
  away: tlvOpt(LocateTlv.AWAY, restBytes),
  capabilities: tlvOpt(LocateTlv.CAPABILITIES, repeat(fixedBytes(16))),
  certInfo: tlvOpt(LocateTlv.CERT_INFO, restBytes),
}, { capacity: 256 });
/** 02/04 set info; every field is "unchanged" when absent. */
export type SNAC_0x02_0x04_LocateSetInfo = Infer<typeof SNAC_0x02_0x04_LocateSetInfo>;

/** Decodes 02/04. */
export const decodeSetInfo: (body: Uint8Array) => SNAC_0x02_0x04_LocateSetInfo = SNAC_0x02_0x04_LocateSetInfo.decode;

/** Encodes 02/04: TLVs 0x0001..0x0006 for the fields present, in type order (capabilities concatenated). */
export const encodeSetInfo: (info: SNAC_0x02_0x04_LocateSetInfo) => Uint8Array = SNAC_0x02_0x04_LocateSetInfo.encode;

/** A user-info query (02/05 mapped onto 02/15 flags, or 02/15 itself). */
export interface LocateUserInfoQuery {
  /** Requested items as 02/15 flags. */
  flags: number;
  /** Target screen name. */
  screenName: string;
}

/** 02/15 user info query 2 (docs/protocol.md §3.2): u32 flags ({@link InfoQueryFlag}), non-empty string08 screen name. */
export const SNAC_0x02_0x15_LocateUserInfoQuery2 = record({ flags: u32, screenName: nonEmptyScreenName }, { trailing: 'ignore', capacity: 40 });

/** Decodes 02/15: u32 flags, SN. */
export const decodeUserInfoQuery2: (body: Uint8Array) => LocateUserInfoQuery = SNAC_0x02_0x15_LocateUserInfoQuery2.decode;

/** Encodes 02/15: u32 flags, SN. */
export const encodeUserInfoQuery2: (q: LocateUserInfoQuery) => Uint8Array = SNAC_0x02_0x15_LocateUserInfoQuery2.encode;

/** 02/05 user info query (docs/protocol.md §3.2): u16 type, non-empty string08 screen name. */
export const SNAC_0x02_0x05_LocateUserInfoQuery = record({ type: u16, screenName: nonEmptyScreenName }, { trailing: 'ignore' });

/**
 * Decodes 02/05: u16 type, SN. The type is an enum in joscar/pidgin (1 profile, 3 away, 4 caps) and a bitmask in
 * R (1 profile, 2 away) — docs/protocol.md §9.9 conflict; we take 1 profile, 2 or 3 away, 4 caps.
 */
export function decodeUserInfoQuery(body: Uint8Array): LocateUserInfoQuery {
  const { type, screenName } = SNAC_0x02_0x05_LocateUserInfoQuery.decode(body);
  const flags = type === 1 ? InfoQueryFlag.PROFILE : type === 2 || type === 3 ? InfoQueryFlag.AWAY : type === 4 ? InfoQueryFlag.CAPABILITIES : 0;
  return { flags, screenName };
}

/** Encodes 02/06: the user-info block (already encoded: the server splices a cached block), then the requested TLVs. */
export function encodeUserInfoReply(userInfoBlock: Uint8Array, tlvs: readonly Tlv[]): Uint8Array {
  const w = new ByteWriter(userInfoBlock.length + 64);
  w.bytes(userInfoBlock);
  return writeTlvRestList(w, tlvs).finish();
}

/** 02/06 user info reply (docs/protocol.md §3.2): the user-info block, then the requested TLVs (0x0005 caps, 0x0006 cert-info block, ...). */
export const SNAC_0x02_0x06_LocateUserInfoReply = record({ user: UserInfoBlock, tlvs: tlvRest() });
/** A decoded 02/06. */
export type SNAC_0x02_0x06_LocateUserInfoReply = Infer<typeof SNAC_0x02_0x06_LocateUserInfoReply>;

/** Decodes 02/06: the user-info block, then the requested TLVs. */
export const decodeUserInfoReply: (body: Uint8Array) => SNAC_0x02_0x06_LocateUserInfoReply = SNAC_0x02_0x06_LocateUserInfoReply.decode;

/** Re-export for callers that build TLV lists. */
export { TlvList };
