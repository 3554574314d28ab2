/**
 * A small, fast ASN.1 codec: a bounds-checked DER/BER reader (X.690) and DER writer helpers.
 *
 * Why our own: PKI and CMS code sit on the secure-IM hot path, and generic ASN.1 schema machinery costs far more
 * than the RSA math (measured: PKIjs reaches 0.04–0.10 of the OpenSSL limit). This reader hands out
 * lightweight node records that point into the original buffer (no copies), and the writer concatenates once.
 *
 * Reader rules: definite lengths in at most 4 length octets; with `ber: true`, indefinite lengths (0x80 ... 00 00)
 * and constructed string encodings are accepted (AIM 5.2 emits BER, docs/protocol.md §6.3). Nesting is limited, so a
 * hostile input cannot recurse without bound. Every failure is an {@link Asn1Error}; nothing else is thrown.
 */

/** Stable codes for ASN.1 decoding failures. */
import { concatBytes as concatWire, fromBase64, latin1Decode, latin1Encode, toBase64 } from '../../wire/bytes.js';
export type Asn1ErrorCode =
  | 'TRUNCATED' // the encoding runs past the end of its data
  | 'BAD_LENGTH' // a length form DER forbids, or longer than supported
  | 'BAD_TAG' // an unexpected tag, or an unsupported tag form
  | 'BAD_VALUE' // content not valid for its type (e.g. an empty INTEGER)
  | 'TOO_DEEP' // nesting beyond the limit
  | 'TRAILING_BYTES'; // bytes after the outermost element

/** The one error type of ASN.1 decoding. */
export class Asn1Error extends Error {
  /** Stable machine-readable code. */
  readonly code: Asn1ErrorCode;
  /** Byte offset in the buffer being decoded. */
  readonly offset: number;

  constructor(code: Asn1ErrorCode, offset: number, reason: string) {
    super(`ASN.1: ${reason} (at offset ${offset})`);
    this.name = 'Asn1Error';
    this.code = code;
    this.offset = offset;
  }

  /** True if `e` is an Asn1Error (optionally with the given code). */
  static is(e: unknown, code?: Asn1ErrorCode): e is Asn1Error {
    return e instanceof Asn1Error && (code === undefined || e.code === code);
  }
}

/** Universal tag bytes (identifier octets) used across PKI and CMS. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Identifier byte of a context-specific tag [n] (n < 31); constructed for EXPLICIT tags and constructed IMPLICIT. */
export function ctxTag(n: number, constructed: boolean): number {
  return (constructed ? 0xa0 : 0x80) | n;
}

/**
 * One decoded element. It points into `buf`; nothing is copied.
 * `tag` is the single identifier byte (low-tag-number form only, which covers all of X.509/CMS).
 */
export interface Asn1 {
  /** The buffer this element lives in. */
  readonly buf: Uint8Array;
  /** Identifier byte: class (bits 8–7), constructed (bit 6), tag number (bits 5–1). */
  readonly tag: number;
  /** Offset of the identifier byte. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly contentStart: number;
  /** Offset just past the content (before the end-of-contents octets of an indefinite encoding). */
  readonly contentEnd: number;
  /** Offset just past the whole element (including end-of-contents octets). */
  readonly end: number;
  /** True for a BER indefinite-length encoding. */
  readonly indefinite: boolean;
  /** Whether BER forms were allowed when this element was parsed (children inherit it). */
  readonly ber: boolean;
  /** Nesting depth (0 = outermost). */
  readonly depth: number;
}

/** Options for the reader. */
export interface ParseOptions {
  /** Accept BER: indefinite lengths, non-minimal lengths, constructed strings. Default false (strict DER). */
  ber?: boolean;
  /** Maximum nesting depth. Default 64. */
  maxDepth?: number;
}

const DEFAULT_MAX_DEPTH = 64;

/** True if the element's constructed bit is set. */
export function isConstructed(n: Asn1): boolean {
  return (n.tag & 0x20) !== 0;
}

