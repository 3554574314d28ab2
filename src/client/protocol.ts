/**
 * Client-direction SNAC bodies (what a client sends, and the replies it reads). The wire families in
 * src/wire/families/ were written from the server's side (decode requests, encode replies); these are their
 * mirror images, built from the same wire primitives and the same constants.
 * (Candidates to move into src/wire/families/ so one file declares both directions.)
 */
import { ByteReader, ByteWriter, WireError, encodeText } from '../wire/bytes.js';
import { BucpTlv, TLV_CERTIM_PASSWORD } from '../wire/families/bucp.js';
import { LocateTlv } from '../wire/families/locate.js';
import { md5 } from '../wire/md5.js';
import { readTlvRestList, tlv, tlvString, tlvU8, writeTlvRestList, type Tlv, type TlvList } from '../wire/tlv.js';
import { readUserInfo, type UserInfo } from '../wire/user-info.js';
import { ClientError } from './errors.js';

/** Client id string sent at login (TLV 0x0003). */
export const CLIENT_ID = 'certim';

/** Families and versions the client speaks on BOS (01/17 and 01/02; AIM 5.5 tuples, PROTOCOL.md §2.2). */
export const CLIENT_FAMILIES: ReadonlyArray<{ family: number; version: number; toolId: number; toolVersion: number }> = [
  { family: 0x0001, version: 0x0004, toolId: 0x0110, toolVersion: 0x0801 },
  { family: 0x0002, version: 0x0001, toolId: 0x0110, toolVersion: 0x0801 },
  { family: 0x0003, version: 0x0001, toolId: 0x0110, toolVersion: 0x0801 },
  { family: 0x0004, version: 0x0001, toolId: 0x0110, toolVersion: 0x0801 },
  { family: 0x0009, version: 0x0001, toolId: 0x0110, toolVersion: 0x0801 },
];

/** 17/02 for certim's TLS-only password login (see src/wire/families/bucp.ts). */
export function encodeCertimLogin(screenName: string, password: string): Uint8Array {
  return writeTlvRestList(new ByteWriter(128), [
    tlvString(BucpTlv.SCREEN_NAME, screenName),
    tlv(TLV_CERTIM_PASSWORD, encodeText(password)),
    tlvString(BucpTlv.CLIENT_ID, CLIENT_ID),
    tlvU8(BucpTlv.MULTI_CONN, 1),
  ]).finish();
}

/** 17/06 key request (classic MD5 login). */
export function encodeKeyRequest(screenName: string): Uint8Array {
  return writeTlvRestList(new ByteWriter(64), [tlvString(BucpTlv.SCREEN_NAME, screenName)]).finish();
}

/** Reads 17/07: u16 length + challenge key. */
export function decodeKeyResponse(body: Uint8Array): Uint8Array {
  return new ByteReader(body).block16('BUCP key');
}

/** 17/02 classic "strong" MD5 login: MD5(key ‖ MD5(password) ‖ "AOL Instant Messenger (SM)") (PROTOCOL.md §2.1). */
export function encodeMd5Login(screenName: string, password: string, key: Uint8Array): Uint8Array {
  const constant = encodeText('AOL Instant Messenger (SM)');
  const inner = md5(encodeText(password));
  const input = new Uint8Array(key.length + inner.length + constant.length);
  input.set(key, 0);
  input.set(inner, key.length);
  input.set(constant, key.length + inner.length);
  return writeTlvRestList(new ByteWriter(128), [
    tlvString(BucpTlv.SCREEN_NAME, screenName),
    tlv(BucpTlv.PASSWORD_HASH, md5(input)),
    tlv(BucpTlv.STRONG_HASH),
    tlvString(BucpTlv.CLIENT_ID, CLIENT_ID),
    tlvU8(BucpTlv.MULTI_CONN, 1),
  ]).finish();
}

/** A decoded 17/03. */
export type LoginResponse =
  | { ok: true; screenName: string; bosAddress: string; cookie: Uint8Array }
  | { ok: false; errorCode: number };

/** Reads 17/03 (also the TLVs of an old-style ch-4 response). */
export function decodeLoginResponse(tlvs: TlvList): LoginResponse {
  const err = tlvs.u16(BucpTlv.ERROR_CODE);
  if (err !== undefined) return { ok: false, errorCode: err };
  const bos = tlvs.string(BucpTlv.BOS_ADDRESS);
  const cookie = tlvs.bytes(BucpTlv.COOKIE);
  if (bos === undefined || cookie === undefined) throw new ClientError('PROTOCOL', 'login reply has neither an error nor a BOS address and cookie');
  return { ok: true, screenName: tlvs.string(BucpTlv.SCREEN_NAME) ?? '', bosAddress: bos, cookie };
}

