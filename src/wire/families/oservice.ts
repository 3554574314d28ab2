/**
 * Family 0x0001 OService (docs/protocol.md §3.1): host online, versions, rate classes, self info, idle, status, and the
 * 01/22 -> 01/23 certificate BART ID exchange of §6.4.
 */
import { ByteReader, WireError } from '../bytes.js';
import type { Tlv } from '../tlv.js';
import { readExtraInfoBlock, writeExtraInfoBlock, type ExtraInfoBlock } from '../extra-info.js';
import { array16, body, bool8, record, repeat, restBytes, restString, tlvFields, tlvOpt, tlvReq, tlvRest, u16, u32, u32wrap, u8, type Codec, type Infer } from '../codec.js';

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

/** 01/04 service request (docs/protocol.md §3.1): u16 family wanted + TLV rest-list (0x0001 room, 0x008C wants SSL). */
export const SNAC_0x01_0x04_OServiceServiceRequest = record({ family: u16, tlvs: tlvRest(16) }, { capacity: 32 });
/** 01/04 service request: the family wanted and the TLVs that qualify it (a chat room for 0x000E). */
export type SNAC_0x01_0x04_OServiceServiceRequest = Infer<typeof SNAC_0x01_0x04_OServiceServiceRequest>;

/** Decodes 01/04: u16 family + TLV rest-list (at most 16 TLVs). */
export const decodeServiceRequest: (body: Uint8Array) => SNAC_0x01_0x04_OServiceServiceRequest = SNAC_0x01_0x04_OServiceServiceRequest.decode;

/** Encodes 01/04 (clients and tests). */
export function encodeServiceRequest(family: number, tlvs: Iterable<Tlv> = []): Uint8Array {
  return SNAC_0x01_0x04_OServiceServiceRequest.encode({ family, tlvs });
}

/** A u8 TLV value read leniently, as clients do: the first byte, `undefined` when empty, the rest ignored. */
const leadingU8: Codec<number | undefined, number> = { read: (r) => (r.done ? undefined : r.rest()[0]), write: (w, v) => void w.u8(v) };

/**
 * 01/05 service redirect (docs/protocol.md §3.1): TLVs 0x000D u16 family, 0x0005 `host:port`, 0x0006 cookie for the
 * ch-1 hello, 0x008E u8 SSL state (0 none, 1 the port speaks TLS; omitted when undefined). Family, address and cookie
 * are required (WireError BAD_VALUE when missing).
 */
export const SNAC_0x01_0x05_OServiceServiceRedirect = tlvFields({
  family: tlvReq(ServiceTlv.FAMILY, u16),
  address: tlvReq(ServiceTlv.ADDRESS, restString),
  cookie: tlvReq(ServiceTlv.COOKIE, restBytes),
  sslState: tlvOpt(ServiceTlv.SSL_STATE, leadingU8),
}, { maxTlvs: 64 });
/** 01/05 service redirect. */
export type SNAC_0x01_0x05_OServiceServiceRedirect = Infer<typeof SNAC_0x01_0x05_OServiceServiceRedirect>;

/** Encodes 01/05: TLVs 0x000D family, 0x0005 address, 0x0006 cookie, 0x008E SSL state. */
export const encodeServiceRedirect: (m: SNAC_0x01_0x05_OServiceServiceRedirect) => Uint8Array = SNAC_0x01_0x05_OServiceServiceRedirect.encode;

/** Decodes 01/05 (clients and tests); WireError when the family, address or cookie is missing. */
export const decodeServiceRedirect: (body: Uint8Array) => SNAC_0x01_0x05_OServiceServiceRedirect = SNAC_0x01_0x05_OServiceServiceRedirect.decode;

/** 01/03 host online (docs/protocol.md §3.1): u16 per family served on this connection. */
export const SNAC_0x01_0x03_OServiceHostOnline = body(repeat(u16));

/** Encodes 01/03: u16 per family served on this connection. */
export const encodeHostOnline: (families: readonly number[]) => Uint8Array = SNAC_0x01_0x03_OServiceHostOnline.encode;

/** A (family, version) pair of 01/17 / 01/18 (docs/protocol.md §3.1). */
export const FamilyVersion = record({ family: u16, version: u16 });
/** A (family, version) pair of 01/17 / 01/18. */
export type FamilyVersion = Infer<typeof FamilyVersion>;

/** 01/17 client versions and 01/18 host versions (docs/protocol.md §3.1): repeated (u16 family, u16 version). */
export const SNAC_0x01_0x17_OServiceClientVersions = body(repeat(FamilyVersion));

/** Decodes 01/17 (or 01/18): repeated (u16 family, u16 version); BAD_LENGTH unless a multiple of 4 bytes. */
export const decodeVersions: (body: Uint8Array) => FamilyVersion[] = SNAC_0x01_0x17_OServiceClientVersions.decode;

/** Encodes 01/17 (client) or 01/18 (host): repeated (u16 family, u16 version). */
export const encodeVersions: (list: readonly FamilyVersion[]) => Uint8Array = SNAC_0x01_0x17_OServiceClientVersions.encode;

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

