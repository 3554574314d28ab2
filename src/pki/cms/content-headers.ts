/**
 * The MIME-like header blocks of AIM Secure IM (PROTOCOL.md §6.3): `Name: value` lines ended by CRLF, then an empty
 * line, then binary content. Names are matched case-insensitively in any order (AIM and joscar order them
 * differently).
 *
 * TODO(wire): src/wire/mime-headers.ts is the shared codec; src/pki may not import src/wire (STYLE.md layout), so this
 * keeps the two tiny operations the CMS layer needs. Switch once the shared codec lives where pki may import it.
 */

/** Largest header block we scan for; real ones are ~100 bytes. Bounds work on hostile input. */
const MAX_HEADER_BYTES = 2048;

/** Header names lowercased -> raw values, and the content after the blank line. */
export interface HeaderBlock {
  headers: Map<string, string>;
  body: Uint8Array;
}

/** Encodes a header block followed by CRLF CRLF. */
export function encodeHeaders(fields: [string, string][]): Buffer {
  return Buffer.from(fields.map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n', 'latin1');
}

/** Splits a header block off `bytes`; undefined when there is no well-formed block within the bound. */
export function splitHeaders(bytes: Uint8Array): HeaderBlock | undefined {
  const limit = Math.min(bytes.length - 3, MAX_HEADER_BYTES);
  let end = -1;
  for (let i = 0; i < limit; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) { end = i; break; }
  }
  if (end < 0) return undefined;
  const headers = new Map<string, string>();
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('latin1');
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body: bytes.subarray(end + 4) };
}

/** Parses `type/subtype; charset=x` into the lowercase media type and the (lowercase, unquoted) charset. */
export function parseContentType(value: string | undefined): { type: string; charset: string | undefined } {
  if (!value) return { type: '', charset: undefined };
  const [type, ...params] = value.split(';');
  let charset: string | undefined;
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq > 0 && p.slice(0, eq).trim().toLowerCase() === 'charset') charset = p.slice(eq + 1).trim().replace(/^"|"$/g, '').toLowerCase();
  }
  return { type: type!.trim().toLowerCase(), charset };
}
