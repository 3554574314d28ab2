/**
 * Family 0x0017 BUCP: the MD5 challenge login of AIM 3.5–5.x (docs/protocol.md §2.1), plus certim's TLS password login.
 *
 * ## certim TLS login extension (certim clients; honoured only on TLS connections)
 *
 * | Step | Dir | SNAC | Body |
 * |---|---|---|---|
 * | 1 | S->C | FLAP ch-1 | u32 0x00000001 (hello) |
 * | 2 | C->S | FLAP ch-1 | u32 0x00000001, no TLVs (an auth connection: no cookie) |
 * | 3 | C->S | 17/02 | TLV rest-list: 0x0001 SN (ASCII), **0x7C01 password (UTF-8, plaintext inside TLS)**; optional 0x0003 client id string, 0x004A u8 multi-conn flag. No 0x0025/0x004C, no 17/06 key request. |
 * | 4 | S->C | 17/03 | success: 0x0001 formatted SN, 0x0005 BOS `host:port` (the TLS port), 0x0006 256-byte cookie; failure: 0x0001 SN, 0x0008 u16 login error, 0x0004 URL |
 * | 5 | C->S | new TLS connection to 0x0005, ch-1 hello + TLV 0x0006 cookie, then the normal BOS handshake (§2.2) |
 *
 * The password is checked against the account's scrypt hash. Login errors: 0x0001 wrong SN or password,
 * 0x0011 account disabled, 0x0013 password checks saturated (retry in a second), 0x0018 too many failures for
 * this account (from this address, or from strangers overall), 0x001D too many failures from this address over all
 * accounts, or a rate-limit sign-off moments ago; the 0x0004 URL then ends in `?retry-after=<seconds>&scope=<why>`. On a plain TCP connection a 17/02 carrying 0x7C01 is refused with 0x0006 (bad input) before the
 * password is looked at, so a client that falls back to plain TCP learns it at once and leaks nothing further.
 */
import { ByteReader, ByteWriter, WireError, encodeText } from '../bytes.js';
import { md5 } from '../md5.js';
import { TlvList, readTlvRestList, tlv, tlvU16, tlvU8, tlvString, writeTlvRestList, type Tlv } from '../tlv.js';
import { block16, body, checked, restString, tlvFields, tlvReq, type Infer } from '../codec.js';

/** BUCP family id. */
export const BUCP_FAMILY = 0x0017;

/** BUCP subtypes. */
export const BucpSubtype = {
  ERROR: 0x01,
  LOGIN_REQUEST: 0x02,
  LOGIN_RESPONSE: 0x03,
  KEY_REQUEST: 0x06,
  KEY_RESPONSE: 0x07,
} as const;

/** TLV types used in 17/02 and 17/03. */
export const BucpTlv = {
  SCREEN_NAME: 0x0001,
  CLIENT_ID: 0x0003,
  ERROR_URL: 0x0004,
  BOS_ADDRESS: 0x0005,
  COOKIE: 0x0006,
  ERROR_CODE: 0x0008,
  PASSWORD_HASH: 0x0025,
  MULTI_CONN: 0x004a,
  STRONG_HASH: 0x004c,
} as const;

/** certim extension: plaintext password, accepted only over TLS (see file comment). */
export const TLV_CERTIM_PASSWORD = 0x7c01;

/** Login error codes for 17/03 TLV 0x0008 (docs/protocol.md §2.1). */
export const LoginError = {
  INVALID_SN_OR_PASSWORD: 0x0001,
  BAD_PASSWORD: 0x0005,
  BAD_INPUT: 0x0006,
  INVALID_ACCOUNT: 0x0007,
  SUSPENDED: 0x0011,
  CONNECTING_TOO_OFTEN: 0x0018,
  RATE_LIMITED: 0x001d,
  TEMPORARILY_UNAVAILABLE: 0x0013,
} as const;

/**
 * certim's reason in a refused login's error URL (`...?reason=too-many-sessions&max=N`, docs/protocol.md §2.1): the
 * account already holds as many sessions as the server allows. The code is 0x0018, which classic clients show as
 * connecting too often.
 */
export const LOGIN_REASON_TOO_MANY_SESSIONS = 'too-many-sessions';

/** 17/06 key request (docs/protocol.md §2.1): TLV 0x0001 screen name, required and non-empty (WireError BAD_VALUE). */
export const SNAC_0x17_0x06_BUCPChallengeRequest = tlvFields({
  screenName: tlvReq(BucpTlv.SCREEN_NAME, checked(restString, (sn, at) => {
    if (sn.length === 0) throw new WireError('BAD_VALUE', at, '17/06 with an empty screen name TLV 0x0001');
  })),
});
/** 17/06 key request. */
export type SNAC_0x17_0x06_BUCPChallengeRequest = Infer<typeof SNAC_0x17_0x06_BUCPChallengeRequest>;

