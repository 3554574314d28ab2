/**
 * Big-endian byte reader and writer: the primitives every OSCAR structure is built from (docs/protocol.md §1).
 *
 * Decoders never throw anything but {@link WireError}: every read is bounds-checked against the end of the
 * view it was given, and no read allocates more than the bytes actually present (subarray views, no copies).
 */

/** Stable codes for wire failures; callers and tests match on these, not on messages. */
export type WireErrorCode =
  | 'TRUNCATED' // a field runs past the end of its enclosing data
  | 'TRAILING_BYTES' // data left over where a structure must end exactly
  | 'BAD_START_BYTE' // FLAP marker is not 0x2A
  | 'FRAME_TOO_LARGE' // frame exceeds the configured maximum
  | 'BAD_LENGTH' // a length field is inconsistent with its content
  | 'BAD_VALUE' // a field holds a value the structure forbids
  | 'TOO_MANY' // a count exceeds a configured limit
  | 'BAD_ENCODING'; // text that must be ASCII/UTF-8 isn't

/** The one error type of the wire layer: where decoding failed, and why. */
export class WireError extends Error {
  /** Stable machine-readable code. */
  readonly code: WireErrorCode;
  /** Byte offset (within the buffer being decoded) where the problem was found. */
  readonly offset: number;
  /** Human-readable reason, without the offset. */
  readonly reason: string;

  constructor(code: WireErrorCode, offset: number, reason: string) {
    super(`${reason} (at offset ${offset})`);
    this.name = 'WireError';
    this.code = code;
    this.offset = offset;
    this.reason = reason;
  }

