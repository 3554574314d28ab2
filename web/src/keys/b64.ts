/** Base64 over Uint8Array with the browser's own atob/btoa (no Buffer in the page). */

/** Standard base64 of `bytes`. */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Decodes standard base64 (whitespace already removed); throws on bad input. */
export function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * `bytes` typed as WebCrypto's BufferSource. TypeScript's DOM types want an ArrayBuffer-backed view; every view
 * here is (none is made over a SharedArrayBuffer), so this only narrows the type.
 */
export function bufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}
