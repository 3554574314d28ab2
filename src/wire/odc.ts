/**
 * Direct IM (ODC2) framing (docs/protocol.md §8.4): every packet on a Direct IM peer connection is a header — `ODC2`,
 * u16 header length (76), fixed fields, the sender's screen name — followed by `payloadLength` bytes of message.
 * Pure functions plus a streaming deframer; decoders are bounds-checked and fail only with `WireError`.
 */
import { ByteReader, WireError, allocBytes } from './bytes.js';

/** The protocol tag every header starts with. */
export const ODC_MAGIC = Uint8Array.from([0x4f, 0x44, 0x43, 0x32]); // "ODC2"
/** The header length AIM writes (docs/protocol.md §8.4). */
export const ODC_HEADER_SIZE = 76;
/** Largest header length accepted (the fields we read end at offset 60; a longer header's tail is skipped). */
export const ODC_MAX_HEADER_SIZE = 1024;
/** Bytes of the screen-name field (offset 44), NUL-padded. */
export const ODC_SCREEN_NAME_SIZE = 16;

/** Header flags (docs/protocol.md §8.4). */
export const OdcFlag = {
  /** An automatic reply (away message). */
  AutoResponse: 0x01,
  /** A typing notice; with Typing = typing, with Typed = paused, alone = erased. */
  TypingPacket: 0x02,
  Typed: 0x04,
  Typing: 0x08,
  /** The accepting side's first header confirms the rendezvous cookie (AIM and iChat always add 0x40). */
  Confirmation: 0x20,
  ConfirmationExtra: 0x40,
} as const;

/** One ODC2 header. */
export interface OdcHeader {
  /** 8 bytes: the rendezvous cookie in the confirmation header, else zeros. */
  cookie: Uint8Array;
  /** Bytes of message that follow the header. */
  payloadLength: number;
  /** Message charset (the ICBM codes: 0 ASCII, 2 UTF-16BE, 3 ISO-8859-1). */
  charset: number;
  /** Charset subset (0). */
  charsetSubset: number;
  /** {@link OdcFlag} bits. */
  flags: number;
  /** Sender's screen name (at most 16 bytes on the wire). */
  screenName: string;
}

/** One decoded packet: header plus its payload (a view into the deframer's input or an exact-size copy). */
export interface OdcFrame {
  header: OdcHeader;
  payload: Uint8Array;
}

const ZERO_COOKIE = new Uint8Array(8);

/** Encodes a 76-byte header (RangeError for a cookie that is not 8 bytes or a screen name over 16 bytes). */
export function encodeOdcHeader(h: Partial<OdcHeader> & { screenName: string }): Uint8Array {
  const cookie = h.cookie ?? ZERO_COOKIE;
  if (cookie.length !== 8) throw new RangeError('ODC cookie must be 8 bytes');
  const sn = new TextEncoder().encode(h.screenName);
  if (sn.length > ODC_SCREEN_NAME_SIZE) throw new RangeError(`screen name over ${ODC_SCREEN_NAME_SIZE} bytes`);
  const len = h.payloadLength ?? 0;
  if (!Number.isInteger(len) || len < 0 || len > 0xffffffff) throw new RangeError('payload length out of range');
  const out = allocBytes(ODC_HEADER_SIZE);
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out.set(ODC_MAGIC, 0);
  v.setUint16(4, ODC_HEADER_SIZE);
  v.setUint16(6, 0x0001);
  v.setUint16(8, 0x0006);
  out.set(cookie, 12);
  v.setUint32(28, len);
  v.setUint16(32, h.charset ?? 0);
  v.setUint16(34, h.charsetSubset ?? 0);
  v.setUint32(36, h.flags ?? 0);
  out.set(sn, 44);
  return out;
}

/**
 * Reads the header length from the first 6 bytes, checking the tag and the bounds (BAD_VALUE for another tag,
 * BAD_LENGTH for a length below the fields we read or above {@link ODC_MAX_HEADER_SIZE}).
 */
export function odcHeaderLength(first6: Uint8Array): number {
  const r = new ByteReader(first6);
  const tag = r.bytes(4, 'ODC tag');
  if (!tag.every((b, i) => b === ODC_MAGIC[i])) throw new WireError('BAD_VALUE', 0, 'not an ODC2 header');
  const len = r.u16('ODC header length');
  if (len < 60 || len > ODC_MAX_HEADER_SIZE) throw new WireError('BAD_LENGTH', 4, `ODC header length ${len} outside 60..${ODC_MAX_HEADER_SIZE}`);
  return len;
}

