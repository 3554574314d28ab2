/**
 * ICBM message structures (docs/protocol.md §3.4, `R:wire/snacs.go`, `JP/snaccmd/icbm/AbstractImIcbm.java`):
 *
 * - `04/06` IcbmChannelMsgToHost:   u64 cookie · u16 channel · string08 recipient SN · TLV rest-list
 * - `04/07` IcbmChannelMsgToClient: u64 cookie · u16 channel · sender user info (§4) · TLV rest-list
 * - channel-1 TLV 0x0002 = fragments {u8 id, u8 version, u16 length, data}:
 *     05 01 features byte list · 01 01 message part (u16 charset, u16 subset, text) · 0D 01 encryption code
 *
 * An encrypted IM carries fragment 0x0D (u16 0x0001), optionally 05 01, then 01 01 with charset/subset 0 and
 * the raw CMS EnvelopedData as "text". Fragment 0x0D present => encrypted. Servers relay it untouched.
 */
import { ByteReader, ByteWriter, WireError, decodeText, decodeTextAt, type TextMemo } from './bytes.js';
import { TlvList, readTlvRestList, tlv, writeTlvRestList, type Tlv } from './tlv.js';
import { readUserInfo, writeUserInfo, type UserInfo, type UserInfoFields } from './user-info.js';

/** ICBM channels. */
export const IcbmChannel = {
  /** Plain (and AIM Secure IM) instant messages. */
  Im: 0x0001,
  /** Rendezvous. */
  Rendezvous: 0x0002,
  /** ICQ. */
  Icq: 0x0004,
} as const;

/** ICBM family id. */
export const ICBM_FAMILY = 0x0004;

/** ICBM subtypes. */
export const IcbmSubtype = {
  ERROR: 0x01,
  ADD_PARAMETERS: 0x02,
  PARAMETER_QUERY: 0x04,
  PARAMETER_REPLY: 0x05,
  CHANNEL_MSG_TO_HOST: 0x06,
  CHANNEL_MSG_TO_CLIENT: 0x07,
  EVIL_REQUEST: 0x08,
  EVIL_REPLY: 0x09,
  MISSED_CALLS: 0x0a,
  CLIENT_ERR: 0x0b,
  HOST_ACK: 0x0c,
  CLIENT_EVENT: 0x14,
} as const;

/** TLVs of 04/06 / 04/07 (docs/protocol.md §3.4). */
export const IcbmTlv = {
  IM_DATA: 0x0002,
  REQUEST_HOST_ACK: 0x0003,
  AUTO_RESPONSE: 0x0004,
  RENDEZVOUS: 0x0005,
  STORE_OFFLINE: 0x0006,
  ICON_INFO: 0x0008,
  WANTS_ICON: 0x0009,
  /** `04/07` only: sender supports typing notifications. */
  SUPPORTS_TYPING: 0x000b,
  BART: 0x000d,
  /** Offline delivery timestamp u32 (AIM 6 / libpurple; inferred for AIM 5 which ignores it). */
  OFFLINE_TIMESTAMP: 0x0016,
  /**
   * certim extension, `04/07` only: "you sent this from another session to <screen name>" (ASCII string). The
   * server adds it to the copy of a user's own IM that it gives the user's other certim sessions (those that
   * announced certim's capability); the user-info block of such a copy is the user's own. Classic clients never
   * receive it.
   */
  CERTIM_SENT_TO: 0x7c02,
} as const;

/** Size of the ICBM cookie. */
export const ICBM_COOKIE_SIZE = 8;

/** `04/06`: client -> server send. `cookie` is an opaque 8-byte view. */
export interface IcbmChannelMsgToHost {
  readonly cookie: Uint8Array;
  readonly channel: number;
  /** Recipient (never empty). */
  readonly screenName: string;
  /** The TLV rest-list bytes, verbatim (what a server relays or stores). */
  readonly tlvBytes: Uint8Array;
  /** The same TLVs decoded. */
  readonly tlvs: TlvList;
}

/** `04/07`: server -> client delivery. */
export interface IcbmChannelMsgToClient {
  readonly cookie: Uint8Array;
  readonly channel: number;
  readonly sender: UserInfo;
  readonly tlvs: TlvList;
}