/**
 * Parses one element starting at `offset` (within [offset, limit)). For indefinite lengths the content is walked to
 * find the end-of-contents octets, so `end` is always known.
 */
export function parseAt(buf: Uint8Array, offset: number, limit: number, opts: ParseOptions = {}, depth = 0): Asn1 {
  const ber = opts.ber === true;
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (depth > maxDepth) throw new Asn1Error('TOO_DEEP', offset, `nesting deeper than ${maxDepth}`);
  if (offset + 2 > limit) throw new Asn1Error('TRUNCATED', offset, 'element header past end of data');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new Asn1Error('BAD_TAG', offset, 'high tag numbers are not supported');
  let p = offset + 1;
  const first = buf[p++]!;
  let len: number;
  let indefinite = false;
  if (first < 0x80) {
    len = first;
  } else if (first === 0x80) {
    if (!ber) throw new Asn1Error('BAD_LENGTH', offset + 1, 'indefinite length is not DER');
    if ((tag & 0x20) === 0) throw new Asn1Error('BAD_LENGTH', offset + 1, 'indefinite length on a primitive element');
    indefinite = true;
    len = -1;
  } else {
    const n = first & 0x7f;
    if (n > 4) throw new Asn1Error('BAD_LENGTH', offset + 1, `length of ${n} octets is not supported`);
    if (p + n > limit) throw new Asn1Error('TRUNCATED', p, 'length octets past end of data');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!;
    if (!ber && (len < 0x80 || (n > 1 && buf[offset + 2] === 0))) {
      throw new Asn1Error('BAD_LENGTH', offset + 1, 'non-minimal length encoding is not DER');
    }
  }
  const contentStart = p;
  if (!indefinite) {
    if (contentStart + len > limit) {
      throw new Asn1Error('TRUNCATED', contentStart, `content of ${len} bytes runs past end of data`);
    }
    return { buf, tag, start: offset, contentStart, contentEnd: contentStart + len, end: contentStart + len, indefinite, ber, depth };
  }
  // Indefinite: walk children until the end-of-contents octets 00 00.
  let q = contentStart;
  for (;;) {
    if (q + 2 > limit) throw new Asn1Error('TRUNCATED', q, 'missing end-of-contents octets');
    if (buf[q] === 0 && buf[q + 1] === 0) {
      return { buf, tag, start: offset, contentStart, contentEnd: q, end: q + 2, indefinite, ber, depth };
    }
    q = parseAt(buf, q, limit, opts, depth + 1).end;
  }
}

/** Parses exactly one element that must span the whole buffer. */
export function parseAsn1(buf: Uint8Array, opts: ParseOptions = {}): Asn1 {
  const n = parseAt(buf, 0, buf.length, opts, 0);
  if (n.end !== buf.length) throw new Asn1Error('TRAILING_BYTES', n.end, `${buf.length - n.end} bytes after the element`);
  return n;
}

/** The direct children of a constructed element, in order. */
export function children(n: Asn1): Asn1[] {
  if (!isConstructed(n)) throw new Asn1Error('BAD_TAG', n.start, `element 0x${hex2(n.tag)} is not constructed`);
  const out: Asn1[] = [];
  const opts: ParseOptions = { ber: n.ber };
  let p = n.contentStart;
  while (p < n.contentEnd) {
    const c = parseAt(n.buf, p, n.contentEnd, opts, n.depth + 1);
    out.push(c);
    p = c.end;
  }
  return out;
}

/** The content bytes (a view, no copy). */
export function contentOf(n: Asn1): Uint8Array {
  return n.buf.subarray(n.contentStart, n.contentEnd);
}

/** The whole encoding of the element, header included (a view, no copy). */
export function rawOf(n: Asn1): Uint8Array {
  return n.buf.subarray(n.start, n.end);
}