  /** True if `e` is a WireError (optionally with the given code). */
  static is(e: unknown, code?: WireErrorCode): e is WireError {
    return e instanceof WireError && (code === undefined || e.code === code);
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

/** Decodes bytes as UTF-8, replacing invalid sequences (never throws). */
export function decodeText(bytes: Uint8Array): string {
  return decodeTextAt(bytes, 0, bytes.length);
}

/** Decodes `bytes[start, end)` as UTF-8 like {@link decodeText}, without a view for short ASCII. */
export function decodeTextAt(bytes: Uint8Array, start: number, end: number): string {
  // Short ASCII (screen names in every relayed SNAC) decodes the same byte for byte: skip the native decoder call.
  if (end - start <= 32) {
    let s = '';
    for (let i = start; i < end; i++) {
      const b = bytes[i]!;
      if (b >= 0x80) return decodeNative(bytes, start, end);
      s += String.fromCharCode(b);
    }
    return s;
  }
  return decodeNative(bytes, start, end);
}

function decodeNative(bytes: Uint8Array, start: number, end: number): string {
  return utf8Decoder.decode(start === 0 && end === bytes.length ? bytes : viewOf(bytes, start, end - start));
}

/**
 * The last short text decoded from bytes, with a derived key (e.g. the normalized screen name), kept so that the same
 * bytes next time give the same strings back without decoding: a sender usually writes to the same buddy many times
 * in a row, and each relayed IM names its recipient. Compares at most 32 bytes; longer texts are decoded each time.
 */
export class TextMemo {
  private bytes: Uint8Array | undefined;
  private textValue = '';
  private keyValue = '';

  /** @param keyOf derives the key of a decoded text (run once per distinct text) */
  constructor(private readonly keyOf: (text: string) => string) {}

  /** `buf[start, end)` decoded as {@link decodeTextAt} would; the same string as last time when the bytes are. */
  decode(buf: Uint8Array, start: number, end: number): string {
    const n = end - start;
    const last = this.bytes;
    if (last !== undefined && last.length === n) {
      let i = 0;
      while (i < n && last[i] === buf[start + i]) i++;
      if (i === n) return this.textValue;
    }
    const text = decodeTextAt(buf, start, end);
    if (n > 32) return text;
    // A copy of its own (Buffer.prototype.slice would be a view, keeping the caller's whole chunk alive).
    const copy = new Uint8Array(n);
    for (let i = 0; i < n; i++) copy[i] = buf[start + i]!;
    this.bytes = copy;
    this.textValue = text;
    this.keyValue = this.keyOf(text);
    return text;
  }

  /** The key of `text`: remembered when `text` is the last text {@link decode} returned. */
  key(text: string): string {
    return text === this.textValue && this.bytes !== undefined ? this.keyValue : this.keyOf(text);
  }
}

/** Encodes a string as UTF-8. */
export function encodeText(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

/**
 * Sequential big-endian reader over a window [start, end) of a buffer.
 * Offsets reported in errors are absolute positions in the underlying buffer.
 */
export class ByteReader {
  /** The underlying buffer. */
  readonly buf: Uint8Array;
  /** Current absolute read position. */
  offset: number;
  /** Absolute end of the readable window. */
  readonly end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    if (start < 0 || end > buf.length || start > end) {
      throw new WireError('BAD_LENGTH', start, `reader window [${start}, ${end}) outside buffer of ${buf.length}`);
    }
    this.buf = buf;
    this.offset = start;
    this.end = end;
  }

  /** Bytes left to read in the window. */
  get remaining(): number {
    return this.end - this.offset;
  }

  /** True when the whole window has been consumed. */
  get done(): boolean {
    return this.offset >= this.end;
  }

  /** Throws TRUNCATED unless `n` more bytes are available. */
  need(n: number, what = 'field'): void {
    if (n < 0 || this.offset + n > this.end) {
      throw new WireError('TRUNCATED', this.offset, `${what} needs ${n} bytes, ${this.end - this.offset} left`);
    }
  }

  /** Reads an unsigned 8-bit integer. */
  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf[this.offset++]!;
  }

  /** Reads an unsigned big-endian 16-bit integer. */
  u16(what = 'u16'): number {
    this.need(2, what);
    const b = this.buf;
    const o = this.offset;
    this.offset = o + 2;
    return (b[o]! << 8) | b[o + 1]!;
  }

  /** Reads an unsigned big-endian 32-bit integer. */
  u32(what = 'u32'): number {
    this.need(4, what);
    const b = this.buf;
    const o = this.offset;
    this.offset = o + 4;
    return ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
  }

  /** Reads an unsigned big-endian 64-bit integer. */
  u64(what = 'u64'): bigint {
    const hi = this.u32(what);
    const lo = this.u32(what);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** Returns a view (no copy) of the next `n` bytes. */
  bytes(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  /** Returns a view of everything left in the window. */
  rest(): Uint8Array {
    const v = this.buf.subarray(this.offset, this.end);
    this.offset = this.end;
    return v;
  }

  /** Returns a reader over the next `n` bytes and advances past them. */
  sub(n: number, what = 'block'): ByteReader {
    this.need(n, what);
    const r = new ByteReader(this.buf, this.offset, this.offset + n);
    this.offset += n;
    return r;
  }

  /** Reads a u8-length-prefixed block ("string08" bytes, e.g. a screen name). */
  block8(what = 'string08'): Uint8Array {
    const n = this.u8(what);
    return this.bytes(n, what);
  }

  /** Reads a u16-length-prefixed block. */
  block16(what = 'block16'): Uint8Array {
    const n = this.u16(what);
    return this.bytes(n, what);
  }

  /** Reads a u8-length-prefixed string (UTF-8, invalid bytes replaced). */
  string8(what = 'string08'): string {
    return this.text(this.u8(what), what);
  }

  /** Reads a u16-length-prefixed string (UTF-8, invalid bytes replaced). */
  string16(what = 'string16'): string {
    return this.text(this.u16(what), what);
  }

  /** Reads `n` bytes as UTF-8 like {@link decodeText}, without a view for short ASCII. */
  private text(n: number, what: string): string {
    this.need(n, what);
    const start = this.offset;
    this.offset += n;
    return decodeTextAt(this.buf, start, start + n);
  }

  /** Skips `n` bytes. */
  skip(n: number, what = 'skipped field'): void {
    this.need(n, what);
    this.offset += n;
  }

  /** Throws TRAILING_BYTES unless the window is fully consumed. */
  expectEnd(what = 'structure'): void {
    if (this.offset !== this.end) {
      throw new WireError('TRAILING_BYTES', this.offset, `${this.end - this.offset} unexpected bytes after ${what}`);
    }
  }
}

/**
 * Growable big-endian writer. Methods chain; `finish()` returns a view of exactly the bytes written.
 * Values out of range for their width are a programming error and throw RangeError (encoders only).
 */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  /** Number of bytes written so far. */
  get length(): number {
    return this.len;
  }

  private ensure(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Writes an unsigned 8-bit integer. */
  u8(v: number): this {
    checkRange(v, 0xff, 'u8');
    this.ensure(1);
    this.buf[this.len++] = v;
    return this;
  }

  /** Writes an unsigned big-endian 16-bit integer. */
  u16(v: number): this {
    checkRange(v, 0xffff, 'u16');
    this.ensure(2);
    this.view.setUint16(this.len, v);
    this.len += 2;
    return this;
  }

  /** Writes an unsigned big-endian 32-bit integer. */
  u32(v: number): this {
    checkRange(v, 0xffffffff, 'u32');
    this.ensure(4);
    this.view.setUint32(this.len, v);
    this.len += 4;
    return this;
  }

  /** Writes an unsigned big-endian 64-bit integer. */
  u64(v: bigint): this {
    if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`u64 out of range: ${v}`);
    this.ensure(8);
    this.view.setBigUint64(this.len, v);
    this.len += 8;
    return this;
  }

  /** Writes raw bytes. */
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /** Writes a u8 length then the bytes ("string08"). */
  block8(b: Uint8Array): this {
    if (b.length > 0xff) throw new RangeError(`string08 too long: ${b.length}`);
    return this.u8(b.length).bytes(b);
  }

  /** Writes a u16 length then the bytes. */
  block16(b: Uint8Array): this {
    if (b.length > 0xffff) throw new RangeError(`block16 too long: ${b.length}`);
    return this.u16(b.length).bytes(b);
  }

  /** Writes a u8-length-prefixed UTF-8 string. */
  string8(s: string): this {
    if (this.asciiInPlace(s, 1)) return this;
    return this.block8(encodeText(s));
  }

  /** Writes a u16-length-prefixed UTF-8 string. */
  string16(s: string): this {
    if (this.asciiInPlace(s, 2)) return this;
    return this.block16(encodeText(s));
  }

  /**
   * Writes a short all-ASCII string (its UTF-8 is its char codes) after a `prefix`-byte length, straight into the
   * buffer: no encoder call and no array per string (screen names, session ids). False, with nothing written,
   * for a longer string or one with a non-ASCII character; the caller then encodes it as UTF-8.
   */
  private asciiInPlace(s: string, prefix: 1 | 2): boolean {
    const n = s.length;
    if (n > 64) return false;
    this.ensure(prefix + n);
    const at = this.len + prefix;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      this.buf[at + i] = c;
    }
    if (prefix === 1) this.buf[this.len] = n;
    else this.view.setUint16(this.len, n);
    this.len = at + n;
    return true;
  }

  /** Reserves a u16 placeholder and returns a function that back-fills it with the bytes written since. */
  lengthPrefix16(): () => this {
    const at = this.len;
    this.u16(0);
    return () => {
      const n = this.len - at - 2;
      checkRange(n, 0xffff, 'u16 length');
      this.view.setUint16(at, n);
      return this;
    };
  }

  /** Forgets everything written after the first `length` bytes (undoes a write that failed half-way). */
  truncate(length: number): this {
    if (!Number.isInteger(length) || length < 0 || length > this.len) throw new RangeError(`truncate out of range: ${length}`);
    this.len = length;
    return this;
  }

  /** Overwrites the u16 at `offset` (already written) with `v`. */
  patchU16(offset: number, v: number): this {
    checkRange(v, 0xffff, 'u16');
    this.checkPatch(offset, 2);
    this.view.setUint16(offset, v);
    return this;
  }

  /** Overwrites the u32 at `offset` (already written) with `v`: a length back-filled without a closure per call. */
  patchU32(offset: number, v: number): this {
    checkRange(v, 0xffffffff, 'u32');
    this.checkPatch(offset, 4);
    this.view.setUint32(offset, v);
    return this;
  }

  private checkPatch(offset: number, width: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + width > this.len) throw new RangeError(`patch outside what was written: ${offset}`);
  }

