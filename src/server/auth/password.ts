/**
 * Account password material. Two kinds, and only these two, are ever stored (never the plaintext):
 *
 * 1. A scrypt hash (memory-hard, node:crypto, run on the libuv pool so the event loop stays free), encoded with
 *    its parameters as `scrypt$N$r$p$<salt b64>$<hash b64>` so they can be raised later without breaking old
 *    hashes. Used by certim's own TLS login, EST enrollment and the admin CLI.
 *
 * 2. The legacy AIM verifier, for classic BUCP MD5 login (PROTOCOL.md §2.1). The client answers the 17/07 key with
 *    MD5(key ‖ password ‖ "AOL Instant Messenger (SM)") ("weak", AIM 3.5–4.7) or MD5(key ‖ MD5(password) ‖ same)
 *    ("strong", AIM 4.8+, TLV 0x004C). Checking either without the plaintext means fixing the key per account and
 *    storing both answers. TRADE-OFF: these digests are password-equivalent for this server — whoever reads the
 *    database, or captures one login on the plain (non-TLS) port, can replay the digest and sign on, and an MD5
 *    over a known key is cheap to brute-force offline. That is why it is a per-account switch: the server defaults
 *    it on so classic clients work, and an account that never uses a classic client should turn it off (which
 *    deletes the verifier). Turning it back on needs the password, i.e. a password change.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { strongPasswordHash, weakPasswordHash } from '../../wire/families/bucp.js';
import type { LegacyVerifier } from '../../store/accounts.js';

export type { LegacyVerifier } from '../../store/accounts.js';

/** scrypt cost parameters. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelism. */
  p: number;
}

/**
 * Default cost: N=2^15, r=8 → 32 MiB and roughly 50–100 ms per hash on the 2-core hosts this runs on; a login
 * costs that once, an offline guess costs the same. (OWASP's floor is N=2^17 with r=8; we stay at 2^15 because
 * every TLS login and EST request pays it and the server also rate-limits failed logins.)
 */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = { N: 1 << 15, r: 8, p: 1 };

/** Bounds on parameters accepted from a stored hash, so a corrupted row can't make verify allocate gigabytes. */
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;
/** scrypt needs 128·N·r bytes per lane; refuse anything over 256 MiB. */
const MAX_SCRYPT_BYTES = 256 * 1024 * 1024;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

function scryptAsync(password: string, salt: Uint8Array, params: ScryptParams, length = KEY_BYTES): Promise<Buffer> {
  // maxmem must exceed 128·N·r (Node's 32 MiB default is exactly the default cost, so it would refuse it).
  const maxmem = 128 * params.N * params.r + 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, length, { N: params.N, r: params.r, p: params.p, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function validParams(p: ScryptParams): boolean {
  const pow2 = p.N > 1 && (p.N & (p.N - 1)) === 0;
  return pow2 && p.N <= MAX_N && Number.isInteger(p.r) && p.r >= 1 && p.r <= MAX_R && Number.isInteger(p.p) && p.p >= 1 && p.p <= MAX_P &&
    128 * p.N * p.r <= MAX_SCRYPT_BYTES;
}

/** Hashes a password with a fresh random salt; returns `scrypt$N$r$p$salt$hash` (base64 parts). */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  if (!validParams(params)) throw new RangeError('invalid scrypt parameters');
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(password, salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * True if password matches the encoded hash (constant-time compare). A malformed or out-of-bounds hash string
 * returns false rather than throwing, so a damaged row reads as a failed login, not a crash.
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const params = { N, r, p };
  if (!validParams(params)) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const expected = Buffer.from(parts[5] ?? '', 'base64');
  if (salt.length < 8 || expected.length < 16 || expected.length > 64) return false;
  const key = await scryptAsync(password, salt, params, expected.length);
  return timingSafeEqual(key, expected);
}

/** True when the encoded hash uses weaker parameters than the given ones (rehash it at the next login). */
export function needsRehash(encoded: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): boolean {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return true;
  return Number(parts[1]) < params.N || Number(parts[2]) < params.r || Number(parts[3]) < params.p;
}

/** The weak BUCP answer for a key (MD5(key ‖ password ‖ "AOL Instant Messenger (SM)"); the wire layer's definition). */
export function aimMd5Weak(authKey: string, password: string): Uint8Array {
  return weakPasswordHash(Buffer.from(authKey, 'latin1'), password);
}

/** The strong BUCP answer for a key (MD5(key ‖ MD5(password) ‖ same)); the wire layer's definition. */
export function aimMd5Strong(authKey: string, password: string): Uint8Array {
  return strongPasswordHash(Buffer.from(authKey, 'latin1'), password);
}

/**
 * Makes a legacy verifier: a random per-account auth key (32 hex digits, the string the server sends in 17/07)
 * plus the weak and strong answers for it. Store it only for accounts with legacy login enabled.
 */
export function makeLegacyVerifier(password: string, authKey: string = randomBytes(16).toString('hex')): LegacyVerifier {
  return { authKey, weak: aimMd5Weak(authKey, password), strong: aimMd5Strong(authKey, password) };
}

/**
 * Checks a client's 17/02 TLV 0x0025 digest against the verifier in constant time. strong = TLV 0x004C present.
 * Either stored digest is accepted whatever the flag says, as some clients mislabel the variant (retro-aim-server
 * does the same); the flag only decides which is compared first. Wrong-length input is simply a failure.
 */
export function checkLegacyLogin(verifier: LegacyVerifier, clientHash: Uint8Array, strong: boolean): boolean {
  if (clientHash.length !== 16 || verifier.weak.length !== 16 || verifier.strong.length !== 16) return false;
  const [first, second] = strong ? [verifier.strong, verifier.weak] : [verifier.weak, verifier.strong];
  // Both compares always run, so timing doesn't reveal which variant matched.
  const a = timingSafeEqual(first, clientHash);
  const b = timingSafeEqual(second, clientHash);
  return a || b;
}