/** Decodes 17/06. */
export const decodeKeyRequest: (body: Uint8Array) => SNAC_0x17_0x06_BUCPChallengeRequest = SNAC_0x17_0x06_BUCPChallengeRequest.decode;

/** Encodes 17/06: TLV 0x0001 screen name. */
export const encodeKeyRequest: (req: SNAC_0x17_0x06_BUCPChallengeRequest) => Uint8Array = SNAC_0x17_0x06_BUCPChallengeRequest.encode;

/** 17/07 key response (docs/protocol.md §2.1): u16 key length + key bytes (the challenge key); bytes after it are ignored. */
export const SNAC_0x17_0x07_BUCPChallengeResponse = body(block16, { trailing: 'ignore' });

/** Encodes 17/07: u16 key length + key bytes. */
export const encodeKeyResponse: (key: Uint8Array) => Uint8Array = SNAC_0x17_0x07_BUCPChallengeResponse.encode;

/** Decodes 17/07: u16 key length + key bytes (the challenge key). */
export const decodeKeyResponse: (body: Uint8Array) => Uint8Array = SNAC_0x17_0x07_BUCPChallengeResponse.decode;

/** The constant both classic 17/02 TLV 0x0025 answers end with (docs/protocol.md §2.1). */
const AIM_MD5_STRING = encodeText('AOL Instant Messenger (SM)');

/** MD5(key ‖ secret ‖ "AOL Instant Messenger (SM)"), the shape of both classic answers. */
function bucpAnswer(key: Uint8Array, secret: Uint8Array): Uint8Array {
  const input = new Uint8Array(key.length + secret.length + AIM_MD5_STRING.length);
  input.set(key, 0);
  input.set(secret, key.length);
  input.set(AIM_MD5_STRING, key.length + secret.length);
  return md5(input);
}

/** The classic "weak" 17/02 TLV 0x0025 response (AIM 3.5–4.7): MD5(key ‖ password ‖ "AOL Instant Messenger (SM)"), password UTF-8. */
export function weakPasswordHash(key: Uint8Array, password: string): Uint8Array {
  return bucpAnswer(key, encodeText(password));
}

/**
 * The classic "strong" 17/02 TLV 0x0025 response: MD5(key ‖ MD5(password) ‖ "AOL Instant Messenger (SM)")
 * (docs/protocol.md §2.1), sent with TLV 0x004C.
 */
export function strongPasswordHash(key: Uint8Array, password: string): Uint8Array {
  return bucpAnswer(key, md5(encodeText(password)));
}

/** 17/02 login request. */
export interface SNAC_0x17_0x02_BUCPLoginRequest {
  /** Screen name (TLV 0x0001). */
  screenName: string;
  /** 16-byte MD5 response (TLV 0x0025), when a classic login. */
  passwordHash?: Uint8Array;
  /** TLV 0x004C present: the "strong" pre-hashed variant. */
  strong: boolean;
  /** certim TLS-only plaintext password (TLV 0x7C01). */
  certimPassword?: string;
  /** Client id string (TLV 0x0003). */
  clientId?: string;
  /** Multi-conn flag (TLV 0x004A), 0 when absent. */
  multiConn: number;
  /** All TLVs as sent. */
  tlvs: TlvList;
}

/** Decodes 17/02. */
export function decodeLoginRequest(body: Uint8Array): SNAC_0x17_0x02_BUCPLoginRequest {
  const tlvs = readTlvRestList(new ByteReader(body));
  const screenName = tlvs.string(BucpTlv.SCREEN_NAME);
  if (screenName === undefined || screenName.length === 0) throw new WireError('BAD_VALUE', 0, '17/02 without screen name');
  const hash = tlvs.bytes(BucpTlv.PASSWORD_HASH);
  if (hash !== undefined && hash.length !== 16) throw new WireError('BAD_LENGTH', 0, '17/02 TLV 0x0025 must be 16 bytes');
  const mc = tlvs.bytes(BucpTlv.MULTI_CONN);
  const out: SNAC_0x17_0x02_BUCPLoginRequest = {
    screenName,
    strong: tlvs.has(BucpTlv.STRONG_HASH),
    multiConn: mc !== undefined && mc.length >= 1 ? mc[0]! : 0,
    tlvs,
  };
  if (hash !== undefined) out.passwordHash = hash;
  const pw = tlvs.string(TLV_CERTIM_PASSWORD);
  if (pw !== undefined) out.certimPassword = pw;
  const cid = tlvs.string(BucpTlv.CLIENT_ID);
  if (cid !== undefined) out.clientId = cid;
  return out;
}