  /** Returns a view of exactly the bytes written (valid until the next write). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

function checkRange(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what} out of range: ${v}`);
}

/** Slab size of {@link allocBytes}: the same order as Node's Buffer pool (8 KB), so one live slice pins little. */
const SLAB_SIZE = 16 * 1024;
let slab = new ArrayBuffer(0);
let slabUsed = 0;

/**
 * A zero-filled byte array of `size` bytes for an encoder that writes every byte of it: small sizes are carved from
 * a shared slab (a view, like a Buffer from Node's pool), so per-message encoders do not pay for one ArrayBuffer,
 * with its backing store and GC bookkeeping, per call. Use the result as a view: `.buffer` holds other messages.
 */
export function allocBytes(size: number): Uint8Array {
  if (size > SLAB_SIZE >>> 3) return new Uint8Array(size);
  if (slabUsed + size > slab.byteLength) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, size);
  slabUsed += size;
  return out;
}

/**
 * A view of `length` bytes of `b` from `start` (no bounds check: callers pass validated offsets). Built with the
 * typed-array constructor, which measured about 2x cheaper than `Uint8Array.prototype.subarray` and 3x cheaper than
 * `Buffer.prototype.subarray` on Node 20 (docs/performance.md §2.5); the result is a plain Uint8Array even when `b`
 * is a Buffer.
 */