/** Throws BAD_TAG unless the element has the given identifier byte. Returns the element for chaining. */
export function expectTag(n: Asn1 | undefined, tag: number, what: string): Asn1 {
  if (!n) throw new Asn1Error('TRUNCATED', 0, `missing ${what}`);
  if (n.tag !== tag) throw new Asn1Error('BAD_TAG', n.start, `${what}: expected tag 0x${hex2(tag)}, got 0x${hex2(n.tag)}`);
  return n;
}

/** Children of an element that must be a SEQUENCE (or the given constructed tag), with a minimum count. */
export function seqOf(n: Asn1 | undefined, what: string, min = 0, tag: number = TAG.SEQUENCE): Asn1[] {
  const kids = children(expectTag(n, tag, what));
  if (kids.length < min) throw new Asn1Error('BAD_VALUE', n!.start, `${what}: expected at least ${min} elements, got ${kids.length}`);
  return kids;
}

/** Reads an INTEGER (or ENUMERATED) as a signed bigint. */
export function readBigInt(n: Asn1): bigint {
  if (n.tag !== TAG.INTEGER && n.tag !== TAG.ENUMERATED) throw new Asn1Error('BAD_TAG', n.start, 'expected INTEGER');
  const c = contentOf(n);
  if (c.length === 0) throw new Asn1Error('BAD_VALUE', n.start, 'empty INTEGER');
  assertMinimalInteger(n, c);
  let v = 0n;
  for (const b of c) v = (v << 8n) | BigInt(b);
  if (c[0]! & 0x80) v -= 1n << BigInt(c.length * 8);
  return v;
}

/**
 * DER (X.690 §8.3.2): the first nine bits of an INTEGER's content are never all zero or all one, so each value has
 * exactly one encoding. Checked only in DER mode; BER input (AIM 5.2 CMS) keeps its padding.
 */
function assertMinimalInteger(n: Asn1, c: Uint8Array): void {
  if (n.ber || c.length < 2) return;
  if ((c[0] === 0 && (c[1]! & 0x80) === 0) || (c[0] === 0xff && (c[1]! & 0x80) !== 0)) {
    throw new Asn1Error('BAD_VALUE', n.start, 'non-minimal INTEGER encoding is not DER');
  }
}

/** Reads a small INTEGER (or ENUMERATED) that must fit a safe JS number. */
export function readSmallInt(n: Asn1): number {
  const v = readBigInt(n);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new Asn1Error('BAD_VALUE', n.start, 'INTEGER too large');
  }
  return Number(v);
}

/** Reads a non-negative INTEGER's magnitude bytes, without a leading 0x00 sign octet (e.g. a serial number). */
export function readUnsignedBytes(n: Asn1): Uint8Array {
  if (n.tag !== TAG.INTEGER) throw new Asn1Error('BAD_TAG', n.start, 'expected INTEGER');
  let c = contentOf(n);
  if (c.length === 0) throw new Asn1Error('BAD_VALUE', n.start, 'empty INTEGER');
  assertMinimalInteger(n, c);
  if (c[0]! & 0x80) throw new Asn1Error('BAD_VALUE', n.start, 'negative INTEGER where unsigned expected');
  while (c.length > 1 && c[0] === 0) c = c.subarray(1);
  return c;
}

/** Dotted text of OIDs seen before, by a 32-bit hash of their content bytes (the bytes are kept and compared). */
const oidCache = new Map<number, { bytes: Uint8Array; text: string }>();

function oidHash(buf: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5 ^ (to - from); // FNV-1a
  for (let i = from; i < to; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h;
}

function sameBytes(a: Uint8Array, buf: Uint8Array, from: number, to: number): boolean {
  if (a.length !== to - from) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[from + i]) return false;
  return true;
}

