/**
 * Family 0x0001 OService (PROTOCOL §3.1): host online, versions, rate classes, self info, idle, status, and the
 * 01/22 -> 01/23 certificate BART ID exchange of §6.4.
 */
import { ByteReader, ByteWriter, WireError } from '../bytes.js';
import { readTlvRestList, tlv, tlvString, tlvU16, tlvU8, writeTlvRestList, type Tlv, type TlvList } from '../tlv.js';
import { readExtraInfoBlock, writeExtraInfoBlock, type ExtraInfoBlock } from '../extra-info.js';

/** OService family id. */
export const OSERVICE_FAMILY = 0x0001;

/** OService subtypes. */
export const OServiceSubtype = {
  ERROR: 0x01,
  CLIENT_ONLINE: 0x02,
  HOST_ONLINE: 0x03,
  SERVICE_REQUEST: 0x04,
  SERVICE_REDIRECT: 0x05,
  RATE_PARAMS_QUERY: 0x06,
  RATE_PARAMS_REPLY: 0x07,
  RATE_PARAMS_SUB_ADD: 0x08,
  RATE_PARAMS_CHANGE: 0x0a,
  USER_INFO_QUERY: 0x0e,
  USER_INFO_UPDATE: 0x0f,
  EVIL_NOTIFICATION: 0x10,
  IDLE_NOTIFICATION: 0x11,
  MOTD: 0x13,
  SET_PRIVACY_FLAGS: 0x14,
  NOOP: 0x16,
  CLIENT_VERSIONS: 0x17,
  HOST_VERSIONS: 0x18,
  SET_USER_INFO_FIELDS: 0x1e,
  BART_QUERY2: 0x22,
  BART_REPLY2: 0x23,
} as const;

/** 01/0A rate change codes. */
export const RateChangeCode = { CHANGED: 1, WARNING: 2, LIMITED: 3, CLEAR: 4 } as const;

/** 01/04 / 01/05 TLV types (docs/protocol.md §3.1). */
export const ServiceTlv = {
  /** 01/04: chat room {u16 exchange, u8-length cookie, u16 instance}. */
  ROOM: 0x0001,
  /** 01/05: `host:port` of the service. */
  ADDRESS: 0x0005,
  /** 01/05: the cookie to present in the new connection's ch-1 hello. */
  COOKIE: 0x0006,
  /** 01/05: u16 family. */
  FAMILY: 0x000d,
  /** 01/04: empty, the client wants SSL (AIM 6). */
  WANTS_SSL: 0x008c,
  /** 01/05: u8 SSL state (0 none). */
  SSL_STATE: 0x008e,
} as const;

/** 01/04 service request: the family wanted and the TLVs that qualify it (a chat room for 0x000E). */
export interface SNAC_0x01_0x04_OServiceServiceRequest {
  /** Family of the service wanted. */
  family: number;
  /** TLV rest-list (0x0001 room, 0x008C wants SSL). */
  tlvs: TlvList;
}

/** Decodes 01/04: u16 family + TLV rest-list. */
export function decodeServiceRequest(body: Uint8Array): SNAC_0x01_0x04_OServiceServiceRequest {
  const r = new ByteReader(body);
  const family = r.u16('service family');
  return { family, tlvs: readTlvRestList(r, 16) };
}

/** Encodes 01/04 (clients and tests). */
export function encodeServiceRequest(family: number, tlvs: Iterable<Tlv> = []): Uint8Array {
  const w = new ByteWriter(32);
  w.u16(family);
  writeTlvRestList(w, tlvs);
  return w.finish();
}

/** 01/05 service redirect. */
export interface SNAC_0x01_0x05_OServiceServiceRedirect {
  /** Family served there. */
  family: number;
  /** `host:port`. */
  address: string;
  /** Cookie for the ch-1 hello. */
  cookie: Uint8Array;
  /** SSL state (0 none, 1 the port speaks TLS); omitted when undefined. */
  sslState?: number;
}

/** Encodes 01/05: TLVs 0x000D family, 0x0005 address, 0x0006 cookie, 0x008E SSL state. */
export function encodeServiceRedirect(m: SNAC_0x01_0x05_OServiceServiceRedirect): Uint8Array {
  const list = [tlvU16(ServiceTlv.FAMILY, m.family), tlvString(ServiceTlv.ADDRESS, m.address), tlv(ServiceTlv.COOKIE, m.cookie)];
  if (m.sslState !== undefined) list.push(tlvU8(ServiceTlv.SSL_STATE, m.sslState));
  const w = new ByteWriter(16 + m.address.length + m.cookie.length);
  writeTlvRestList(w, list);
  return w.finish();
}

