/**
 * FLAP framing (docs/protocol.md §1.1): every OSCAR TCP connection is a stream of
 *
 *   u8 0x2A start marker · u8 channel · u16 sequence · u16 payload length · payload
 *
 * `FlapDeframer` turns arbitrarily chunked socket reads into whole frames. It validates each header as soon
 * as its bytes arrive and rejects an oversize length BEFORE allocating (ws `receiver.js` `maxPayload` style),
 * so a hostile peer costs at most one buffer of `maxFrameSize` bytes.
 */
import { ByteReader, ByteWriter, WireError, viewOf } from './bytes.js';
import { TlvList, readTlvRestList, tlvString, tlvU16, writeTlvRestList, type Tlv } from './tlv.js';

/** The FLAP start marker '*'. */
export const FLAP_START = 0x2a;
/** Size of the FLAP header. */
export const FLAP_HEADER_SIZE = 6;
/** Largest payload a u16 length can express. */
export const FLAP_MAX_PAYLOAD = 0xffff;
/** Largest whole frame (header + payload). */
export const FLAP_MAX_FRAME = FLAP_HEADER_SIZE + FLAP_MAX_PAYLOAD;

/** FLAP channels ("frame types", `R:wire/frames.go`). */
export const FlapChannel = {
  /** Connection hello: u32 version 1 + TLVs. */
  SignOn: 0x01,
  /** One SNAC per frame. */
  Data: 0x02,
  /** u16 error code. */
  Error: 0x03,
  /** Sign-off / close (TLV list). */
  SignOff: 0x04,
  /** Keep-alive, empty payload. */
  KeepAlive: 0x05,
} as const;

/** One FLAP frame. `payload` is a view; it may alias the socket chunk it was cut from. */
export interface FlapFrame {
  /** u8 channel (see {@link FlapChannel}). */
  readonly channel: number;
  /** u16 per-direction sequence number. */
  readonly sequence: number;
  /** The payload bytes. */
  readonly payload: Uint8Array;
}

/** Encodes one FLAP frame. Throws RangeError if the payload exceeds 65535 bytes. */
export function encodeFlap(frame: FlapFrame): Uint8Array {
  const p = frame.payload;
  if (p.length > FLAP_MAX_PAYLOAD) throw new RangeError(`FLAP payload too long: ${p.length}`);
  return new ByteWriter(FLAP_HEADER_SIZE + p.length)
    .u8(FLAP_START).u8(frame.channel).u16(frame.sequence).u16(p.length).bytes(p).finish();
}

/** Decodes exactly one FLAP frame occupying all of `buf`. */
export function decodeFlap(buf: Uint8Array): FlapFrame {
  const r = new ByteReader(buf);
  const start = r.u8('FLAP start');
  if (start !== FLAP_START) throw new WireError('BAD_START_BYTE', 0, `FLAP start byte 0x${start.toString(16)} is not 0x2a`);
  const channel = r.u8('FLAP channel');
  const sequence = r.u16('FLAP sequence');
  const payload = r.block16('FLAP payload');
  r.expectEnd('FLAP frame');
  return { channel, sequence, payload };
}

/** Options for {@link FlapDeframer}. */
export interface FlapDeframerOptions {
  /** Largest accepted frame including the 6-byte header (default and ceiling 65541). */
  maxFrameSize?: number;
}

/**
 * Streaming FLAP deframer. `push(chunk)` returns every frame completed by the chunk.
 *
 * Whole frames inside a chunk are returned as views of that chunk (no copy; plain Uint8Arrays even when the chunk
 * is a Buffer); only a frame split across reads is copied, into one buffer of exactly its size. The first framing error poisons the deframer: every later
 * `push` rethrows it, because a byte stream that lost sync cannot be trusted again (close the connection).
 * Errors carry the absolute stream offset.
 */
export class FlapDeframer {
  /** Largest accepted frame (header included). */
  readonly maxFrameSize: number;
  /** A header split across chunks; allocated the first time one is (most streams never split one). */
  private head: Uint8Array | null = null;
  private headFill = 0;
  private partial: Uint8Array | null = null;
  private partialFill = 0;
  private consumed = 0;
  private failure: WireError | null = null;