/** Reads an OBJECT IDENTIFIER as dotted text. */
export function readOid(n: Asn1): string {
  if (n.tag !== TAG.OID) throw new Asn1Error('BAD_TAG', n.start, 'expected OBJECT IDENTIFIER');
  const len = n.contentEnd - n.contentStart;
  if (len === 0 || len > 64) throw new Asn1Error('BAD_VALUE', n.start, 'bad OBJECT IDENTIFIER length');
  // No string and no view per call: the decoders read a dozen OIDs per message, nearly all of them the same few.
  const key = oidHash(n.buf, n.contentStart, n.contentEnd);
  const hit = oidCache.get(key);
  if (hit !== undefined && sameBytes(hit.bytes, n.buf, n.contentStart, n.contentEnd)) return hit.text;
  const c = contentOf(n);
  // Arcs are accumulated as bigint: `2.25.<uuid>` OIDs (X.667) carry 128-bit arcs.
  const parts: bigint[] = [];
  let v = 0n;
  let arcBytes = 0;
  for (let i = 0; i < c.length; i++) {
    const b = c[i]!;
    if (arcBytes === 0 && b === 0x80) throw new Asn1Error('BAD_VALUE', n.start, 'non-minimal OBJECT IDENTIFIER arc');
    v = (v << 7n) | BigInt(b & 0x7f);
    arcBytes++;
    if ((b & 0x80) === 0) {
      parts.push(v);
      v = 0n;
      arcBytes = 0;
    } else if (i === c.length - 1) {
      throw new Asn1Error('TRUNCATED', n.start, 'OBJECT IDENTIFIER ends mid-arc');
    }
  }
  const head = parts[0]!;
  const first = head < 40n ? 0n : head < 80n ? 1n : 2n;
  const text = [first, head - first * 40n, ...parts.slice(1)].join('.');
  if (oidCache.size < 4096 && hit === undefined) oidCache.set(key, { bytes: Uint8Array.from(c), text });
  return text;
}

/**
 * Reads an OCTET STRING's bytes. A BER constructed OCTET STRING (segments) is concatenated into a new buffer;
 * a primitive one is returned as a view.
 */
export function readOctets(n: Asn1): Uint8Array {
  return readStringBytes(n, TAG.OCTET_STRING, 'OCTET STRING');
}

/**
 * Reads the bytes of a string-like element whose primitive tag is `tag`, or of an IMPLICIT-tagged one when the
 * caller passes the element's own tag; handles BER constructed segments.
 */
export function readStringBytes(n: Asn1, tag: number, what: string): Uint8Array {
  const prim = n.tag & ~0x20;
  if (prim !== (tag & ~0x20)) throw new Asn1Error('BAD_TAG', n.start, `expected ${what}`);
  if (!isConstructed(n)) return contentOf(n);
  if (!n.ber) throw new Asn1Error('BAD_TAG', n.start, `constructed ${what} is not DER`);
  const segs: Uint8Array[] = [];
  collectSegments(n, segs);
  return concatBytes(segs);
}

function collectSegments(n: Asn1, out: Uint8Array[]): void {
  for (const c of children(n)) {
    if (isConstructed(c)) collectSegments(c, out);
    else if (c.tag === TAG.OCTET_STRING || c.tag === (n.tag & ~0x20)) out.push(contentOf(c));
    else throw new Asn1Error('BAD_TAG', c.start, 'unexpected element inside a constructed string');
  }
}

/** Reads a BIT STRING: its unused-bit count and data bytes (a view). */
export function readBitString(n: Asn1): { unused: number; bytes: Uint8Array } {
  if (n.tag !== TAG.BIT_STRING) throw new Asn1Error('BAD_TAG', n.start, 'expected BIT STRING');
  const c = contentOf(n);
  if (c.length === 0) throw new Asn1Error('BAD_VALUE', n.start, 'empty BIT STRING');
  const unused = c[0]!;
  if (unused > 7 || (c.length === 1 && unused !== 0)) throw new Asn1Error('BAD_VALUE', n.start, 'bad BIT STRING unused-bit count');
  return { unused, bytes: c.subarray(1) };
}

