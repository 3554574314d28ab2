/**
 * The PKCS#12 key derivation function (RFC 7292 appendix B.2), used by the PKCS#12 MAC (both legacy SHA-1 and modern
 * SHA-256 MACs) and by the legacy pbeWithSHAAnd* bag ciphers. Passwords are BMPString (UTF-16BE) with a two-byte NUL
 * terminator (appendix B.1), which is what OpenSSL and the classic clients do.
 *
 * Portable (the web client runs it): the hash is a synchronous one-shot function the caller passes — node:crypto's
 * in the CLI, the plain-TypeScript SHA-256 of src/wire/sha256.ts in the browser (WebCrypto's digest is asynchronous,
 * and awaiting it once per round would cost far more than the hashing).
 */

/** Purpose byte "ID" of appendix B.3. */
export const PKCS12_KDF_KEY = 1;
/** IV material. */
export const PKCS12_KDF_IV = 2;
/** MAC key. */
export const PKCS12_KDF_MAC = 3;

/** A synchronous one-shot hash: `hash` is a lowercase name (sha1, sha256, ...). */
export type Pkcs12Digest = (hash: string, data: Uint8Array) => Uint8Array;

/** RFC 7292 B.1: the password as BMPString bytes plus 0x0000 (an empty password is just the terminator). */
export function pkcs12PasswordBytes(password: string): Uint8Array {
  const out = new Uint8Array(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) {
    const c = password.charCodeAt(i);
    out[i * 2] = c >>> 8;
    out[i * 2 + 1] = c & 0xff;
  }
  return out;
}

const BLOCK: Record<string, number> = { sha1: 64, sha256: 64, sha224: 64, sha384: 128, sha512: 128 };

/** Derives `n` bytes for purpose `id` with hash `hash` (sha1/sha256/...) and `iterations` rounds. */
export function pkcs12Kdf(
  hash: string, password: string, salt: Uint8Array, id: number, iterations: number, n: number, digest: Pkcs12Digest,
): Uint8Array {
  const v = BLOCK[hash];
  if (v === undefined) throw new RangeError(`pkcs12Kdf: unsupported hash ${hash}`);
  const pw = pkcs12PasswordBytes(password);
  const fillLen = (len: number): number => (len === 0 ? 0 : v * Math.ceil(len / v));
  // D || I, with I = S || P, each repeated to a multiple of v bytes.
  const DI = new Uint8Array(v + fillLen(salt.length) + fillLen(pw.length));
  DI.fill(id, 0, v);
  for (let i = 0, o = v, len = fillLen(salt.length); i < len; i++) DI[o + i] = salt[i % salt.length]!;
  for (let i = 0, o = v + fillLen(salt.length), len = fillLen(pw.length); i < len; i++) DI[o + i] = pw[i % pw.length]!;
  pw.fill(0);
  const I = DI.subarray(v);
  const out = new Uint8Array(n);
  let got = 0;
  try {
    while (got < n) {
      let A = digest(hash, DI);
      for (let r = 1; r < iterations; r++) A = digest(hash, A);
      out.set(A.subarray(0, Math.min(A.length, n - got)), got);
      got += A.length;
      if (got >= n) break;
      // I_j = (I_j + B + 1) mod 2^(8v), B = A repeated to v bytes.
      const B = new Uint8Array(v);
      for (let i = 0; i < v; i++) B[i] = A[i % A.length]!;
      for (let j = 0; j < I.length; j += v) {
        let carry = 1;
        for (let k = v - 1; k >= 0; k--) {
          const s = I[j + k]! + B[k]! + carry;
          I[j + k] = s & 0xff;
          carry = s >> 8;
        }
      }
    }
  } finally {
    DI.fill(0);
  }
  return out;
}