const rateClassV1Fields = { id: u16, window: u32, clear: u32, alert: u32, limit: u32, disconnect: u32, current: u32, max: u32 };

/** A v1 (OService 1) rate class record of 01/07 / 01/0A (docs/protocol.md §3.1): u16 id, seven u32 levels; 30 bytes. */
export const RateClassV1 = record(rateClassV1Fields);

/** A v2 (OService ≥ 2) rate class record (docs/protocol.md §3.1): v1, then u32 ms since the last SNAC, u8 dropping; 35 bytes. */
export const RateClassV2 = record({ ...rateClassV1Fields, lastTime: u32wrap, dropping: bool8 });

/** One (class id, governed SNACs) group of 01/07 (docs/protocol.md §3.1): u16 class id, u16 count, (u16 family, u16 subtype) pairs. */
export const RateClassGroup = record({ id: u16, pairs: array16(record({ family: u16, subtype: u16 })) });

/**
 * 01/07 rate params reply as certim writes it (docs/protocol.md §3.1): u16 class count, the class records, then one
 * group per class. Decoding stays hand-written ({@link decodeRateInfo}): v1 and v2 records are told apart by where
 * the groups start.
 */
export const SNAC_0x01_0x07_OServiceRateParamsReplyV2 = record({ classes: array16(RateClassV2), groups: repeat(RateClassGroup) }, { capacity: 1024 });
/** 01/07 with v1 (30-byte) class records. */
export const SNAC_0x01_0x07_OServiceRateParamsReplyV1 = record({ classes: array16(RateClassV1), groups: repeat(RateClassGroup) }, { capacity: 1024 });

/** Encodes 01/07: classes (35-byte records when `v2`, OService ≥ 2), then each class's (family, subtype) pairs. */
export function encodeRateInfo(classes: readonly RateClassRecord[], pairs: ReadonlyMap<number, ReadonlyArray<readonly [number, number]>>, v2: boolean): Uint8Array {
  const groups = classes.map((c) => ({ id: c.id, pairs: (pairs.get(c.id) ?? []).map(([family, subtype]) => ({ family, subtype })) }));
  return (v2 ? SNAC_0x01_0x07_OServiceRateParamsReplyV2 : SNAC_0x01_0x07_OServiceRateParamsReplyV1).encode({ classes, groups });
}

/** 01/0A rate params change (docs/protocol.md §3.1): u16 code ({@link RateChangeCode}) + one v2 class record. */
export const SNAC_0x01_0x0A_OServiceRateParamsChangeV2 = record({ code: u16, record: RateClassV2 });
/** 01/0A with a v1 class record. */
export const SNAC_0x01_0x0A_OServiceRateParamsChangeV1 = record({ code: u16, record: RateClassV1 });