/** The fields of a 17/02 to encode: {@link SNAC_0x17_0x02_BUCPLoginRequest} without the decoded TLVs. */
export type BucpLoginRequestFields = Omit<SNAC_0x17_0x02_BUCPLoginRequest, 'tlvs' | 'strong' | 'multiConn'> & {
  /** Send TLV 0x004C (the "strong" pre-hashed variant). */
  strong?: boolean;
  /** Multi-conn flag (TLV 0x004A); omitted when undefined. */
  multiConn?: number;
};

/** Encodes 17/02: SN, then (when given) 0x0025 hash, 0x004C, 0x7C01 password, 0x0003 client id, 0x004A multi-conn. */
export function encodeLoginRequest(req: BucpLoginRequestFields): Uint8Array {
  const items: Tlv[] = [tlvString(BucpTlv.SCREEN_NAME, req.screenName)];
  if (req.passwordHash !== undefined) items.push(tlv(BucpTlv.PASSWORD_HASH, req.passwordHash));
  if (req.strong) items.push(tlv(BucpTlv.STRONG_HASH));
  if (req.certimPassword !== undefined) items.push(tlv(TLV_CERTIM_PASSWORD, encodeText(req.certimPassword)));
  if (req.clientId !== undefined) items.push(tlvString(BucpTlv.CLIENT_ID, req.clientId));
  if (req.multiConn !== undefined) items.push(tlvU8(BucpTlv.MULTI_CONN, req.multiConn));
  return writeTlvRestList(new ByteWriter(128), items).finish();
}

/** A decoded 17/03 (also the TLVs of an old-style ch-4 login response). */
export type SNAC_0x17_0x03_BUCPLoginResponse =
  | { ok: true; screenName: string; bosAddress: string; cookie: Uint8Array }
  | { ok: false; errorCode: number; errorUrl?: string };

/**
 * Decodes 17/03: TLV 0x0008 error code, or else 0x0005 BOS address and 0x0006 cookie (0x0001 SN, '' when absent);
 * WireError BAD_VALUE when it has neither.
 */
export function decodeLoginResponse(body: Uint8Array): SNAC_0x17_0x03_BUCPLoginResponse {
  const tlvs = readTlvRestList(new ByteReader(body));
  const err = tlvs.u16(BucpTlv.ERROR_CODE);
  if (err !== undefined) {
    const url = tlvs.string(BucpTlv.ERROR_URL);
    return url === undefined ? { ok: false, errorCode: err } : { ok: false, errorCode: err, errorUrl: url };
  }
  const bos = tlvs.string(BucpTlv.BOS_ADDRESS);
  const cookie = tlvs.bytes(BucpTlv.COOKIE);
  if (bos === undefined || cookie === undefined) throw new WireError('BAD_VALUE', 0, 'login reply has neither an error nor a BOS address and cookie');
  return { ok: true, screenName: tlvs.string(BucpTlv.SCREEN_NAME) ?? '', bosAddress: bos, cookie };
}

/** Encodes a successful 17/03: SN, BOS address `host:port`, cookie. */
export function encodeLoginSuccess(screenName: string, bosAddress: string, cookie: Uint8Array): Uint8Array {
  const items: Tlv[] = [tlvString(BucpTlv.SCREEN_NAME, screenName), tlvString(BucpTlv.BOS_ADDRESS, bosAddress), tlv(BucpTlv.COOKIE, cookie)];
  return writeTlvRestList(new ByteWriter(cookie.length + 64), items).finish();
}

/**
 * Encodes a failed 17/03: SN, u16 error code, error URL (TLV 0x0004; classic clients show it as "more
 * information"). `url` defaults to `https://certim.invalid/login-error/<code>`; certim puts the wait of a
 * throttled login into it (`?retry-after=<seconds>`).
 */
export function encodeLoginFailure(screenName: string, code: number, url = `https://certim.invalid/login-error/${code}`): Uint8Array {
  return writeTlvRestList(new ByteWriter(64), [
    tlvString(BucpTlv.SCREEN_NAME, screenName),
    tlvU16(BucpTlv.ERROR_CODE, code),
    tlv(BucpTlv.ERROR_URL, encodeText(url)),
  ]).finish();
}