/** Reads a BOOLEAN. */
export function readBool(n: Asn1): boolean {
  if (n.tag !== TAG.BOOLEAN) throw new Asn1Error('BAD_TAG', n.start, 'expected BOOLEAN');
  const c = contentOf(n);
  if (c.length !== 1) throw new Asn1Error('BAD_VALUE', n.start, 'BOOLEAN must be one byte');
  // X.690 §11.1: DER TRUE is 0xFF; any other non-zero octet is a second encoding of the same value.
  if (!n.ber && c[0] !== 0 && c[0] !== 0xff) throw new Asn1Error('BAD_VALUE', n.start, 'BOOLEAN TRUE must be 0xFF in DER');
  return c[0] !== 0;
}

/**
 * Reads a UTCTime or GeneralizedTime (Zulu forms as used in X.509/CMS) as a Date. Impossible calendar values
 * (30 February, hour 24, second 60) are refused, never normalised: Date.UTC would roll them over and could lengthen
 * a validity period. In DER mode the RFC 5280 §4.1.2.5 / RFC 5652 §11.3 profile applies: seconds present, no
 * fractional seconds; BER input (AIM 5.2) may omit seconds.
 */
export function readTime(n: Asn1): Date {
  const s = latin1Decode(contentOf(n));
  let m: RegExpExecArray | null;
  let year: number;
  let rest: string[];
  if (n.tag === TAG.UTC_TIME) {
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/.exec(s);
    if (!m) throw new Asn1Error('BAD_VALUE', n.start, `bad UTCTime '${s}'`);
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy; // RFC 5280 §4.1.2.5.1
    rest = m.slice(2);
  } else if (n.tag === TAG.GENERALIZED_TIME) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(\.\d+)?Z$/.exec(s);
    if (!m) throw new Asn1Error('BAD_VALUE', n.start, `bad GeneralizedTime '${s}'`);
    if (!n.ber && m[7] !== undefined) throw new Asn1Error('BAD_VALUE', n.start, `fractional seconds are not allowed: '${s}'`);
    year = Number(m[1]);
    rest = m.slice(2, 7);
  } else {
    throw new Asn1Error('BAD_TAG', n.start, 'expected UTCTime or GeneralizedTime');
  }
  if (!n.ber && rest[4] === undefined) throw new Asn1Error('BAD_VALUE', n.start, `time without seconds is not DER: '${s}'`);
  const [mo, d, h, mi, sec] = rest.map((x) => Number(x ?? 0)) as [number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(year, mo) || h > 23 || mi > 59 || sec > 59) {
    throw new Asn1Error('BAD_VALUE', n.start, `impossible time '${s}'`);
  }
  const t = new Date(Date.UTC(2000, mo - 1, d, h, mi, sec));
  t.setUTCFullYear(year); // Date.UTC maps years 0–99 to 1900–1999
  return t;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Reads a character string (UTF8, Printable, IA5, T61, Numeric and Visible as Latin-1, BMP as UTF-16BE, Universal as
 * UTF-32BE).
 */