/** Decodes a `04/06` body. */
export function decodeIcbmChannelMsgToHost(body: Uint8Array): IcbmChannelMsgToHost {
  const r = new ByteReader(body);
  const cookie = r.bytes(ICBM_COOKIE_SIZE, 'ICBM cookie');
  const channel = r.u16('ICBM channel');
  const sn = r.block8('recipient screen name');
  if (sn.length === 0) throw new WireError('BAD_VALUE', r.offset, 'empty recipient screen name');
  const start = r.offset;
  return { cookie, channel, screenName: decodeText(sn), tlvBytes: body.subarray(start), tlvs: readTlvRestList(r) };
}

/**
 * A `04/06` body located in place, for the relay path (docs/protocol.md §3.4): the recipient, the channel and where
 * the TLV rest-list starts, plus what the server acts on, without a view or an object per field or TLV. Decoding
 * the same body with {@link decodeIcbmChannelMsgToHost} gives the same fields.
 */
export interface IcbmChannelMsgToHostScan {
  /** The scanned body (`04/06` body bytes 0..7 are the cookie). */
  readonly body: Uint8Array;
  readonly channel: number;
  /** Recipient (never empty). */
  readonly screenName: string;
  /** Offset of the TLV rest-list in `body`: the cookie, channel and recipient come before it. */
  readonly tlvStart: number;
  /**
   * Total length of the TLVs 0x0002 (IM data), -1 when there is none. A body may repeat the TLV, and the recipient
   * gets every copy, so the message length limit applies to all of them together.
   */
  readonly imDataLength: number;
  /** TLV 0x0003 present: the sender asks for a `04/0C` host ack. */
  readonly requestsAck: boolean;
  /** TLV 0x0006 present: store the IM if the recipient is offline. */
  readonly storeOffline: boolean;
  /** TLV 0x0005 present (rendezvous data on channel 2). */
  readonly hasRendezvous: boolean;
}

/**
 * Scans a `04/06` body: the checks of {@link decodeIcbmChannelMsgToHost}, with the same WireErrors for the same
 * bodies (truncated fixed fields, empty recipient, a TLV running past the end), but no views or TLV objects. With
 * `names` (the sender's memo of its last recipient), a recipient named as last time is not decoded again.
 */
export function scanIcbmChannelMsgToHost(body: Uint8Array, names?: TextMemo): IcbmChannelMsgToHostScan {
  const end = body.length;
  if (end < ICBM_COOKIE_SIZE) throw new WireError('TRUNCATED', 0, `ICBM cookie needs ${ICBM_COOKIE_SIZE} bytes, ${end} left`);
  if (end < 10) throw new WireError('TRUNCATED', 8, `ICBM channel needs 2 bytes, ${end - 8} left`);
  const channel = (body[8]! << 8) | body[9]!;
  if (end < 11) throw new WireError('TRUNCATED', 10, 'recipient screen name needs 1 bytes, 0 left');
  const snLength = body[10]!;
  if (11 + snLength > end) throw new WireError('TRUNCATED', 11, `recipient screen name needs ${snLength} bytes, ${end - 11} left`);
  if (snLength === 0) throw new WireError('BAD_VALUE', 11, 'empty recipient screen name');
  const tlvStart = 11 + snLength;
  let imDataLength = -1;
  let requestsAck = false;
  let storeOffline = false;
  let hasRendezvous = false;
  let o = tlvStart;
  while (o < end) {
    if (o + 4 > end) throw new WireError('TRUNCATED', o, `TLV header needs 4 bytes, ${end - o} left`);
    const type = (body[o]! << 8) | body[o + 1]!;
    const len = (body[o + 2]! << 8) | body[o + 3]!;
    const v = o + 4;
    if (v + len > end) throw new WireError('TRUNCATED', v, `TLV 0x${type.toString(16).padStart(4, '0')} value needs ${len} bytes, ${end - v} left`);
    if (type === IcbmTlv.IM_DATA) imDataLength = Math.max(imDataLength, 0) + len;
    else if (type === IcbmTlv.REQUEST_HOST_ACK) requestsAck = true;
    else if (type === IcbmTlv.STORE_OFFLINE) storeOffline = true;
    else if (type === IcbmTlv.RENDEZVOUS) hasRendezvous = true;
    o = v + len;
  }
  return { body, channel, screenName: names ? names.decode(body, 11, tlvStart) : decodeTextAt(body, 11, tlvStart), tlvStart, imDataLength, requestsAck, storeOffline, hasRendezvous };
}

