/**
 * RSA PKCS#1 v1.5 key-transport unwrap without a padding oracle.
 *
 * Node 20 refuses `privateDecrypt` with `RSA_PKCS1_PADDING` (CVE-2023-46809, the Marvin attack) unless the whole
 * process runs with `--security-revert`. Legacy AIM Secure IM messages (docs/protocol.md §6.3) still wrap their content key
 * that way, so we do the unwrap ourselves:
 *   1. raw RSA (`RSA_NO_PADDING`) through OpenSSL — native speed, blinded;
 *   2. a PKCS#1 v1.5 type-2 padding check written with branch-free integer arithmetic over every byte;
 *   3. RFC 3218 §2.3.2 with implicit rejection: whatever the outcome, return a key of the expected length — the real
 *      one when the padding is good, otherwise a synthetic one derived from the ciphertext under a per-key secret
 *      ({@link implicitRejectionKey}) — so the caller goes on to decrypt the content and only fails there, the same
 *      way a tampered ciphertext fails. The synthetic key is deterministic (the same ciphertext always gets the same
 *      key, as with OpenSSL 3.2's implicit rejection), so repeating a query tells nothing a good padding would not.
 *      Nothing observable depends on which step went wrong.
 * JavaScript gives no hard constant-time guarantee (the JIT may still branch), but the source has no data-dependent
 * branch, early exit or table lookup, which is the best a JS implementation can do.
 */
import { constants, createHmac, privateDecrypt, randomBytes, type KeyObject } from 'node:crypto';

// One random secret per private-key object, for the life of the process; never leaves this module. (Not derived from
// the key itself, so no private-key bytes are exported into the JS heap; callers keep one KeyObject per key.)
const rejectionSecrets = new WeakMap<KeyObject, Buffer>();

/**
 * The key handed on when an unwrap fails (implicit rejection): HMAC-SHA256 under a random per-private-key secret over
 * the encrypted key and the wanted length, truncated to `len` bytes (≤ 32). Computed on every unwrap, good or bad,
 * so the work does not depend on the padding. Also used for RSA-OAEP failures (docs/protocol.md §6.3).
 */
export function implicitRejectionKey(key: KeyObject, encryptedKey: Uint8Array, len: number): Buffer {
  if (len > 32) throw new RangeError('content keys are at most 32 bytes');
  let secret = rejectionSecrets.get(key);
  if (!secret) {
    secret = randomBytes(32);
    rejectionSecrets.set(key, secret);
  }
  return createHmac('sha256', secret).update(encryptedKey).update(Uint8Array.of(len)).digest().subarray(0, len);
}

/** Result of an unwrap: always a key of the expected length; `paddingOk` is for unit tests only. */
export interface Pkcs1UnwrapResult {
  /** The content-encryption key, or a synthetic substitute of the same length (RFC 3218 §2.3.2). */
  key: Buffer;
  /** True when the padding was valid. For unit tests of the padding check only: the decoder ignores it, and nothing
   *  a user, log or peer sees may depend on it (one failure for unwrap and content errors, docs/protocol.md §6.3). */
  paddingOk: boolean;
}

/**
 * Checks an encoded message EM = 00 || 02 || PS (>= 8 non-zero bytes) || 00 || M with |M| = expectedLen, in time that
 * depends only on EM's length, and copies M (or `fallback` when invalid) into a new buffer.
 */
export function pkcs1Type2Select(em: Uint8Array, expectedLen: number, fallback: Uint8Array): Pkcs1UnwrapResult {
  const k = em.length;
  // good is 1 while everything checks out, 0 otherwise; all arithmetic stays in small non-negative int32 range.
  let good = isZero(em[0]! | (em[1]! ^ 2));
  let looking = 1; // 1 until the first zero byte after the header is found
  let sepIndex = 0;
  for (let i = 2; i < k; i++) {
    const z = isZero(em[i]!);
    const hit = looking & z;
    sepIndex |= i & -hit; // records i exactly once: at the first zero
    looking &= z ^ 1;
  }
  good &= looking ^ 1; // a separator was found
  good &= ((sepIndex - 10) >>> 31) ^ 1; // PS is at least 8 bytes: separator index >= 10
  good &= isZero((k - sepIndex - 1) ^ expectedLen); // the payload has the expected length
  const mask = -good & 0xff;
  const out = Buffer.allocUnsafe(expectedLen);
  const start = k - expectedLen;
  for (let j = 0; j < expectedLen; j++) {
    const real = start + j >= 0 ? em[start + j]! : 0; // public condition: depends only on lengths
    out[j] = (real & mask) | (fallback[j]! & ~mask & 0xff);
  }
  return { key: out, paddingOk: good === 1 };
}

/** 1 when x (0 <= x < 2^31) is zero, else 0, without a branch. */
function isZero(x: number): number {
  return ((x - 1) >>> 31) & 1;
}

/**
 * Unwraps a PKCS#1 v1.5 encrypted content key with the RFC 3218 countermeasure (implicit rejection). Never throws
 * for bad input: a ciphertext of the wrong length or >= the modulus (public facts) also yields the synthetic key.
 * @param key RSA private key (cached KeyObject)
 * @param modulusBytes the key's modulus length in bytes
 * @param encryptedKey the KeyTransRecipientInfo encryptedKey
 * @param expectedLen the content-encryption key length the content algorithm needs
 */
export function unwrapPkcs1v15(key: KeyObject, modulusBytes: number, encryptedKey: Uint8Array, expectedLen: number): Pkcs1UnwrapResult {
  const fallback = implicitRejectionKey(key, encryptedKey, expectedLen);
  let em: Buffer;
  if (encryptedKey.length !== modulusBytes) return { key: fallback, paddingOk: false };
  try {
    em = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, encryptedKey);
  } catch {
    return { key: fallback, paddingOk: false };
  }
  if (em.length !== modulusBytes) {
    // OpenSSL returns exactly k bytes for RSA_NO_PADDING; anything else is an internal surprise, not attacker data.
    return { key: fallback, paddingOk: false };
  }
  const r = pkcs1Type2Select(em, expectedLen, fallback);
  em.fill(0);
  return r;
}