export function readString(n: Asn1): string {
  const c = contentOf(n);
  switch (n.tag) {
    case TAG.UTF8_STRING:
      // DER input must be valid UTF-8 (X.690 / RFC 3629), as OpenSSL requires; lenient BER input is replaced.
      try {
        return new TextDecoder('utf-8', { fatal: !n.ber }).decode(c);
      } catch {
        throw new Asn1Error('BAD_VALUE', n.start, 'invalid UTF-8 in UTF8String');
      }
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.T61_STRING:
    case 0x12: // NumericString
    case 0x1a: // VisibleString
      return latin1Decode(c);
    case TAG.BMP_STRING: {
      if (c.length % 2) throw new Asn1Error('BAD_VALUE', n.start, 'odd-length BMPString');
      let s = '';
      for (let i = 0; i < c.length; i += 2) s += String.fromCharCode((c[i]! << 8) | c[i + 1]!);
      return s;
    }
    case TAG.UNIVERSAL_STRING: {
      if (c.length % 4) throw new Asn1Error('BAD_VALUE', n.start, 'bad UniversalString length');
      let s = '';
      for (let i = 0; i < c.length; i += 4) {
        const cp = ((c[i]! << 24) >>> 0) + ((c[i + 1]! << 16) | (c[i + 2]! << 8) | c[i + 3]!);
        if (cp > 0x10ffff) throw new Asn1Error('BAD_VALUE', n.start, 'bad code point in UniversalString');
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      throw new Asn1Error('BAD_TAG', n.start, `expected a character string, got tag 0x${hex2(n.tag)}`);
  }
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
}

// ---------------------------------------------------------------------------------------------------------------
// Writer: each helper returns the complete DER encoding of one element.

/** Concatenates byte arrays into one new buffer. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  return concatWire(...parts);
}

/** Encodes a DER length. */
export function encodeLength(len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(len);
  if (len < 0x100) return Uint8Array.of(0x81, len);
  if (len < 0x10000) return Uint8Array.of(0x82, len >> 8, len & 0xff);
  if (len < 0x1000000) return Uint8Array.of(0x83, len >> 16, (len >> 8) & 0xff, len & 0xff);
  return Uint8Array.of(0x84, (len >>> 24) & 0xff, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff);
}

/** One element from an identifier byte and content parts. */
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const c of content) len += c.length;
  const hdr = encodeLength(len);
  const out = new Uint8Array(1 + hdr.length + len);
  out[0] = tag;
  out.set(hdr, 1);
  let o = 1 + hdr.length;
  for (const c of content) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

const oidEncCache = new Map<string, Uint8Array>();

function encodeOidContent(oid: string): Uint8Array {
  const arcs = oid.split('.').map((x) => {
    if (!/^\d+$/.test(x)) throw new RangeError(`bad OID '${oid}'`);
    return BigInt(x);
  });
  if (arcs.length < 2 || arcs[0]! > 2n || (arcs[0]! < 2n && arcs[1]! > 39n)) throw new RangeError(`bad OID '${oid}'`);
  const out: number[] = [];
  const push = (v: bigint) => {
    const tmp = [Number(v & 0x7fn)];
    v >>= 7n;
    while (v > 0n) {
      tmp.unshift(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(...tmp);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return Uint8Array.from(out);
}

/** DER writer helpers. */
export const der = {
  tlv,
  /** SEQUENCE of already-encoded elements. */
  seq: (...items: Uint8Array[]): Uint8Array => tlv(TAG.SEQUENCE, ...items),
  /** SET OF, with elements sorted as DER requires. */
  setOf: (...items: Uint8Array[]): Uint8Array => tlv(TAG.SET, ...[...items].sort(compareBytes)),
  /** SET with elements in the given order (for a SET of distinct types, order by tag). */
  set: (...items: Uint8Array[]): Uint8Array => tlv(TAG.SET, ...items),
  /** INTEGER from a number, bigint, or unsigned big-endian magnitude bytes. */
  int(v: number | bigint | Uint8Array): Uint8Array {
    if (v instanceof Uint8Array) {
      let i = 0;
      while (i < v.length - 1 && v[i] === 0) i++;
      const mag = v.subarray(i);
      if (mag.length === 0) return Uint8Array.of(TAG.INTEGER, 1, 0);
      return mag[0]! & 0x80 ? tlv(TAG.INTEGER, Uint8Array.of(0), mag) : tlv(TAG.INTEGER, mag);
    }
    let b = BigInt(v);
    const bytes: number[] = [];
    if (b >= 0n) {
      do {
        bytes.unshift(Number(b & 0xffn));
        b >>= 8n;
      } while (b > 0n);
      if (bytes[0]! & 0x80) bytes.unshift(0);
    } else {
      do {
        bytes.unshift(Number(b & 0xffn));
        b >>= 8n;
      } while (b < -1n || (bytes[0]! & 0x80) === 0);
    }
    return tlv(TAG.INTEGER, Uint8Array.from(bytes));
  },
  /** ENUMERATED from a small non-negative number. */
  enumerated(v: number): Uint8Array {
    const i = der.int(v);
    i[0] = TAG.ENUMERATED;
    return i;
  },
  /** OBJECT IDENTIFIER from dotted text (cached). */
  oid(oid: string): Uint8Array {
    let e = oidEncCache.get(oid);
    if (!e) {
      e = tlv(TAG.OID, encodeOidContent(oid));
      oidEncCache.set(oid, e);
    }
    return e;
  },
  /** NULL. */
  null: (): Uint8Array => Uint8Array.of(TAG.NULL, 0),
  /** BOOLEAN. */
  bool: (v: boolean): Uint8Array => Uint8Array.of(TAG.BOOLEAN, 1, v ? 0xff : 0),
  /** OCTET STRING. */
  octets: (b: Uint8Array): Uint8Array => tlv(TAG.OCTET_STRING, b),
  /** BIT STRING with the given unused-bit count. */
  bitString: (b: Uint8Array, unused = 0): Uint8Array => tlv(TAG.BIT_STRING, Uint8Array.of(unused), b),
  /** UTF8String. */
  utf8: (s: string): Uint8Array => tlv(TAG.UTF8_STRING, new TextEncoder().encode(s)),
  /** PrintableString (caller ensures the character set). */
  printable: (s: string): Uint8Array => tlv(TAG.PRINTABLE_STRING, latin1Encode(s)),
  /** IA5String. */
  ia5: (s: string): Uint8Array => tlv(TAG.IA5_STRING, latin1Encode(s)),
  /** UTCTime (YYMMDDHHMMSSZ). */
  utcTime: (d: Date): Uint8Array => tlv(TAG.UTC_TIME, latin1Encode(fmtTime(d).slice(2))),
  /** GeneralizedTime (YYYYMMDDHHMMSSZ). */
  genTime: (d: Date): Uint8Array => tlv(TAG.GENERALIZED_TIME, latin1Encode(fmtTime(d))),
  /** X.509/CMS Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
  time: (d: Date): Uint8Array => (d.getUTCFullYear() < 2050 && d.getUTCFullYear() >= 1950 ? der.utcTime(d) : der.genTime(d)),
  /** [n] EXPLICIT: a constructed context tag around complete elements. */
  explicit: (n: number, ...items: Uint8Array[]): Uint8Array => tlv(ctxTag(n, true), ...items),
  /** [n] IMPLICIT primitive: context tag around raw content bytes. */
  implicit: (n: number, content: Uint8Array): Uint8Array => tlv(ctxTag(n, false), content),
  /** [n] IMPLICIT constructed: context tag around complete elements (e.g. an IMPLICIT SET OF). */
  implicitConstructed: (n: number, ...items: Uint8Array[]): Uint8Array => tlv(ctxTag(n, true), ...items),
  /** Re-tags an encoded element with another identifier byte (e.g. IMPLICIT tagging of an encoded SET). */
  retag(encoded: Uint8Array, tag: number): Uint8Array {
    const out = Uint8Array.from(encoded);
    out[0] = tag;
    return out;
  },
};

function fmtTime(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
}

/** PEM armor: base64 at 64 columns between BEGIN/END lines with the given label. */
export function toPem(label: string, derBytes: Uint8Array): string {
  const b64 = toBase64(derBytes);
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** All PEM blocks in a text, as {label, der}. Text outside blocks is ignored. */
export function fromPem(text: string): { label: string; der: Uint8Array }[] {
  const out: { label: string; der: Uint8Array }[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const body = m[2]!.replace(/^[A-Za-z-]+:.*$/gm, '').replace(/\s+/g, '');
    out.push({ label: m[1]!, der: fromBase64(body) });
  }
  return out;
}
