/** Text <-> bytes for the charsets AIM Secure IM labels its inner content with (docs/protocol.md §6.3). */
import { latin1Decode, latin1Encode } from '../../wire/bytes.js';
import type { SecureImCharset } from './secure-im-types.js';

/** Picks the narrowest charset a classic client reads: us-ascii, iso-8859-1, else the wide/UTF-8 fallback. */
export function pickCharset(text: string, wide: SecureImCharset): SecureImCharset {
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > max) max = c;
  }
  return max < 0x80 ? 'us-ascii' : max < 0x100 ? 'iso-8859-1' : wide;
}

/** Encodes text; throws RangeError if it does not fit the charset (encoder input errors are the caller's bug). */
export function encodeCharset(text: string, charset: SecureImCharset): Uint8Array {
  switch (charset) {
    case 'us-ascii':
    case 'iso-8859-1': {
      const limit = charset === 'us-ascii' ? 0x80 : 0x100;
      for (let i = 0; i < text.length; i++) {
        if (text.charCodeAt(i) >= limit) throw new RangeError(`text does not fit ${charset}`);
      }
      return latin1Encode(text);
    }
    case 'utf-16be':
    case 'unicode-2-0':
    {
      const out = new Uint8Array(text.length * 2);
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        out[2 * i] = c >>> 8;
        out[2 * i + 1] = c & 0xff;
      }
      return out;
    }
    case 'utf-8':
      return utf8Encoder.encode(text);
  }
}

const utf8Encoder = new TextEncoder();
const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf16be = new TextDecoder('utf-16be', { fatal: true });

/** Decodes bytes labelled with a charset; undefined for an unknown charset or invalid bytes. */
export function decodeCharset(bytes: Uint8Array, charset: string): string | undefined {
  try {
    switch (charset) {
      case 'us-ascii':
      case 'ascii':
      case 'iso-8859-1':
      case 'latin1':
        return latin1Decode(bytes);
      case 'utf-16be':
      case 'unicode-2-0':
        return utf16be.decode(bytes);
      case 'utf-8':
        return utf8.decode(bytes);
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}
