/**
 * The user info block (docs/protocol.md §4.1, `R:wire/snacs.go` TLVUserInfo, `JP/snaccmd/FullUserInfo.java`):
 *
 *   string08 screen name · u16 warning level (percent x 10) · u16 TLV count · TLVs
 *
 * It appears in buddy arrivals, `01/0F`, `02/06`, `04/07` (sender) and chat occupant lists; in `04/07` more
 * data follows it, so the TLV count is honoured exactly. joscar's writer (u8 warning, no count) is a bug we
 * do not port (§9.10).
 */
import { ByteReader, ByteWriter, WireError } from './bytes.js';
import { capabilityToString, decodeCapabilityBlock, decodeShortCapabilities, encodeCapabilityBlock, expandShortCapability, type CapabilityName } from './capabilities.js';
import { decodeExtraInfoBlocks, encodeExtraInfoBlocks, type ExtraInfoBlock } from './extra-info.js';
import { TlvList, readTlvCountedBlock, tlv, tlvU16, tlvU32, writeTlvCountedBlock, type Tlv } from './tlv.js';
import type { Codec } from './codec.js';

/** User-info TLV types (§4.1). */
export const UserInfoTlv = {
  UserClass: 0x0001,
  /** joscar: account created; pidgin's writer: member since (§9.9). */
  AccountCreated: 0x0002,
  OnlineSince: 0x0003,
  IdleMinutes: 0x0004,
  MemberSince: 0x0005,
  Status: 0x0006,
  IcqDirectConnect: 0x000c,
  Capabilities: 0x000d,
  SessionLength: 0x000f,
  AolSessionLength: 0x0010,
  Instance: 0x0014,
  ShortCapabilities: 0x0019,
  /** MD5 of the user's certificate-info block (§4.2). */
  CertInfoHash: 0x001b,
  BartInfo: 0x001d,
  Subscriptions: 0x001e,
  Flags2: 0x001f,
  PrimaryInstance: 0x0028,
} as const;

/** User class bits (TLV 0x0001). */
export const UserClass = {
  Unconfirmed: 0x0001,
  Admin: 0x0002,
  Aol: 0x0004,
  Commercial: 0x0008,
  Aim: 0x0010,
  Away: 0x0020,
  Icq: 0x0040,
  Wireless: 0x0080,
  Bot: 0x0400,
} as const;

/**
 * Most capabilities {@link UserInfo.capabilities} returns. AIM clients announce a few dozen; a block from a hostile
 * server can carry 32,000 short ones in 64 KB, and each becomes a 16-byte identifier and a 36-character string
 * wherever a client keeps it (a member list, the presence table): ~12 MB kept per 64 KB received.
 */
export const MAX_USER_CAPABILITIES = 256;

/** A decoded user info block with typed accessors over its TLVs. */
export class UserInfo {
  constructor(
    /** Screen name as sent (compare case- and space-insensitively elsewhere). */
    readonly screenName: string,
    /** u16 warning level, percent x 10. */
    readonly warningLevel: number,
    /** The block's TLVs in wire order. */
    readonly tlvs: TlvList,
  ) {}

  /** TLV 0x0001 user class bits. */
  get userClass(): number | undefined {
    return this.tlvs.u16(UserInfoTlv.UserClass);
  }

  /** True if the away class bit is set. */
  get isAway(): boolean {
    return ((this.userClass ?? 0) & UserClass.Away) !== 0;
  }

  /** TLV 0x0003 online-since, Unix seconds. */
  get onlineSince(): number | undefined {
    return this.tlvs.u32(UserInfoTlv.OnlineSince);
  }

  /** TLV 0x0004 idle minutes. */
  get idleMinutes(): number | undefined {
    return this.tlvs.u16(UserInfoTlv.IdleMinutes);
  }

  /** TLV 0x0005 member-since, Unix seconds, falling back to 0x0002 (sources disagree, §9.9). */
  get memberSince(): number | undefined {
    return this.tlvs.u32(UserInfoTlv.MemberSince) ?? this.tlvs.u32(UserInfoTlv.AccountCreated);
  }

  /** TLV 0x0006 status (u32). */
  get status(): number | undefined {
    return this.tlvs.u32(UserInfoTlv.Status);
  }

  /**
   * All advertised capabilities: TLV 0x000D full UUIDs, then TLV 0x0019 short caps expanded, without
   * duplicates, at most {@link MAX_USER_CAPABILITIES} (the rest are ignored). Throws WireError BAD_LENGTH for a
   * malformed capability TLV.
   */
  get capabilities(): Uint8Array[] {
    const out: Uint8Array[] = [];
    // A Set, not a linear scan: TLV 0x0019 may hold 32k shorts and pairwise dedupe would be quadratic.
    const seen = new Set<string>();
    const full = this.tlvs.getLast(UserInfoTlv.Capabilities);
    if (full) {
      let caps: Uint8Array[];
      try { caps = decodeCapabilityBlock(full.value); } catch (e) { throw rebase(e, full.offset); }
      for (const c of caps) {
        if (out.length >= MAX_USER_CAPABILITIES) return out;
        const k = capabilityToString(c);
        if (!seen.has(k)) { seen.add(k); out.push(c); }
      }
    }
    const short = this.tlvs.getLast(UserInfoTlv.ShortCapabilities);
    if (short) {
      let shorts: number[];
      try { shorts = decodeShortCapabilities(short.value); } catch (e) { throw rebase(e, short.offset); }
      for (const s of shorts) {
        if (out.length >= MAX_USER_CAPABILITIES) return out;
        const c = expandShortCapability(s);
        const k = capabilityToString(c);
        if (!seen.has(k)) { seen.add(k); out.push(c); }
      }
    }
    return out;
  }

