/**
 * The PKCS#12 key derivation function (RFC 7292 appendix B.2), used by the PKCS#12 MAC (both legacy SHA-1 and modern
 * SHA-256 MACs) and by the legacy pbeWithSHAAnd* bag ciphers. Passwords are BMPString (UTF-16BE) with a two-byte NUL
 * terminator (appendix B.1), which is what OpenSSL and the classic clients do.
 */
import { nodeCryptoProvider, type CryptoProvider } from './provider.js';

/** Purpose byte "ID" of appendix B.3. */
export const PKCS12_KDF_KEY = 1;
/** IV material. */
export const PKCS12_KDF_IV = 2;
/** MAC key. */
export const PKCS12_KDF_MAC = 3;

/** RFC 7292 B.1: the password as BMPString bytes plus 0x0000 (an empty password is just the terminator). */
export function pkcs12PasswordBytes(password: string): Buffer {
  const out = Buffer.alloc(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) out.writeUInt16BE(password.charCodeAt(i), i * 2);
  return out;
}

const BLOCK: Record<string, number> = { sha1: 64, sha256: 64, sha224: 64, sha384: 128, sha512: 128 };

/** Derives `n` bytes for purpose `id` with hash `hash` (sha1/sha256/...) and `iterations` rounds. */
export function pkcs12Kdf(
  hash: string, password: string, salt: Uint8Array, id: number, iterations: number, n: number,
  provider: CryptoProvider = nodeCryptoProvider,
): Buffer {
  const v = BLOCK[hash];
  if (v === undefined) throw new RangeError(`pkcs12Kdf: unsupported hash ${hash}`);
  const fill = (src: Uint8Array): Buffer => {
    const len = src.length === 0 ? 0 : v * Math.ceil(src.length / v);
    const out = Buffer.alloc(len);
    for (let i = 0; i < len; i++) out[i] = src[i % src.length]!;
    return out;
  };
  const D = Buffer.alloc(v, id);
  const I = Buffer.concat([fill(salt), fill(pkcs12PasswordBytes(password))]);
  const parts: Buffer[] = [];
  let got = 0;
  while (got < n) {
    let A = provider.createHash(hash).update(D).update(I).digest();
    // One-shot hash() is ~1.6x faster than createHash() per round; this loop is the PKCS#12 MAC's whole cost.
    for (let r = 1; r < iterations; r++) A = provider.hash(hash, A, 'buffer');
    parts.push(A);
    got += A.length;
    if (got >= n) break;
    // I_j = (I_j + B + 1) mod 2^(8v), B = A repeated to v bytes.
    const B = Buffer.alloc(v);
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
  return Buffer.concat(parts).subarray(0, n);
}
