/**
 * SNAC header and SNAC error payload (docs/protocol.md §1.2, §1.5). A channel-2 FLAP payload is exactly one SNAC:
 *
 *   u16 family · u16 subtype · u16 flags · u32 request id · body
 *
 * Flag 0x8000 means the body starts with u16 N + N bytes of family-version TLVs which must be skipped before
 * the real body (`JP/snac/FamilyVersionPreprocessor.java`; OOS ignores the flag — we do not).
 */
import { ByteReader, ByteWriter, WireError, allocBytes, viewOf } from './bytes.js';
import { FLAP_HEADER_SIZE, FLAP_MAX_PAYLOAD, FLAP_START, FlapChannel } from './flap.js';
import { TlvList, readTlvRestList, writeTlvRestList, type Tlv } from './tlv.js';

/** Size of the SNAC header. */
export const SNAC_HEADER_SIZE = 10;

/** SNAC header flag bits. */
export const SnacFlag = {
  /** More replies follow for this request id (e.g. multi-packet feedbag replies). */
  MoreReplies: 0x0001,
  /** Body is prefixed by u16 N + N bytes of family-version TLVs. */
  FamilyVersionPrefix: 0x8000,
} as const;

/** The 10-byte SNAC header. */
export interface SnacHeader {
  /** u16 family ("food group"). */
  readonly family: number;
  /** u16 subtype. */
  readonly subtype: number;
  /** u16 flags (see {@link SnacFlag}). */
  readonly flags: number;
  /** u32 request id; replies echo it. */
  readonly requestId: number;
}

/** A decoded SNAC: header plus the body with any family-version prefix already removed. */
export interface Snac extends SnacHeader {
  /** Body bytes (view into the frame payload). */
  readonly body: Uint8Array;
  /** Offset of `body` inside the payload, so body-level errors can be mapped back. */
  readonly bodyOffset: number;
  /** Family-version TLV bytes skipped because of flag 0x8000 (undefined when the flag is clear). */
  readonly versionPrefix: Uint8Array | undefined;
}

/** Decodes only the 10-byte header at `offset` of `buf`. */
export function decodeSnacHeader(buf: Uint8Array, offset = 0): SnacHeader {
  if (offset < 0 || offset + SNAC_HEADER_SIZE > buf.length) {
    throw new WireError('TRUNCATED', Math.max(0, offset), `SNAC header needs 10 bytes, ${Math.max(0, buf.length - offset)} left`);
  }
  const b = buf;
  const o = offset;
  return {
    family: (b[o]! << 8) | b[o + 1]!,
    subtype: (b[o + 2]! << 8) | b[o + 3]!,
    flags: (b[o + 4]! << 8) | b[o + 5]!,
    requestId: ((b[o + 6]! << 24) >>> 0) + ((b[o + 7]! << 16) | (b[o + 8]! << 8) | b[o + 9]!),
  };
}

/** Decodes a channel-2 FLAP payload into header + body, skipping a flag-0x8000 version prefix. */
export function decodeSnac(payload: Uint8Array): Snac {
  const h = decodeSnacHeader(payload, 0);
  let bodyOffset = SNAC_HEADER_SIZE;
  let versionPrefix: Uint8Array | undefined;
  if ((h.flags & SnacFlag.FamilyVersionPrefix) !== 0) {
    const r = new ByteReader(payload, SNAC_HEADER_SIZE);
    versionPrefix = r.block16('SNAC family-version prefix');
    bodyOffset = r.offset;
  }
  // Spelled out: an object spread here measured ~20x slower on Node 20 (bench/wire.bench.ts).
  return { family: h.family, subtype: h.subtype, flags: h.flags, requestId: h.requestId, body: payload.subarray(bodyOffset), bodyOffset, versionPrefix };
}

/** Writes a SNAC header. */
export function writeSnacHeader(w: ByteWriter, h: SnacHeader): ByteWriter {
  return w.u16(h.family).u16(h.subtype).u16(h.flags).u32(h.requestId);
}