  /**
   * TLV 0x001B: MD5 of the user's certificate-info block. Undefined when absent or zero-length (joustsim reads
   * zero-length as "no certificate", §4.2); BAD_LENGTH when neither 0 nor 16 bytes.
   */
  get certInfoHash(): Uint8Array | undefined {
    const t = this.tlvs.getLast(UserInfoTlv.CertInfoHash);
    if (t === undefined || t.value.length === 0) return undefined;
    if (t.value.length !== 16) throw new WireError('BAD_LENGTH', Math.max(0, t.offset), `cert info hash must be 16 bytes, is ${t.value.length}`);
    return t.value;
  }

  /** TLV 0x001D BART IDs (buddy icon, status text). */
  get bartIds(): ExtraInfoBlock[] {
    const t = this.tlvs.getLast(UserInfoTlv.BartInfo);
    if (!t) return [];
    try { return decodeExtraInfoBlocks(t.value); } catch (e) { throw rebase(e, t.offset); }
  }
}

function rebase(e: unknown, base: number): unknown {
  return e instanceof WireError ? new WireError(e.code, Math.max(0, base) + e.offset, e.reason) : e;
}

/** Reads a user info block at the reader's position (TLV count honoured exactly). */
export function readUserInfo(r: ByteReader): UserInfo {
  const sn = r.string8('screen name');
  const warning = r.u16('warning level');
  const tlvs = readTlvCountedBlock(r, 'exact');
  return new UserInfo(sn, warning, tlvs);
}

/** Decodes a buffer holding exactly one user info block. */
export function decodeUserInfo(buf: Uint8Array): UserInfo {
  const r = new ByteReader(buf);
  const u = readUserInfo(r);
  r.expectEnd('user info block');
  return u;
}

/** Plain description of a user info block for encoding. */
export interface UserInfoFields {
  screenName: string;
  warningLevel?: number;
  tlvs: readonly Tlv[];
}

/** Writes a user info block. */
export function writeUserInfo(w: ByteWriter, u: UserInfoFields | UserInfo): ByteWriter {
  w.string8(u.screenName).u16(u.warningLevel ?? 0);
  return writeTlvCountedBlock(w, u.tlvs instanceof TlvList ? u.tlvs.items : u.tlvs);
}

/** A user info block (docs/protocol.md §4) as a codec field: decodes to {@link UserInfo}, encodes either form. */
export const UserInfoBlock: Codec<UserInfo, UserInfoFields | UserInfo> = { read: readUserInfo, write: (w, v) => void writeUserInfo(w, v) };

/** Encodes a user info block. */
export function encodeUserInfo(u: UserInfoFields | UserInfo): Uint8Array {
  return writeUserInfo(new ByteWriter(128), u).finish();
}

/**
 * Builds a user info block TLV by TLV, in the order the setters are called (OOS order is class, online
 * since, status, idle, caps, ...). Certim servers must add capabilities and, when the user has
 * certificates, the cert-info hash (§4.1).
 */
export class UserInfoBuilder {
  private readonly list: Tlv[] = [];
  private warning = 0;

  constructor(private readonly screenName: string) {}

  /** Warning level, percent x 10. */
  warningLevel(v: number): this { this.warning = v; return this; }
  /** TLV 0x0001. */
  userClass(v: number): this { return this.add(tlvU16(UserInfoTlv.UserClass, v)); }
  /** TLV 0x0003, Unix seconds. */
  onlineSince(v: number): this { return this.add(tlvU32(UserInfoTlv.OnlineSince, v)); }
  /** TLV 0x0004. */
  idleMinutes(v: number): this { return this.add(tlvU16(UserInfoTlv.IdleMinutes, v)); }
  /** TLV 0x0005, Unix seconds. */
  memberSince(v: number): this { return this.add(tlvU32(UserInfoTlv.MemberSince, v)); }
  /** TLV 0x0006. */
  status(v: number): this { return this.add(tlvU32(UserInfoTlv.Status, v)); }
  /** TLV 0x000D full capability UUIDs. */
  capabilities(caps: readonly (Uint8Array | CapabilityName)[]): this {
    return this.add(tlv(UserInfoTlv.Capabilities, encodeCapabilityBlock(caps)));
  }
  /** TLV 0x001B, 16-byte MD5 of the cert-info block. */
  certInfoHash(hash: Uint8Array): this {
    if (hash.length !== 16) throw new RangeError(`cert info hash must be 16 bytes, is ${hash.length}`);
    return this.add(tlv(UserInfoTlv.CertInfoHash, hash));
  }
  /** TLV 0x001D BART IDs. */
  bartIds(ids: readonly ExtraInfoBlock[]): this { return this.add(tlv(UserInfoTlv.BartInfo, encodeExtraInfoBlocks(ids))); }
  /** Any other TLV. */
  add(t: Tlv): this { this.list.push(t); return this; }

  /** The fields, for {@link writeUserInfo}. */
  fields(): UserInfoFields {
    return { screenName: this.screenName, warningLevel: this.warning, tlvs: [...this.list] };
  }

  /** The encoded block. */
  encode(): Uint8Array {
    return encodeUserInfo(this.fields());
  }
}