/** Encodes a `04/06` body. */
export function encodeIcbmChannelMsgToHost(m: { cookie: Uint8Array; channel: number; screenName: string; tlvs: Iterable<Tlv> }): Uint8Array {
  if (m.cookie.length !== ICBM_COOKIE_SIZE) throw new RangeError('ICBM cookie must be 8 bytes');
  const w = new ByteWriter(128).bytes(m.cookie).u16(m.channel).string8(m.screenName);
  return writeTlvRestList(w, m.tlvs).finish();
}

/** Decodes a `04/07` body. */
export function decodeIcbmChannelMsgToClient(body: Uint8Array): IcbmChannelMsgToClient {
  const r = new ByteReader(body);
  const cookie = r.bytes(ICBM_COOKIE_SIZE, 'ICBM cookie');
  const channel = r.u16('ICBM channel');
  const sender = readUserInfo(r);
  return { cookie, channel, sender, tlvs: readTlvRestList(r) };
}

/** Encodes a `04/07` body. */
export function encodeIcbmChannelMsgToClient(m: { cookie: Uint8Array; channel: number; sender: UserInfoFields | UserInfo; tlvs: Iterable<Tlv> }): Uint8Array {
  if (m.cookie.length !== ICBM_COOKIE_SIZE) throw new RangeError('ICBM cookie must be 8 bytes');
  const w = new ByteWriter(256).bytes(m.cookie).u16(m.channel);
  writeUserInfo(w, m.sender);
  return writeTlvRestList(w, m.tlvs).finish();
}

/** Fragment ids inside channel-1 TLV 0x0002 (all with version 0x01). */
export const ImFragmentId = {
  MessagePart: 0x01,
  Features: 0x05,
  EncryptionCode: 0x0d,
} as const;

/** Fragment version used by every known client. */
export const IM_FRAGMENT_VERSION = 0x01;

/** One channel-1 fragment. */
export interface ImFragment {
  readonly id: number;
  readonly version: number;
  /** View into the decoded buffer. */
  readonly data: Uint8Array;
}

/** Message charsets (`JP/ImEncodingParams.java`). */
export const ImCharset = {
  Ascii: 0x0000,
  Utf16be: 0x0002,
  Latin1: 0x0003,
} as const;

/** Encryption code value for an AIM Secure IM CMS payload. */
export const IM_ENCRYPTION_SECURE_IM = 0x0001;

/** Default features byte list (what OOS sends). */
export const DEFAULT_IM_FEATURES: Uint8Array = new Uint8Array([0x01, 0x01, 0x02]);

/** Decodes a fragment list (the whole value of TLV 0x0002). */
export function decodeImFragments(buf: Uint8Array): ImFragment[] {
  const out: ImFragment[] = [];
  let o = 0;
  const n = buf.length;
  while (o < n) {
    if (o + 4 > n) throw new WireError('TRUNCATED', o, `IM fragment header needs 4 bytes, ${n - o} left`);
    const len = (buf[o + 2]! << 8) | buf[o + 3]!;
    if (o + 4 + len > n) throw new WireError('TRUNCATED', o + 4, `IM fragment needs ${len} bytes, ${n - o - 4} left`);
    out.push({ id: buf[o]!, version: buf[o + 1]!, data: buf.subarray(o + 4, o + 4 + len) });
    o += 4 + len;
  }
  return out;
}

/** Encodes a fragment list. */
export function encodeImFragments(frags: readonly ImFragment[]): Uint8Array {
  const w = new ByteWriter(64);
  for (const f of frags) w.u8(f.id).u8(f.version).block16(f.data);
  return w.finish();
}

/** A decoded message part (fragment 01 01). */
export interface ImMessagePart {
  readonly charset: number;
  readonly charsetSubset: number;
  /** Text bytes in `charset` — or, for encrypted IMs, the raw CMS EnvelopedData. */
  readonly text: Uint8Array;
}