/**
 * Encodes a SNAC (header + body) as a channel-2 FLAP payload. If `flags` has 0x8000, `versionPrefix`
 * (default empty) is written as u16 N + N bytes before the body.
 */
export function encodeSnac(h: SnacHeader, body: Uint8Array, versionPrefix?: Uint8Array): Uint8Array {
  const w = new ByteWriter(SNAC_HEADER_SIZE + body.length + 2 + (versionPrefix?.length ?? 0));
  writeSnacHeader(w, h);
  if ((h.flags & SnacFlag.FamilyVersionPrefix) !== 0) w.block16(versionPrefix ?? new Uint8Array(0));
  return w.bytes(body).finish();
}

/** Bytes a channel-2 frame puts before its SNAC body: the FLAP header and the SNAC header. */
export const SNAC_FRAME_OVERHEAD = FLAP_HEADER_SIZE + SNAC_HEADER_SIZE;

/** The body last handed out by {@link allocSnacBody} whose reserved frame header is still unused, and its frame. */
let framedBody: Uint8Array | undefined;
let framedFrame: Uint8Array | undefined;

/**
 * A zero-filled SNAC body of `size` bytes with room for its frame's header reserved just before it, for a body that
 * is encoded once and sent at once (a relayed `04/07`): the first {@link encodeSnacFrame} of exactly this array
 * writes the header into that room and returns the frame without copying the body. Any later framing of the same
 * body (a second recipient) copies as usual, so the body's bytes are never changed.
 */
export function allocSnacBody(size: number): Uint8Array {
  const frame = allocBytes(SNAC_FRAME_OVERHEAD + size);
  const body = viewOf(frame, SNAC_FRAME_OVERHEAD, size);
  framedBody = body;
  framedFrame = frame;
  return body;
}

/**
 * Encodes a whole channel-2 FLAP frame carrying one SNAC in a single allocation (the server's send path), or, for
 * a body from {@link allocSnacBody} framed for the first time, in the room reserved before it (no allocation, no
 * copy). Throws RangeError if the SNAC exceeds a FLAP payload.
 */
export function encodeSnacFrame(sequence: number, h: SnacHeader, body: Uint8Array): Uint8Array {
  return encodeSnacFrameOf(sequence, h.family, h.subtype, h.flags, h.requestId, body);
}

/** {@link encodeSnacFrame} with the header's fields as arguments (the server's send path: no header object per SNAC). */
export function encodeSnacFrameOf(sequence: number, family: number, subtype: number, flags: number, id: number, body: Uint8Array): Uint8Array {
  const len = SNAC_HEADER_SIZE + body.length;
  if (len > FLAP_MAX_PAYLOAD) throw new RangeError(`SNAC too large for one FLAP frame: ${len}`);
  // Written byte by byte into one exact-size array (no growable writer): this runs once per SNAC sent.
  u16InRange(sequence, 'u16');
  u16InRange(family, 'u16');
  u16InRange(subtype, 'u16');
  u16InRange(flags, 'u16');
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError(`u32 out of range: ${id}`);
  const inPlace = body === framedBody;
  const out = inPlace ? framedFrame! : allocBytes(FLAP_HEADER_SIZE + len);
  if (inPlace) framedBody = framedFrame = undefined;
  out[0] = FLAP_START;
  out[1] = FlapChannel.Data;
  out[2] = sequence >> 8;
  out[3] = sequence & 0xff;
  out[4] = len >> 8;
  out[5] = len & 0xff;
  out[6] = family >> 8;
  out[7] = family & 0xff;
  out[8] = subtype >> 8;
  out[9] = subtype & 0xff;
  out[10] = flags >> 8;
  out[11] = flags & 0xff;
  out[12] = id >>> 24;
  out[13] = (id >>> 16) & 0xff;
  out[14] = (id >>> 8) & 0xff;
  out[15] = id & 0xff;
  if (!inPlace) out.set(body, FLAP_HEADER_SIZE + SNAC_HEADER_SIZE);
  return out;
}

