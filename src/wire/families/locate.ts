/**
 * Family 0x0002 Locate (docs/protocol.md §3.2): rights, set info (profile, away, capabilities, certificate-info block),
 * user-info queries (old 02/05 and new 02/15) and the 02/06 reply.
 */
import { ByteReader, ByteWriter, WireError, decodeText } from '../bytes.js';
import { TlvList, readTlvRestList, tlv, tlvString, tlvU16, writeTlvRestList, type Tlv } from '../tlv.js';
import { decodeCapabilityBlock } from '../capabilities.js';
import { readUserInfo, type UserInfo } from '../user-info.js';

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

/** Encodes 02/03: TLVs 0x01 profile, 0x02 caps, 0x03 find-by-email, 0x04 cert block, 0x05 short caps. */
export function encodeRights(r: LocateRights): Uint8Array {
  return writeTlvRestList(new ByteWriter(32), [
    tlvU16(0x0001, r.maxProfile),
    tlvU16(0x0002, r.maxCapabilities),
    tlvU16(0x0003, 10),
    tlvU16(0x0004, r.maxCertBlock),
    tlvU16(0x0005, r.maxCapabilities),
  ]).finish();
}

/** 02/04 set info; every field is "unchanged" when absent. */
export interface SNAC_0x02_0x04_LocateSetInfo {
  /** Profile MIME type. */
  profileMime?: string;
  /** Profile bytes. */
  profile?: Uint8Array;
  /** Away MIME type. */
  awayMime?: string;
  /** Away text; an empty value means "not away". */
  away?: Uint8Array;
  /** Capability UUIDs (16 bytes each). */
  capabilities?: Uint8Array[];
  /** Certificate-info block bytes, verbatim (§6.1). */
  certInfo?: Uint8Array;
}

/** Decodes 02/04. */
export function decodeSetInfo(body: Uint8Array): SNAC_0x02_0x04_LocateSetInfo {
  const t = readTlvRestList(new ByteReader(body));
  const out: SNAC_0x02_0x04_LocateSetInfo = {};
  const pm = t.string(LocateTlv.PROFILE_MIME);
  if (pm !== undefined) out.profileMime = pm;
  const p = t.bytes(LocateTlv.PROFILE);
  if (p !== undefined) out.profile = p;
  const am = t.string(LocateTlv.AWAY_MIME);
  if (am !== undefined) out.awayMime = am;
  const a = t.bytes(LocateTlv.AWAY);
  if (a !== undefined) out.away = a;
  const caps = t.bytes(LocateTlv.CAPABILITIES);
  if (caps !== undefined) out.capabilities = decodeCapabilityBlock(caps);
  const cert = t.bytes(LocateTlv.CERT_INFO);
  if (cert !== undefined) out.certInfo = cert;
  return out;
}

/** Encodes 02/04: TLVs 0x0001..0x0006 for the fields present, in type order (capabilities concatenated). */
export function encodeSetInfo(info: SNAC_0x02_0x04_LocateSetInfo): Uint8Array {
  const list: Tlv[] = [];
  if (info.profileMime !== undefined) list.push(tlvString(LocateTlv.PROFILE_MIME, info.profileMime));
  if (info.profile !== undefined) list.push(tlv(LocateTlv.PROFILE, info.profile));
  if (info.awayMime !== undefined) list.push(tlvString(LocateTlv.AWAY_MIME, info.awayMime));
  if (info.away !== undefined) list.push(tlv(LocateTlv.AWAY, info.away));
  if (info.capabilities !== undefined) {
    const caps = new Uint8Array(info.capabilities.length * 16);
    info.capabilities.forEach((c, i) => caps.set(c, i * 16));
    list.push(tlv(LocateTlv.CAPABILITIES, caps));
  }
  if (info.certInfo !== undefined) list.push(tlv(LocateTlv.CERT_INFO, info.certInfo));
  const size = 256 + (info.profile?.length ?? 0) + (info.away?.length ?? 0) + (info.certInfo?.length ?? 0);
  return writeTlvRestList(new ByteWriter(size), list).finish();
}

/** A user-info query (02/05 mapped onto 02/15 flags, or 02/15 itself). */
export interface LocateUserInfoQuery {
  /** Requested items as 02/15 flags. */
  flags: number;
  /** Target screen name. */
  screenName: string;
}

/** Decodes 02/15: u32 flags, SN. */
export function decodeUserInfoQuery2(body: Uint8Array): LocateUserInfoQuery {
  const r = new ByteReader(body);
  const flags = r.u32('flags');
  const sn = r.block8('screen name');
  if (sn.length === 0) throw new WireError('BAD_VALUE', r.offset, 'empty screen name');
  return { flags, screenName: decodeText(sn) };
}

/** Encodes 02/15: u32 flags, SN. */
export function encodeUserInfoQuery2(q: LocateUserInfoQuery): Uint8Array {
  return new ByteWriter(40).u32(q.flags).string8(q.screenName).finish();
}

/**
 * Decodes 02/05: u16 type, SN. The type is an enum in joscar/pidgin (1 profile, 3 away, 4 caps) and a bitmask in
 * R (1 profile, 2 away) — docs/protocol.md §9.9 conflict; we take 1 profile, 2 or 3 away, 4 caps.
 */
export function decodeUserInfoQuery(body: Uint8Array): LocateUserInfoQuery {
  const r = new ByteReader(body);
  const type = r.u16('type');
  const sn = r.block8('screen name');
  if (sn.length === 0) throw new WireError('BAD_VALUE', r.offset, 'empty screen name');
  const flags = type === 1 ? InfoQueryFlag.PROFILE : type === 2 || type === 3 ? InfoQueryFlag.AWAY : type === 4 ? InfoQueryFlag.CAPABILITIES : 0;
  return { flags, screenName: decodeText(sn) };
}

/** Encodes 02/06: the user-info block (already encoded), then the requested TLVs. */
export function encodeUserInfoReply(userInfoBlock: Uint8Array, tlvs: readonly Tlv[]): Uint8Array {
  const w = new ByteWriter(userInfoBlock.length + 64);
  w.bytes(userInfoBlock);
  return writeTlvRestList(w, tlvs).finish();
}

/** A decoded 02/06. */
export interface SNAC_0x02_0x06_LocateUserInfoReply {
  /** The user-info block. */
  user: UserInfo;
  /** The requested items (0x0005 caps, 0x0006 cert-info block, ...). */
  tlvs: TlvList;
}

/** Decodes 02/06: the user-info block, then the requested TLVs. */
export function decodeUserInfoReply(body: Uint8Array): SNAC_0x02_0x06_LocateUserInfoReply {
  const r = new ByteReader(body);
  const user = readUserInfo(r);
  return { user, tlvs: readTlvRestList(r) };
}

/** Re-export for callers that build TLV lists. */
export { TlvList };