/** A decoded channel-1 message (TLV 0x0002 value). */
export interface ImMessage {
  /** Fragment 05 01 data, if present (last one wins). */
  readonly features: Uint8Array | undefined;
  /** Fragment 0D 01 u16 encryption code, if present. */
  readonly encryptionCode: number | undefined;
  /** Message parts (01 01), in order. */
  readonly parts: readonly ImMessagePart[];
  /** All fragments as received, including unknown ids. */
  readonly fragments: readonly ImFragment[];
}

/** True if the message carries an encryption-code fragment (docs/protocol.md §3.4: 0x0D present => encrypted). */
export function isEncryptedIm(m: ImMessage): boolean {
  return m.encryptionCode !== undefined;
}

/**
 * Decodes the value of channel-1 TLV 0x0002. Unknown fragment ids are kept in `fragments` and otherwise
 * ignored; a message part shorter than its 4-byte charset header, or an encryption code that is not exactly
 * u16, is a WireError.
 */
export function decodeImMessage(buf: Uint8Array): ImMessage {
  const fragments = decodeImFragments(buf);
  let features: Uint8Array | undefined;
  let encryptionCode: number | undefined;
  const parts: ImMessagePart[] = [];
  for (const f of fragments) {
    const at = f.data.byteOffset - buf.byteOffset;
    if (f.id === ImFragmentId.Features) features = f.data;
    else if (f.id === ImFragmentId.EncryptionCode) {
      if (f.data.length !== 2) throw new WireError('BAD_LENGTH', at, `encryption code fragment must be 2 bytes, is ${f.data.length}`);
      encryptionCode = (f.data[0]! << 8) | f.data[1]!;
    } else if (f.id === ImFragmentId.MessagePart) {
      if (f.data.length < 4) throw new WireError('TRUNCATED', at, `message part needs 4 charset bytes, has ${f.data.length}`);
      parts.push({ charset: (f.data[0]! << 8) | f.data[1]!, charsetSubset: (f.data[2]! << 8) | f.data[3]!, text: f.data.subarray(4) });
    }
  }
  return { features, encryptionCode, parts, fragments };
}

/** Input for {@link encodeImMessage}. */
export interface ImMessageInput {
  /** Features list (default {@link DEFAULT_IM_FEATURES}); pass an empty array to omit the fragment. */
  features?: Uint8Array;
  /** Encryption code; when set, written FIRST, as AIM does for Secure IM. */
  encryptionCode?: number;
  parts: readonly { charset: number; charsetSubset?: number; text: Uint8Array }[];
}

/** Encodes the value of channel-1 TLV 0x0002: [0D 01], [05 01], 01 01 parts. */
export function encodeImMessage(m: ImMessageInput): Uint8Array {
  const w = new ByteWriter(64 + m.parts.reduce((a, p) => a + p.text.length + 8, 0));
  if (m.encryptionCode !== undefined) w.u8(ImFragmentId.EncryptionCode).u8(IM_FRAGMENT_VERSION).u16(2).u16(m.encryptionCode);
  const features = m.features ?? DEFAULT_IM_FEATURES;
  if (features.length > 0) w.u8(ImFragmentId.Features).u8(IM_FRAGMENT_VERSION).block16(features);
  for (const p of m.parts) {
    if (p.text.length + 4 > 0xffff) throw new RangeError(`message part too long: ${p.text.length}`);
    w.u8(ImFragmentId.MessagePart).u8(IM_FRAGMENT_VERSION).u16(p.text.length + 4).u16(p.charset).u16(p.charsetSubset ?? 0).bytes(p.text);
  }
  return w.finish();
}

/** Encodes an AIM Secure IM channel-1 TLV 0x0002 value: 0D 01 (0x0001), 05 01, 01 01 with charset 0/0 + CMS. */
export function encodeEncryptedImMessage(cms: Uint8Array, features: Uint8Array = DEFAULT_IM_FEATURES): Uint8Array {
  return encodeImMessage({ encryptionCode: IM_ENCRYPTION_SECURE_IM, features, parts: [{ charset: 0, charsetSubset: 0, text: cms }] });
}

/** Convenience: the TLV 0x0002 carrying a channel-1 message. */
export function imDataTlv(m: ImMessageInput): Tlv {
  return tlv(IcbmTlv.IM_DATA, encodeImMessage(m));
}