  constructor(opts: FlapDeframerOptions = {}) {
    const max = opts.maxFrameSize ?? FLAP_MAX_FRAME;
    if (!Number.isInteger(max) || max < FLAP_HEADER_SIZE || max > FLAP_MAX_FRAME) {
      throw new RangeError(`maxFrameSize must be an integer in [${FLAP_HEADER_SIZE}, ${FLAP_MAX_FRAME}]`);
    }
    this.maxFrameSize = max;
  }

  /** Bytes held back waiting for the rest of a frame (always < maxFrameSize). */
  get buffered(): number {
    return this.partial !== null ? this.partialFill : this.headFill;
  }

  /** Total stream bytes accepted so far. */
  get offset(): number {
    return this.consumed;
  }

  /** Feeds the next chunk of the byte stream; returns the frames it completed, in order. */
  push(chunk: Uint8Array): FlapFrame[] {
    const frames: FlapFrame[] = [];
    this.pushTo(chunk, frames);
    return frames;
  }

  /**
   * {@link push} appending the frames to `out` instead of a new array (a server connection appends to its queue: no
   * array per read). When it throws, `out` may have got the chunk's frames before the bad one.
   */
  pushTo(chunk: Uint8Array, out: FlapFrame[]): void {
    if (this.failure !== null) throw this.failure;
    try {
      this.run(chunk, out);
    } catch (e) {
      if (e instanceof WireError) this.failure = e;
      throw e;
    }
  }

  private run(chunk: Uint8Array, frames: FlapFrame[]): void {
    const n = chunk.length;
    let o = 0;
    // 1. Finish a header begun in an earlier chunk.
    if (this.headFill > 0) {
      // (The start byte was checked when the header's first byte arrived.)
      const head = this.head!;
      while (this.headFill < FLAP_HEADER_SIZE && o < n) head[this.headFill++] = chunk[o++]!;
      this.consumed += o;
      if (this.headFill < FLAP_HEADER_SIZE) return;
      const total = this.checkLength(head, 0, this.consumed - FLAP_HEADER_SIZE);
      this.headFill = 0;
      this.partial = new Uint8Array(total);
      this.partial.set(head);
      this.partialFill = FLAP_HEADER_SIZE;
    }
    // 2. Finish a frame body begun earlier.
    if (this.partial !== null) {
      const want = this.partial.length - this.partialFill;
      const take = Math.min(want, n - o);
      this.partial.set(chunk.subarray(o, o + take), this.partialFill);
      this.partialFill += take;
      o += take;
      this.consumed += take;
      if (this.partialFill < this.partial.length) return;
      const f = this.partial;
      this.partial = null;
      this.partialFill = 0;
      frames.push({ channel: f[1]!, sequence: (f[2]! << 8) | f[3]!, payload: viewOf(f, FLAP_HEADER_SIZE, f.length - FLAP_HEADER_SIZE) });
    }
    // 3. Whole frames straight out of the chunk.
    while (o < n) {
      const avail = n - o;
      if (avail < FLAP_HEADER_SIZE) {
        this.checkStart(chunk[o]!, this.consumed);
        (this.head ??= new Uint8Array(FLAP_HEADER_SIZE)).set(chunk.subarray(o, n));
        this.headFill = avail;
        this.consumed += avail;
        return;
      }
      const total = this.checkLength(chunk, o, this.consumed);
      if (avail >= total) {
        frames.push({ channel: chunk[o + 1]!, sequence: (chunk[o + 2]! << 8) | chunk[o + 3]!, payload: viewOf(chunk, o + FLAP_HEADER_SIZE, total - FLAP_HEADER_SIZE) });
        o += total;
        this.consumed += total;
      } else {
        // Only now, with the length validated, allocate exactly one frame's worth.
        this.partial = new Uint8Array(total);
        this.partial.set(chunk.subarray(o, n));
        this.partialFill = avail;
        this.consumed += avail;
        return;
      }
    }
  }

  private checkStart(b: number, at: number): void {
    if (b !== FLAP_START) throw new WireError('BAD_START_BYTE', at, `FLAP start byte 0x${b.toString(16).padStart(2, '0')} is not 0x2a`);
  }