/** Decodes 01/05 (clients and tests); WireError when the family, address or cookie is missing. */
export function decodeServiceRedirect(body: Uint8Array): SNAC_0x01_0x05_OServiceServiceRedirect {
  const tlvs = readTlvRestList(new ByteReader(body), 64);
  const fam = tlvs.bytes(ServiceTlv.FAMILY);
  const address = tlvs.bytes(ServiceTlv.ADDRESS);
  const cookie = tlvs.bytes(ServiceTlv.COOKIE);
  if (fam === undefined || fam.length !== 2 || address === undefined || cookie === undefined) throw new WireError('BAD_VALUE', 0, '01/05 without family, address or cookie');
  const ssl = tlvs.bytes(ServiceTlv.SSL_STATE);
  const out: SNAC_0x01_0x05_OServiceServiceRedirect = { family: (fam[0]! << 8) | fam[1]!, address: new TextDecoder().decode(address), cookie };
  if (ssl !== undefined && ssl.length >= 1) out.sslState = ssl[0]!;
  return out;
}

/** Encodes 01/03: u16 per family served on this connection. */
export function encodeHostOnline(families: readonly number[]): Uint8Array {
  const w = new ByteWriter(families.length * 2);
  for (const f of families) w.u16(f);
  return w.finish();
}

/** A (family, version) pair of 01/17 / 01/18. */
export interface FamilyVersion {
  /** Family id. */
  family: number;
  /** Version. */
  version: number;
}

/** Decodes 01/17 (or 01/18): repeated (u16 family, u16 version). */
export function decodeVersions(body: Uint8Array): FamilyVersion[] {
  const r = new ByteReader(body);
  if (body.length % 4 !== 0) throw new WireError('BAD_LENGTH', 0, 'version list length not a multiple of 4');
  const out: FamilyVersion[] = [];
  while (!r.done) out.push({ family: r.u16('family'), version: r.u16('version') });
  return out;
}

/** Encodes 01/17 (client) or 01/18 (host): repeated (u16 family, u16 version). */
export function encodeVersions(list: readonly FamilyVersion[]): Uint8Array {
  const w = new ByteWriter(list.length * 4);
  for (const v of list) w.u16(v.family).u16(v.version);
  return w.finish();
}

/** One rate class record of 01/07 / 01/0A. */
export interface RateClassRecord {
  /** Class id. */
  id: number;
  /** Window. */
  window: number;
  /** Clear level. */
  clear: number;
  /** Alert level. */
  alert: number;
  /** Limit level. */
  limit: number;
  /** Disconnect level. */
  disconnect: number;
  /** Current average. */
  current: number;
  /** Max level. */
  max: number;
  /** ms since the last SNAC of the class (v2 field). */
  lastTime: number;
  /** Dropping flag (v2 field). */
  dropping: boolean;
}

function writeRateClass(w: ByteWriter, c: RateClassRecord, v2: boolean): void {
  w.u16(c.id).u32(c.window).u32(c.clear).u32(c.alert).u32(c.limit).u32(c.disconnect).u32(c.current).u32(c.max);
  if (v2) w.u32(c.lastTime >>> 0).u8(c.dropping ? 1 : 0);
}

/** Encodes 01/07: classes (35-byte records when `v2`, OService ≥ 2), then each class's (family, subtype) pairs. */
export function encodeRateInfo(classes: readonly RateClassRecord[], pairs: ReadonlyMap<number, ReadonlyArray<readonly [number, number]>>, v2: boolean): Uint8Array {
  const w = new ByteWriter(1024);
  w.u16(classes.length);
  for (const c of classes) writeRateClass(w, c, v2);
  for (const c of classes) {
    const list = pairs.get(c.id) ?? [];
    w.u16(c.id).u16(list.length);
    for (const [f, s] of list) w.u16(f).u16(s);
  }
  return w.finish();
}

/** Encodes 01/0A: u16 code + one class record. */
export function encodeRateChange(code: number, c: RateClassRecord, v2: boolean): Uint8Array {
  const w = new ByteWriter(40).u16(code);
  writeRateClass(w, c, v2);
  return w.finish();
}

/**
 * Decodes the class ids of 01/07 (v1 30-byte or v2 35-byte records; the record size is derived from where the
 * (class, pairs) section starts, which repeats the first class id).
 */