export function viewOf(b: Uint8Array, start: number, length: number): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset + start, length);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lowercase hex of bytes. */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!]!;
  return s;
}

/** Bytes from a hex string (whitespace ignored). Throws WireError on odd length or non-hex characters. */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new WireError('BAD_VALUE', 0, 'invalid hex string');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(i * 2, 2), 16);
  return out;
}

// Portable helpers (no Buffer: the web client shares every module that uses them).

/** Latin-1 text of bytes (one char per byte). */
export function latin1Decode(b: Uint8Array): string {
  // `apply` takes the typed array as it is; a spread walks it through the iterator protocol (several times slower
  // for the short OIDs and times the CMS decoder reads per message). Chunks stay under engines' argument limits.
  if (b.length <= 8192) return String.fromCharCode.apply(null, b as unknown as number[]);
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode.apply(null, b.subarray(i, i + 8192) as unknown as number[]);
  return s;
}

/** Bytes of a string's UTF-16 code units, each truncated to its low byte (Latin-1; callers check the range). */
export function latin1Encode(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** Standard base64 (RFC 4648 §4) with padding. */
export function toBase64(b: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    s += B64[n >>> 18]! + B64[(n >>> 12) & 63]! + B64[(n >>> 6) & 63]! + B64[n & 63]!;
  }
  if (i < b.length) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8);
    s += B64[n >>> 18]! + B64[(n >>> 12) & 63]! + (i + 1 < b.length ? B64[(n >>> 6) & 63]! : '=') + '=';
  }
  return s;
}

/** Decodes base64 leniently like Node's Buffer: whitespace and characters outside the alphabet are skipped, padding optional. */
export function fromBase64(s: string): Uint8Array {
  const out = new Uint8Array(Math.floor((s.length * 3) / 4) + 3);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 61) break; // '='
    const v = c < 128 ? B64_INDEX[c]! : -1;
    if (v < 0) continue;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  return out.slice(0, o);
}

/** One new array holding `parts` back to back. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Byte equality (not constant-time: for public values only). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Equality in time that depends only on the lengths (for secrets: MACs, tokens). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