/** Decodes a TLV rest-list body. */
export function decodeTlvBody(body: Uint8Array): TlvList {
  return readTlvRestList(new ByteReader(body));
}

/** 01/17 client versions. */
export function encodeClientVersions(): Uint8Array {
  const w = new ByteWriter(64);
  for (const f of CLIENT_FAMILIES) w.u16(f.family).u16(f.version);
  return w.finish();
}

/** 01/02 client ready. */
export function encodeClientReady(): Uint8Array {
  const w = new ByteWriter(64);
  for (const f of CLIENT_FAMILIES) w.u16(f.family).u16(f.version).u16(f.toolId).u16(f.toolVersion);
  return w.finish();
}

/** Reads the class ids from 01/07 rate info (v1 30-byte or v2 35-byte records; the size is derived). */
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

/** 01/08 rate ack: the class ids. */
export function encodeU16List(values: readonly number[]): Uint8Array {
  const w = new ByteWriter(values.length * 2 + 2);
  for (const v of values) w.u16(v);
  return w.finish();
}

/** 02/04 set info with capabilities and (optionally) the certificate-info block. */
export function encodeLocateSetInfo(capabilities: readonly Uint8Array[], certInfo?: Uint8Array): Uint8Array {
  const caps = new Uint8Array(capabilities.length * 16);
  capabilities.forEach((c, i) => caps.set(c, i * 16));
  const list: Tlv[] = [tlv(LocateTlv.CAPABILITIES, caps)];
  if (certInfo) list.push(tlv(LocateTlv.CERT_INFO, certInfo));
  return writeTlvRestList(new ByteWriter(256 + (certInfo?.length ?? 0)), list).finish();
}

/** 02/15 user-info query: u32 flags, SN. */
export function encodeUserInfoQuery2(flags: number, screenName: string): Uint8Array {
  return new ByteWriter(40).u32(flags).string8(screenName).finish();
}

/** A decoded 02/06. */
export interface LocateUserInfoReply {
  /** The user-info block. */
  user: UserInfo;
  /** The requested items (0x0005 caps, 0x0006 cert-info block, ...). */
  tlvs: TlvList;
}

/** Reads 02/06. */
export function decodeUserInfoReply(body: Uint8Array): LocateUserInfoReply {
  const r = new ByteReader(body);
  const user = readUserInfo(r);
  return { user, tlvs: readTlvRestList(r) };
}

/** 04/02 ICBM parameters: channel 0 (all), IMs + missed calls + typing, 8000-byte messages (secure IMs are ~1 KB+). */
export function encodeIcbmParameters(): Uint8Array {
  return new ByteWriter(16).u16(0).u32(0x0000000b).u16(8000).u16(999).u16(999).u32(0).finish();
}

/** 03/04 add buddies (client-side list): repeated SN. */
export function encodeScreenNames(names: readonly string[]): Uint8Array {
  const w = new ByteWriter(names.length * 17 + 2);
  for (const n of names) w.string8(n);
  return w.finish();
}

/** Reads a 03/0B arrival (one or more user-info blocks) or 03/0C departure. */
export function decodeUserInfoList(body: Uint8Array): UserInfo[] {
  const r = new ByteReader(body);
  const out: UserInfo[] = [];
  while (r.remaining > 0) {
    if (out.length >= 1000) throw new WireError('TOO_MANY', r.offset, 'more than 1000 user-info blocks');
    out.push(readUserInfo(r));
  }
  return out;
}

/** Reads 04/0C host ack: cookie, channel, SN. */
export function decodeHostAck(body: Uint8Array): { cookie: Uint8Array; channel: number; screenName: string } {
  const r = new ByteReader(body);
  return { cookie: r.bytes(8, 'cookie'), channel: r.u16('channel'), screenName: r.string8('screen name') };
}

/** 04/14 typing notification. */
export function encodeTyping(screenName: string, event: number): Uint8Array {
  return new ByteWriter(32).bytes(new Uint8Array(8)).u16(1).string8(screenName).u16(event).finish();
}

