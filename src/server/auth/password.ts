/**
 * Account password material. Two kinds, and only these two, are ever stored (never the plaintext):
 *
 * 1. A scrypt hash (memory-hard, node:crypto, run on the libuv pool so the event loop stays free), encoded with
 *    its parameters as `scrypt$N$r$p$<salt b64>$<hash b64>` so they can be raised later without breaking old
 *    hashes. Used by certim's own TLS login, EST enrollment and the admin CLI.
 *
 * 2. Only for accounts whose admin switched classic login on (`certim admin user add --legacy-login`): MD5(password),
 *    for classic BUCP MD5 login (docs/protocol.md §2.1). The client answers a 17/07 challenge key with
 *    MD5(key ‖ MD5(password) ‖ "AOL Instant Messenger (SM)") ("strong", AIM 4.8+, TLV 0x004C). The key is fresh and
 *    single-use for every login, so a sniffed plain-port login cannot be replayed; checking an answer to a fresh key
 *    needs MD5(password) itself, which is therefore password-equivalent for this protocol: whoever reads it from
 *    the database can answer any challenge (and, being an unsalted MD5, crack the password offline quickly). That
 *    is why classic login is opt-in per account and the value is deleted when it is switched off.
 *    COMPAT: the "weak" answer of AIM 3.5–4.7, MD5(key ‖ password ‖ same), could only be checked against a fresh
 *    key with the plaintext password on file; certim never stores it, so those clients cannot sign on (0x0001).
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
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
 * A well-formed hash of nothing anyone knows: checking a password against it costs one full scrypt at the default
 * cost and always fails, so a login for an unknown account takes as long as a wrong password.
 */
export const UNMATCHABLE_HASH = `scrypt$${1 << 15}$8$1$${randomBytes(16).toString('base64')}$${randomBytes(32).toString('base64')}`;

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
 * Makes the classic-login secret of an account: MD5(password) (password-equivalent; store it only for accounts with
 * classic login switched on).
 */
export function makeLegacyVerifier(password: string): LegacyVerifier {
  return { md5Password: new Uint8Array(createHash('md5').update(password, 'utf8').digest()) };
}

/** A fresh single-use BUCP challenge key (17/07): 32 hex digits, as retro-aim-server-style clients expect ASCII. */
export function newChallengeKey(): string {
  return randomBytes(16).toString('hex');
}

/**
 * Checks a client's 17/02 TLV 0x0025 answer to the challenge `key` in constant time: MD5(key ‖ MD5(password) ‖
 * "AOL Instant Messenger (SM)"). Only the strong form can be checked (see the file comment); anything else,
 * including the stored MD5(password) sent as the answer (pass-the-hash), is a failure.
 */
export function checkLegacyLogin(verifier: LegacyVerifier, key: string, clientHash: Uint8Array, _strong: boolean): boolean {
  // COMPAT: some clients send the strong answer without TLV 0x004C (retro-aim-server accepts either way), so the
  // flag is not required; a real weak answer simply does not match.
  if (clientHash.length !== 16 || verifier.md5Password.length !== 16) return false;
  const expected = createHash('md5').update(Buffer.from(key, 'latin1')).update(verifier.md5Password).update('AOL Instant Messenger (SM)', 'latin1').digest();
  return timingSafeEqual(expected, clientHash);
}
