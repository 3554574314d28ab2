/**
 * MIME-like header blocks wrapping AIM Secure IM payloads (docs/protocol.md §6.3, `JP/OscarTools.java`):
 *
 *   Content-Type: application/pkcs7-mime; charset=us-ascii CRLF
 *   Content-Language: en CRLF
 *   Content-Transfer-Encoding: binary CRLF
 *   CRLF
 *   <binary body>
 *
 * AIM writes Content-Type, Content-Language, Content-Transfer-Encoding in that order; joscar puts CTE first, so
 * names are matched case-insensitively in any order. Header text is read as Latin-1 (one char per byte, never
 * fails); bare LF line ends are tolerated on input, CRLF is always written.
 */
import { WireError } from './bytes.js';

/** One header line. */
export interface MimeHeader {
  /** Name as received (compare case-insensitively). */
  readonly name: string;
  /** Value with surrounding whitespace trimmed. */
  readonly value: string;
}

/** A header block plus its body. */
export interface MimeEntity {
  readonly headers: readonly MimeHeader[];
  /** Bytes after the blank line (view into the input). */
  readonly body: Uint8Array;
}

/** Limits for {@link decodeMimeEntity}. */
export interface MimeLimits {
  /** Max header lines (default 32). */
  maxHeaders?: number;
  /** Max bytes of the header section including the blank line (default 4096). */
  maxHeaderBytes?: number;
}

/** Well-known header names. */
export const MimeHeaderName = {
  ContentType: 'Content-Type',
  ContentLanguage: 'Content-Language',
  ContentTransferEncoding: 'Content-Transfer-Encoding',
} as const;

/** Value of the first header named `name` (case-insensitive). */
export function getMimeHeader(e: MimeEntity, name: string): string | undefined {
  const want = name.toLowerCase();
  return e.headers.find((h) => h.name.toLowerCase() === want)?.value;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits `buf` into headers and body. Errors: TRUNCATED when no blank line ends the headers, TOO_MANY /
 * BAD_LENGTH when limits are exceeded, BAD_VALUE for a line without ':' or an empty name, BAD_ENCODING for
 * control characters in a header line. A line starting with space/tab continues the previous header.
 */
export function decodeMimeEntity(buf: Uint8Array, limits: MimeLimits = {}): MimeEntity {
  const maxHeaders = limits.maxHeaders ?? 32;
  const maxBytes = limits.maxHeaderBytes ?? 4096;
  const headers: { name: string; value: string }[] = [];
  let o = 0;
  for (;;) {
    // Find the end of this line within the header budget.
    let e = o;
    const stop = Math.min(buf.length, maxBytes);
    while (e < stop && buf[e] !== LF) e++;
    if (e >= stop) {
      if (stop < buf.length) throw new WireError('BAD_LENGTH', o, `header section longer than ${maxBytes} bytes`);
      throw new WireError('TRUNCATED', o, 'header section not terminated by a blank line');
    }
    const lineEnd = e > o && buf[e - 1] === CR ? e - 1 : e;
    const next = e + 1;
    if (lineEnd === o) return { headers, body: buf.subarray(next) };
    let line = '';
    for (let i = o; i < lineEnd; i++) {
      const c = buf[i]!;
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) throw new WireError('BAD_ENCODING', i, `control byte 0x${c.toString(16)} in header`);
      line += String.fromCharCode(c);
    }
    const first = buf[o]!;
    if (first === 0x20 || first === 0x09) {
      const prev = headers[headers.length - 1];
      if (prev === undefined) throw new WireError('BAD_VALUE', o, 'continuation line before any header');
      prev.value = `${prev.value} ${line.trim()}`.trim();
    } else {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new WireError('BAD_VALUE', o, 'header line without a name and colon');
      const name = line.slice(0, colon).trim();
      if (name.length === 0 || /\s/.test(name)) throw new WireError('BAD_VALUE', o, 'invalid header name');
      if (headers.length >= maxHeaders) throw new WireError('TOO_MANY', o, `more than ${maxHeaders} headers`);
      headers.push({ name, value: line.slice(colon + 1).trim() });
    }
    o = next;
  }
}

/** Headers for {@link encodeMimeEntity}; written in AIM order. */
export interface MimeHeadersInput {
  contentType: string;
  /** Default 'en'. */
  contentLanguage?: string;
  /** Default 'binary'. */
  contentTransferEncoding?: string;
}

/**
 * Encodes headers in AIM order (Content-Type, Content-Language, Content-Transfer-Encoding), CRLF line ends,
 * a blank line, then the body. Throws RangeError for values containing CR/LF or non-Latin-1 characters.
 */
export function encodeMimeEntity(h: MimeHeadersInput, body: Uint8Array): Uint8Array {
  const lines = [
    `${MimeHeaderName.ContentType}: ${h.contentType}`,
    `${MimeHeaderName.ContentLanguage}: ${h.contentLanguage ?? 'en'}`,
    `${MimeHeaderName.ContentTransferEncoding}: ${h.contentTransferEncoding ?? 'binary'}`,
  ];
  const head = `${lines.join('\r\n')}\r\n\r\n`;
  const out = new Uint8Array(head.length + body.length);
  for (let i = 0; i < head.length; i++) {
    const c = head.charCodeAt(i);
    const inLineBreak = (c === 0x0d || c === 0x0a);
    if (c > 0xff || (c < 0x20 && !inLineBreak && c !== 0x09)) throw new RangeError('header value must be Latin-1 text');
    out[i] = c;
  }
  // A CR/LF smuggled inside a value would add lines: check the count of line breaks.
  if (head.split('\r\n').length !== 5 || /[\r\n]/.test(lines.join(''))) throw new RangeError('header value contains a line break');
  out.set(body, head.length);
  return out;
}

/** A parsed Content-Type value. */
export interface ContentType {
  /** `type/subtype`, lower-cased. */
  readonly mediaType: string;
  /** Parameters with lower-cased names and unquoted values. */
  readonly params: ReadonlyMap<string, string>;
  /** The `charset` parameter, lower-cased, if present. */
  readonly charset: string | undefined;
}

/**
 * Parses `type/subtype; name=value; name="quoted value"`. Accepts both `charset="us-ascii"` and
 * `charset=us-ascii` (§1.4). Throws WireError BAD_VALUE when there is no `type/subtype`.
 */
export function parseContentType(value: string): ContentType {
  const parts = splitParams(value);
  const mediaType = (parts.shift() ?? '').trim().toLowerCase();
  if (!/^[^\s/;]+\/[^\s/;]+$/.test(mediaType)) throw new WireError('BAD_VALUE', 0, 'Content-Type lacks type/subtype');
  const params = new Map<string, string>();
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq <= 0) continue; // tolerate stray ';'
    const name = p.slice(0, eq).trim().toLowerCase();
    let v = p.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    if (name.length > 0) params.set(name, v);
  }
  return { mediaType, params, charset: params.get('charset')?.toLowerCase() };
}

function splitParams(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted && c === '\\' && i + 1 < s.length) { cur += c + s[++i]!; continue; }
    if (c === '"') quoted = !quoted;
    if (c === ';' && !quoted) { out.push(cur); cur = ''; continue; }
    cur += c;
  }
  out.push(cur);
  return out;
}
