/**
 * Encoding of log field values before they reach any sink. Attacker-chosen text (a 17/02 screen name, docs/protocol.md
 * §2.1; an HTTP path; a client id string) must not be able to forge a log line or hide in one, in the JSON form or in
 * the pretty form on a terminal, so every string is reduced to printable text:
 *
 * - control characters (C0, DEL, C1), line and paragraph separators, bidirectional overrides and lone surrogates
 *   become `\xNN` / `\u{NNNN}`, and a backslash becomes `\\`, so the encoding is unambiguous;
 * - strings are cut at {@link MAX_STRING} characters (with the number left out), objects at a few levels and keys;
 * - bytes (Uint8Array, Buffer, ArrayBuffer) are never printed, only their length;
 * - fields whose name says secret (password, passphrase, key material, cookie, token, message text) are redacted,
 *   whatever their value — a second line of defence; callers must not pass them at all.
 */

/** Longest string value written, in UTF-16 units. */
export const MAX_STRING = 256;
/** Deepest nesting of objects/arrays written. */
const MAX_DEPTH = 3;
/** Most keys or items written per object or array. */
const MAX_ITEMS = 32;

/** Field names whose values are never written. */
const SECRET_NAME = /pass(word|phrase)?|secret|private|cookie|token|authorization|^(key|keypem|text|message|msg|body|payload|plaintext)$/i;

// C0, DEL, C1; U+2028/2029; bidi embeddings/overrides/isolates; BOM; lone surrogates; and the backslash.
// Matching control characters is the point of this pattern.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\\]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function escapeChar(c: string): string {
  if (c === '\\') return '\\\\';
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/** A string made safe for one log line (see the module comment). */
export function encodeLogString(s: string): string {
  const cut = s.length > MAX_STRING ? s.slice(0, MAX_STRING) : s;
  const safe = cut.replace(UNSAFE, escapeChar);
  return cut === s ? safe : `${safe}...(+${s.length - MAX_STRING})`;
}

/** One value encoded for a log line; `depth` is the current nesting. */
export function encodeLogValue(v: unknown, depth = 0): unknown {
  switch (typeof v) {
    case 'string':
      return encodeLogString(v);
    case 'number':
      return Number.isFinite(v) ? v : String(v);
    case 'boolean':
      return v;
    case 'bigint':
      return v.toString();
    case 'undefined':
      return undefined;
    case 'symbol':
    case 'function':
      return `[${typeof v}]`;
    default:
      break;
  }
  if (v === null) return null;
  if (v instanceof Uint8Array || v instanceof ArrayBuffer) return `[${v.byteLength} bytes]`;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  if (v instanceof Error) {
    const code = (v as { code?: unknown }).code;
    return encodeLogString(typeof code === 'string' ? `${code}: ${v.message}` : v.message);
  }
  if (depth >= MAX_DEPTH) return '[nested]';
  if (Array.isArray(v)) {
    const out = v.slice(0, MAX_ITEMS).map((x) => encodeLogValue(x, depth + 1));
    if (v.length > MAX_ITEMS) out.push(`...(+${v.length - MAX_ITEMS})`);
    return out;
  }
  return encodeLogFields(v as Record<string, unknown>, depth + 1);
}

/** Every field encoded; secret-named fields redacted; undefined values left out. */
export function encodeLogFields(fields: Readonly<Record<string, unknown>>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, v] of Object.entries(fields)) {
    if (++n > MAX_ITEMS) {
      out['...'] = `+${Object.keys(fields).length - MAX_ITEMS} fields`;
      break;
    }
    const key = encodeLogString(k);
    if (SECRET_NAME.test(k)) {
      out[key] = '[redacted]';
      continue;
    }
    const e = encodeLogValue(v, depth);
    if (e !== undefined) out[key] = e;
  }
  return out;
}