/** Encodes 01/0A: u16 code + one class record. */
export function encodeRateChange(code: number, c: RateClassRecord, v2: boolean): Uint8Array {
  return (v2 ? SNAC_0x01_0x0A_OServiceRateParamsChangeV2 : SNAC_0x01_0x0A_OServiceRateParamsChangeV1).encode({ code, record: c });
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

/** 01/07 decoded: the class records and, per class id, the (family, subtype) pairs it governs. */
export interface RateInfo {
  /** Class records in wire order. */
  classes: RateClassRecord[];
  /** Class id -> the SNACs it governs; SNACs not listed fall in the first class (§3.1). */
  pairs: Map<number, Array<[number, number]>>;
}

function rateRecordSize(body: Uint8Array, n: number, offset: number): number {
  // The record size (v1 30 bytes, v2 35) shows where the pairs section starts: it repeats the first class id.
  const firstId = (body[offset]! << 8) | body[offset + 1]!;
  for (const s of [35, 30]) {
    const at = offset + n * s;
    if (at + 2 <= body.length && ((body[at]! << 8) | body[at + 1]!) === firstId) return s;
  }
  return 35;
}

function readRateClass(r: ByteReader, size: number): RateClassRecord {
  const c: RateClassRecord = {
    id: r.u16('rate class id'), window: r.u32(), clear: r.u32(), alert: r.u32(), limit: r.u32(), disconnect: r.u32(), current: r.u32(), max: r.u32(),
    lastTime: 0, dropping: false,
  };
  if (size === 35) {
    c.lastTime = r.u32();
    c.dropping = r.u8() !== 0;
  }
  return c;
}

/** Decodes 01/07 (v1 or v2 records) in full: what a client paces its SNACs by (§3.1). */
export function decodeRateInfo(body: Uint8Array): RateInfo {
  const r = new ByteReader(body);
  const n = r.u16('rate class count');
  if (n > 64) throw new WireError('TOO_MANY', 0, `${n} rate classes`);
  const size = n > 0 ? rateRecordSize(body, n, 2) : 35;
  const classes: RateClassRecord[] = [];
  for (let i = 0; i < n; i++) classes.push(readRateClass(r, size));
  const pairs = new Map<number, Array<[number, number]>>();
  for (let i = 0; i < n && !r.done; i++) {
    const id = r.u16('rate class id');
    const count = r.u16('pair count');
    const list: Array<[number, number]> = [];
    for (let j = 0; j < count; j++) list.push([r.u16('family'), r.u16('subtype')]);
    pairs.set(id, list);
  }
  return { classes, pairs };
}

/** Decodes 01/0A: u16 code + one class record (v1 or v2, told apart by the body length). */
export function decodeRateChange(body: Uint8Array): { code: number; record: RateClassRecord } {
  const r = new ByteReader(body);
  const code = r.u16('rate change code');
  return { code, record: readRateClass(r, body.length >= 37 ? 35 : 30) };
}

/** 01/08 rate params sub-add and 01/0C (docs/protocol.md §3.1): repeated u16 class ids. */
export const SNAC_0x01_0x08_OServiceRateParamsSubAdd = body(repeat(u16));

/** Encodes 01/08 (and 01/0C): repeated u16 class ids. */
export const encodeU16List: (values: readonly number[]) => Uint8Array = SNAC_0x01_0x08_OServiceRateParamsSubAdd.encode;

/** Decodes 01/08 (and 01/0C): repeated u16 class ids; BAD_LENGTH when of odd length. */
export const decodeU16List: (body: Uint8Array) => number[] = SNAC_0x01_0x08_OServiceRateParamsSubAdd.decode;

/** One 01/02 tuple (docs/protocol.md §3.1): u16 family, version, tool id, tool version. */
export const ClientOnlineEntry = record({ family: u16, version: u16, toolId: u16, toolVersion: u16 });
/** One 01/02 tuple. */
export type ClientOnlineEntry = Infer<typeof ClientOnlineEntry>;

/** 01/02 client online (docs/protocol.md §3.1): repeated 8-byte {family, version, tool id, tool version}. */
export const SNAC_0x01_0x02_OServiceClientOnline = body(repeat(ClientOnlineEntry));

/** Decodes 01/02 client ready: repeated {family, version, tool id, tool version}; BAD_LENGTH unless a multiple of 8. */
export const decodeClientOnline: (body: Uint8Array) => ClientOnlineEntry[] = SNAC_0x01_0x02_OServiceClientOnline.decode;

/** Encodes 01/02 client ready: repeated {family, version, tool id, tool version}. */
export const encodeClientOnline: (entries: readonly ClientOnlineEntry[]) => Uint8Array = SNAC_0x01_0x02_OServiceClientOnline.encode;

/** 01/11 idle notification (docs/protocol.md §3.1): u32 idle seconds (0 = active), nothing after. */
export const SNAC_0x01_0x11_OServiceIdleNotification = body(u32);

/** Decodes 01/11: u32 idle seconds (0 = active). */
export const decodeIdle: (body: Uint8Array) => number = SNAC_0x01_0x11_OServiceIdleNotification.decode;

/** 01/1E set user info fields (docs/protocol.md §3.1): TLV 0x0006 u32 status, TLV 0x001D BART ids bytes, both optional. */
export const SNAC_0x01_0x1E_OServiceSetUserInfoFields = tlvFields({ status: tlvOpt(0x0006, u32), bart: tlvOpt(0x001d, restBytes) });
/** 01/1E set user info fields. */
export type SNAC_0x01_0x1E_OServiceSetUserInfoFields = Infer<typeof SNAC_0x01_0x1E_OServiceSetUserInfoFields>;

/** Decodes 01/1E. */
export const decodeSetUserInfoFields: (body: Uint8Array) => SNAC_0x01_0x1E_OServiceSetUserInfoFields = SNAC_0x01_0x1E_OServiceSetUserInfoFields.decode;

/** A BART ID (docs/protocol.md §4.1) as a codec field. */
export const BartId: Codec<ExtraInfoBlock> = { read: readExtraInfoBlock, write: (w, v) => void writeExtraInfoBlock(w, v) };

/** 01/22 BART query 2 (docs/protocol.md §6.4): repeated BART IDs, at most 64. */
export const SNAC_0x01_0x22_OServiceBartQuery2 = body(repeat(BartId, { max: 64 }));

/** Decodes 01/22: repeated BART IDs (at most 64). */
export const decodeBartQuery2: (body: Uint8Array) => ExtraInfoBlock[] = SNAC_0x01_0x22_OServiceBartQuery2.decode;

/** 01/23 BART reply 2 (docs/protocol.md §6.4): per id {query ID, u8 code, reply ID}. */
export const SNAC_0x01_0x23_OServiceBartReply2 = body(repeat(record({ query: BartId, code: u8, reply: BartId })), { capacity: 64 });

/** Encodes 01/23: per id {query ID, u8 code, reply ID}; certim echoes each id with code 0 (docs/protocol.md §9.4). */
export const encodeBartReply2: (entries: ReadonlyArray<{ query: ExtraInfoBlock; code: number; reply: ExtraInfoBlock }>) => Uint8Array = SNAC_0x01_0x23_OServiceBartReply2.encode;