/** The RangeError `ByteWriter.u16` throws for a value that does not fit (same message). */
function u16InRange(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`${what} out of range: ${v}`);
}

/** The SNAC error subtype, the same in every family. */
export const SNAC_ERROR_SUBTYPE = 0x0001;

/** SNAC error codes (docs/protocol.md §1.5; full list as in `R:wire/snacs.go`). */
export const SnacErrorCode = {
  InvalidSnac: 0x01,
  RateToHost: 0x02,
  RateToClient: 0x03,
  NotLoggedOn: 0x04,
  ServiceUnavailable: 0x05,
  ServiceNotDefined: 0x06,
  ObsoleteSnac: 0x07,
  NotSupportedByHost: 0x08,
  NotSupportedByClient: 0x09,
  RefusedByClient: 0x0a,
  ReplyTooBig: 0x0b,
  ResponsesLost: 0x0c,
  RequestDenied: 0x0d,
  MalformedPayload: 0x0e,
  InsufficientRights: 0x0f,
  InLocalPermitDeny: 0x10,
  SenderTooEvil: 0x11,
  ReceiverTooEvil: 0x12,
  TemporarilyUnavailable: 0x13,
  NoMatch: 0x14,
  ListOverflow: 0x15,
  RequestAmbiguous: 0x16,
  QueueFull: 0x17,
  NotWhileOnAol: 0x18,
  QueryFail: 0x19,
  Timeout: 0x1a,
  ErrorText: 0x1b,
  GeneralFailure: 0x1c,
  Progress: 0x1d,
  InFreeArea: 0x1e,
  RestrictedByParentalControls: 0x1f,
  RemoteRestrictedByParentalControls: 0x20,
} as const;

/** Well-known TLVs in a SNAC error's TLV list (`R:wire/snacs.go` ErrorTags). */
export const SnacErrorTlv = {
  FailUrl: 0x0004,
  ErrorSubcode: 0x0008,
  ErrorText: 0x001b,
} as const;

/** A SNAC error body: u16 code, then an optional TLV rest-list. */
export interface SnacError {
  /** u16 error code (see {@link SnacErrorCode}). */
  readonly code: number;
  /** Optional TLVs (possibly empty). */
  readonly tlvs: TlvList;
}

/** Decodes a SNAC error body. */
export function decodeSnacError(body: Uint8Array): SnacError {
  const r = new ByteReader(body);
  const code = r.u16('SNAC error code');
  return { code, tlvs: readTlvRestList(r) };
}

/** Encodes a SNAC error body. */
export function encodeSnacError(code: number, tlvs: Iterable<Tlv> = []): Uint8Array {
  return writeTlvRestList(new ByteWriter(16).u16(code), tlvs).finish();
}

/** High bit set on request ids of server-originated SNACs (Java AIM 1.1 ignores some server SNACs otherwise). */
export const SERVER_REQUEST_ID_BIT = 0x80000000;

/** True if `id` carries the server-originated bit. */
export function isServerRequestId(id: number): boolean {
  return (id & SERVER_REQUEST_ID_BIT) !== 0;
}

/**
 * Hands out request ids for one connection: 1, 2, 3... wrapping within 31 bits, with the high bit set when
 * `fromServer` (server-originated SNACs) and never set for clients. Never returns 0.
 */
export class RequestIdCounter {
  private n = 0;
  constructor(private readonly fromServer: boolean) {}

  /** The next request id. */
  next(): number {
    this.n = this.n >= 0x7fffffff ? 1 : this.n + 1;
    return this.fromServer ? (this.n | SERVER_REQUEST_ID_BIT) >>> 0 : this.n;
  }
}