/** Decodes one complete header (exactly its header-length bytes; TRAILING_BYTES otherwise). */
export function decodeOdcHeader(b: Uint8Array): OdcHeader {
  const len = odcHeaderLength(b.subarray(0, 6));
  if (b.length !== len) throw new WireError(b.length < len ? 'TRUNCATED' : 'TRAILING_BYTES', Math.min(b.length, len), `ODC header is ${len} bytes, got ${b.length}`);
  const r = new ByteReader(b, 12);
  const cookie = r.bytes(8, 'cookie');
  r.skip(8);
  const payloadLength = r.u32('payload length');
  const charset = r.u16('charset');
  const charsetSubset = r.u16('charset subset');
  const flags = r.u32('flags');
  r.skip(4);
  const snField = r.bytes(ODC_SCREEN_NAME_SIZE, 'screen name');
  const nul = snField.indexOf(0);
  const screenName = new TextDecoder('utf-8', { fatal: false }).decode(nul < 0 ? snField : snField.subarray(0, nul));
  return { cookie, payloadLength, charset, charsetSubset, flags, screenName };
}

/** Limits of an {@link OdcDeframer}. */
export interface OdcLimits {
  /** Largest payload accepted; a larger announced length fails with FRAME_TOO_LARGE before any allocation. */
  maxPayload: number;
}

/**
 * Streaming ODC2 deframer: `push` takes bytes in any chunking and returns the complete packets. The header length
 * is checked as soon as 6 bytes are in and the payload length as soon as the header is; nothing larger than
 * `maxPayload` is ever buffered. A framing error is thrown and poisons the deframer (every later push rethrows it):
 * a stream that lost its framing cannot be resynchronised, so the connection must close.
 */
export class OdcDeframer {
  /** Received bytes not yet returned as packets: `buf[0..len)`. Grown by doubling, so a packet that arrives a byte
   * at a time costs O(size) to collect, not a copy of all that came before per byte. */
  private buf: Uint8Array = new Uint8Array(0);
  private len = 0;
  private failed: WireError | undefined;

  constructor(private readonly limits: OdcLimits) {}

  /** Bytes held for an incomplete packet. */
  get buffered(): number {
    return this.len;
  }

  /** Adds bytes; returns every packet now complete, in order. */
  push(chunk: Uint8Array): OdcFrame[] {
    if (this.failed) throw this.failed;
    this.append(chunk);
    const out: OdcFrame[] = [];
    let at = 0;
    try {
      for (;;) {
        const avail = this.len - at;
        if (avail < 6) break;
        const data = this.buf.subarray(at, this.len);
        const hlen = odcHeaderLength(data.subarray(0, 6));
        if (avail < hlen) break;
        const header = decodeOdcHeader(data.subarray(0, hlen));
        if (header.payloadLength > this.limits.maxPayload) {
          throw new WireError('FRAME_TOO_LARGE', 28, `ODC payload of ${header.payloadLength} bytes over the limit of ${this.limits.maxPayload}`);
        }
        const total = hlen + header.payloadLength;
        if (avail < total) break;
        out.push({ header: { ...header, cookie: header.cookie.slice() }, payload: data.slice(hlen, total) });
        at += total;
      }
    } catch (e) {
      this.failed = e instanceof WireError ? e : new WireError('BAD_VALUE', 0, String(e));
      this.buf = new Uint8Array(0);
      this.len = 0;
      throw this.failed;
    }
    if (at > 0) {
      this.buf.copyWithin(0, at, this.len);
      this.len -= at;
    }
    if (this.len === 0 && this.buf.length > 65_536) this.buf = new Uint8Array(0);
    return out;
  }

  private append(chunk: Uint8Array): void {
    const need = this.len + chunk.length;
    if (need > this.buf.length) {
      const grown = allocBytes(Math.max(need, this.buf.length * 2, 256));
      grown.set(this.buf.subarray(0, this.len), 0);
      this.buf = grown;
    }
    this.buf.set(chunk, this.len);
    this.len = need;
  }
}

/** The typing state a typing packet carries (docs/protocol.md §8.4). */
export function odcTypingState(flags: number): 'typing' | 'paused' | 'none' | undefined {
  if ((flags & OdcFlag.TypingPacket) === 0) return undefined;
  if (flags & OdcFlag.Typing) return 'typing';
  if (flags & OdcFlag.Typed) return 'paused';
  return 'none';
}

/** Header flags of a typing packet for a state. */
export function odcTypingFlags(state: 'typing' | 'paused' | 'none'): number {
  return OdcFlag.TypingPacket | (state === 'typing' ? OdcFlag.Typing : state === 'paused' ? OdcFlag.Typed : 0);
}