  /** Validates a full header at buf[o..o+6) (stream offset `at`) and returns the frame's total size. */
  private checkLength(buf: Uint8Array, o: number, at: number): number {
    this.checkStart(buf[o]!, at);
    const total = FLAP_HEADER_SIZE + ((buf[o + 4]! << 8) | buf[o + 5]!);
    if (total > this.maxFrameSize) {
      throw new WireError('FRAME_TOO_LARGE', at + 4, `FLAP frame of ${total} bytes exceeds limit ${this.maxFrameSize}`);
    }
    return total;
  }
}

/** The FLAP protocol version carried in every channel-1 hello. */
export const FLAP_VERSION = 1;

/** Channel-1 hello: u32 version then a TLV rest-list (docs/protocol.md §1.1). */
export interface FlapHello {
  /** u32 version (1 in every known client). */
  readonly version: number;
  /** TLVs after the version: 0x0006 auth cookie on BOS/service hosts; 0x0001 SN = old-style login (§2.3). */
  readonly tlvs: TlvList;
}

/** Well-known channel-1 hello TLVs. */
export const FlapHelloTlv = {
  /** Screen name (old-style login, §2.3). */
  ScreenName: 0x0001,
  /** Authorization cookie presented to BOS/chat/service hosts. */
  AuthCookie: 0x0006,
} as const;

/** Decodes a channel-1 payload. Version values other than 1 are returned, not rejected (caller decides). */
export function decodeFlapHello(payload: Uint8Array): FlapHello {
  const r = new ByteReader(payload);
  const version = r.u32('FLAP hello version');
  return { version, tlvs: readTlvRestList(r) };
}

/** Encodes a channel-1 payload (version 1 plus optional TLVs). */
export function encodeFlapHello(tlvs: Iterable<Tlv> = []): Uint8Array {
  const w = new ByteWriter(64).u32(FLAP_VERSION);
  return writeTlvRestList(w, tlvs).finish();
}

/** Well-known channel-4 sign-off TLVs (`JP/flapcmd/CloseFlapCmd.java`). */
export const SignOffTlv = {
  /** u16 disconnect reason. */
  Reason: 0x0009,
  /** URL string explaining the disconnect. */
  Url: 0x000b,
} as const;

/** Channel-4 sign-off reasons. */
export const SignOffReason = {
  /** The same screen name signed on elsewhere. */
  SignedOnElsewhere: 0x0001,
} as const;

/** A decoded channel-4 payload. An empty payload (pre-multiconn "old signoff") decodes to no TLVs. */
export interface FlapSignOff {
  /** TLV 0x0009, if present. */
  readonly reason: number | undefined;
  /** TLV 0x000B, if present. */
  readonly url: string | undefined;
  /** All TLVs (old-style login responses also ride on channel 4, §2.3). */
  readonly tlvs: TlvList;
}

/** Decodes a channel-4 payload. */
export function decodeFlapSignOff(payload: Uint8Array): FlapSignOff {
  const tlvs = readTlvRestList(new ByteReader(payload));
  return { reason: tlvs.u16(SignOffTlv.Reason), url: tlvs.string(SignOffTlv.Url), tlvs };
}

/** Encodes a channel-4 payload: reason, then URL, then any extra TLVs. */
export function encodeFlapSignOff(opts: { reason?: number; url?: string; extra?: Iterable<Tlv> } = {}): Uint8Array {
  const w = new ByteWriter(64);
  const list: Tlv[] = [];
  if (opts.reason !== undefined) list.push(tlvU16(SignOffTlv.Reason, opts.reason));
  if (opts.url !== undefined) list.push(tlvString(SignOffTlv.Url, opts.url));
  writeTlvRestList(w, list);
  if (opts.extra) writeTlvRestList(w, opts.extra);
  return w.finish();
}

/** Decodes a channel-3 payload: one u16 error code (`JP/flapcmd/FlapErrorCmd.java`). */
export function decodeFlapErrorCode(payload: Uint8Array): number {
  const r = new ByteReader(payload);
  const code = r.u16('FLAP error code');
  r.expectEnd('FLAP error');
  return code;
}

/** Encodes a channel-3 payload. */
export function encodeFlapErrorCode(code: number): Uint8Array {
  return new ByteWriter(2).u16(code).finish();
}