export function decodeRateClassIds(body: Uint8Array): number[] {
  const r = new ByteReader(body);
  const n = r.u16('rate class count');
  if (n === 0) return [];
  // Work out the record size from where the group section starts: it begins with the first class id again.
  const firstId = (body[2]! << 8) | body[3]!;
  let size = 35;
  for (const s of [35, 30]) {
    const at = 2 + n * s;
    if (at + 2 <= body.length && ((body[at]! << 8) | body[at + 1]!) === firstId) {
      size = s;
      break;
    }
  }
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(r.u16('rate class id'));
    r.skip(size - 2, 'rate class record');
  }
  return ids;
}

/** Encodes 01/08 (and 01/0C): repeated u16 class ids. */
export function encodeU16List(values: readonly number[]): Uint8Array {
  const w = new ByteWriter(values.length * 2 + 2);
  for (const v of values) w.u16(v);
  return w.finish();
}

/** Decodes 01/08 (and 01/0C): repeated u16 class ids. */
export function decodeU16List(body: Uint8Array): number[] {
  if (body.length % 2 !== 0) throw new WireError('BAD_LENGTH', 0, 'u16 list of odd length');
  const r = new ByteReader(body);
  const out: number[] = [];
  while (!r.done) out.push(r.u16());
  return out;
}

/** One 01/02 tuple. */
export interface ClientOnlineEntry {
  /** Family. */
  family: number;
  /** Version. */
  version: number;
  /** Tool id. */
  toolId: number;
  /** Tool version. */
  toolVersion: number;
}

/** Decodes 01/02 client ready: repeated {family, version, tool id, tool version}. */
export function decodeClientOnline(body: Uint8Array): ClientOnlineEntry[] {
  if (body.length % 8 !== 0) throw new WireError('BAD_LENGTH', 0, '01/02 length not a multiple of 8');
  const r = new ByteReader(body);
  const out: ClientOnlineEntry[] = [];
  while (!r.done) out.push({ family: r.u16(), version: r.u16(), toolId: r.u16(), toolVersion: r.u16() });
  return out;
}

/** Encodes 01/02 client ready: repeated {family, version, tool id, tool version}. */
export function encodeClientOnline(entries: readonly ClientOnlineEntry[]): Uint8Array {
  const w = new ByteWriter(entries.length * 8);
  for (const e of entries) w.u16(e.family).u16(e.version).u16(e.toolId).u16(e.toolVersion);
  return w.finish();
}

/** Decodes 01/11: u32 idle seconds (0 = active). */
export function decodeIdle(body: Uint8Array): number {
  const r = new ByteReader(body);
  const v = r.u32('idle seconds');
  r.expectEnd('01/11');
  return v;
}

/** 01/1E set user info fields. */
export interface SNAC_0x01_0x1E_OServiceSetUserInfoFields {
  /** TLV 0x0006 status u32, when present. */
  status?: number;
  /** TLV 0x001D BART ids bytes, when present. */
  bart?: Uint8Array;
}

/** Decodes 01/1E. */
export function decodeSetUserInfoFields(body: Uint8Array): SNAC_0x01_0x1E_OServiceSetUserInfoFields {
  const tlvs = readTlvRestList(new ByteReader(body));
  const out: SNAC_0x01_0x1E_OServiceSetUserInfoFields = {};
  const status = tlvs.u32(0x0006);
  if (status !== undefined) out.status = status;
  const bart = tlvs.bytes(0x001d);
  if (bart !== undefined) out.bart = bart;
  return out;
}

/** Decodes 01/22: repeated BART IDs (at most 64). */
export function decodeBartQuery2(body: Uint8Array): ExtraInfoBlock[] {
  const r = new ByteReader(body);
  const out: ExtraInfoBlock[] = [];
  while (!r.done) {
    if (out.length >= 64) throw new WireError('TOO_MANY', r.offset, 'more than 64 BART ids');
    out.push(readExtraInfoBlock(r));
  }
  return out;
}

/** Encodes 01/23: per id {query ID, u8 code, reply ID}; certim echoes each id with code 0 (PROTOCOL §9.4). */
export function encodeBartReply2(entries: ReadonlyArray<{ query: ExtraInfoBlock; code: number; reply: ExtraInfoBlock }>): Uint8Array {
  const w = new ByteWriter(64);
  for (const e of entries) {
    writeExtraInfoBlock(w, e.query);
    w.u8(e.code);
    writeExtraInfoBlock(w, e.reply);
  }
  return w.finish();
}
