/**
 * Password-based encryption of PKCS#8 keys and PKCS#12 bags: PBES2 (RFC 8018 §6.2) with PBKDF2 or scrypt
 * (RFC 7914 §7) and AES-CBC / 3DES-CBC, plus the PKCS#12 PBE schemes (RFC 7292 appendix C) that legacy files use:
 * pbeWithSHAAnd3-KeyTripleDES-CBC and pbeWithSHAAnd40BitRC2-CBC / 128BitRC2-CBC.
 *
 * All KDF work parameters read from files are bounded before any work is done, so a hostile file cannot make us
 * allocate gigabytes or spin for minutes. A failed decryption (bad padding, the usual wrong-password symptom) is
 * PkiError BAD_PASSPHRASE.
 */
import { der, seqOf, readBigInt, readOid, readOctets, readSmallInt, TAG, Asn1Error, type Asn1 } from './asn1/der.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';
import { pkcs12Kdf, PKCS12_KDF_IV, PKCS12_KDF_KEY } from './pkcs12-kdf.js';
import { rc2CbcDecrypt } from './rc2.js';
import { nodeCryptoProvider, type CryptoProvider } from './provider.js';

/** scrypt work parameters. */
export interface ScryptParams {
  /** log2 of the cost N. */
  log2N: number;
  /** Block size r. */
  r: number;
  /** Parallelization p. */
  p: number;
}

/**
 * Default scrypt parameters for keys at rest: N = 2^15, r = 7, p = 1 (128·N·r ≈ 28 MiB, ~0.12 s here).
 * Why r = 7 and not the textbook r = 8: OpenSSL 3.0 caps PKCS#8 scrypt memory at 32 MiB (SCRYPT_MAX_MEM) and Node's
 * createPrivateKey inherits that cap, so N = 2^15 with r = 8 (32 MiB + 1 KiB) would NOT open in `openssl pkcs8`
 * (measured: "memory limit exceeded"). This is the most memory-hard setting those tools can still read; N·r (the
 * attacker's time·memory) is 1.75x the N = 2^14, r = 8 OpenSSL default. Callers may ask for more
 * (log2N up to 20); such files open in certim only.
 */
export const DEFAULT_SCRYPT: ScryptParams = { log2N: 15, r: 7, p: 1 };

/**
 * Limits applied to parameters read from files, checked before any key derivation or decryption starts.
 * PBKDF2 runs natively off the event loop (~1 µs per SHA-256 round here): 10 M is ~10 s, 100x OpenSSL's and our
 * own defaults. The PKCS#12 KDF runs in JS on the event loop (~2 µs per round): 200,000 rounds is ~0.4 s per
 * derivation, 10x the 20,000 we write and ~100x the 2,048 OpenSSL and AIM-era clients write.
 */
export const PBE_LIMITS = {
  /** Largest PBKDF2 iteration count accepted (PBES2 and PBES1). */
  pbkdf2Iterations: 10_000_000,
  /** Largest PKCS#12-KDF iteration count accepted (PKCS#12 PBE and the PKCS#12 MAC). */
  pkcs12Iterations: 200_000,
  /** Largest scrypt memory (128·N·r·p bytes) accepted. */
  scryptMemory: 1024 * 1024 * 1024,
  /** Largest scrypt N·r·p accepted. */
  scryptWork: 2 ** 26,
  /** Largest salt accepted. */
  saltBytes: 1024,
} as const;
const MAX_PBKDF2_ITER = PBE_LIMITS.pbkdf2Iterations;
const MAX_PKCS12_ITER = PBE_LIMITS.pkcs12Iterations;
const MAX_SCRYPT_MEM = PBE_LIMITS.scryptMemory;

/** The work a PBE AlgorithmIdentifier asks for, as counted by {@link assertPbeWorkBounded}. */
export interface PbeWork {
  /** PBKDF2 iterations. */
  pbkdf2: number;
  /** PKCS#12-KDF rounds (iterations x derivations). */
  pkcs12: number;
  /** scrypt N·r·p. */
  scrypt: number;
}

/** A running total for files with several encrypted parts (PKCS#12): each part adds its work before it runs. */
export interface PbeWorkBudget {
  /** Work spent so far (updated in place). */
  spent: PbeWork;
  /** Ceiling for the totals. */
  limit: PbeWork;
}

function tooMuch(what: string): never {
  throw new PkiError('WORK_LIMIT_EXCEEDED', `${what} is above certim's limit; refusing before any decryption`);
}

function iterationCount(n: Asn1 | undefined, max: number, what: string): number {
  if (!n || n.tag !== TAG.INTEGER) throw new PkiError('MALFORMED', `${what}: missing iteration count`);
  const v = readBigInt(n);
  if (v < 1n) throw new PkiError('MALFORMED', `${what} iteration count ${v} out of range`);
  if (v > BigInt(max)) tooMuch(`${what} iteration count ${v}`);
  return Number(v);
}

const PBES1 = new Set<string>([
  OID.pbeWithMD2AndDESCBC, OID.pbeWithMD5AndDESCBC, OID.pbeWithMD2AndRC2CBC, OID.pbeWithMD5AndRC2CBC,
  OID.pbeWithSHA1AndDESCBC, OID.pbeWithSHA1AndRC2CBC,
]);
const PKCS12_PBE = new Set<string>([
  OID.pbeWithSHAAnd128BitRC4, OID.pbeWithSHAAnd40BitRC4, OID.pbeWithSHAAnd3KeyTripleDESCBC,
  OID.pbeWithSHAAnd2KeyTripleDESCBC, OID.pbeWithSHAAnd128BitRC2CBC, OID.pbeWithSHAAnd40BitRC2CBC,
]);

/**
 * Reads the work parameters of any password-based encryption AlgorithmIdentifier — PBES2 (PBKDF2 or scrypt, whatever
 * the cipher), PBES1 (RFC 8018 §6.1) and the PKCS#12 PBE schemes (RFC 7292 appendix C) — and throws
 * WORK_LIMIT_EXCEEDED when one is above {@link PBE_LIMITS} (or would exceed `budget`), MALFORMED when unreadable,
 * UNSUPPORTED_ALGORITHM for schemes whose work we cannot bound. Call it before handing a file to any decryptor,
 * including OpenSSL for ciphers certim does not implement.
 */
export function assertPbeWorkBounded(alg: Asn1, budget?: PbeWorkBudget): PbeWork {
  let work: PbeWork;
  try {
    work = pbeWork(alg);
  } catch (e) {
    if (Asn1Error.is(e)) throw new PkiError('MALFORMED', `malformed encryption parameters: ${e.message}`, { cause: e });
    throw e;
  }
  if (budget) {
    const s = budget.spent;
    const l = budget.limit;
    if (s.pbkdf2 + work.pbkdf2 > l.pbkdf2) tooMuch('the total PBKDF2 iteration count of this file');
    if (s.pkcs12 + work.pkcs12 > l.pkcs12) tooMuch('the total PKCS#12 KDF iteration count of this file');
    if (s.scrypt + work.scrypt > l.scrypt) tooMuch('the total scrypt cost of this file');
    s.pbkdf2 += work.pbkdf2;
    s.pkcs12 += work.pkcs12;
    s.scrypt += work.scrypt;
  }
  return work;
}

function pbeWork(alg: Asn1): PbeWork {
  const [oidN, params] = seqOf(alg, 'AlgorithmIdentifier', 1);
  const oid = readOid(oidN!);
  if (PKCS12_PBE.has(oid) || PBES1.has(oid)) {
    const pkcs12 = PKCS12_PBE.has(oid);
    const [saltN, iterN] = seqOf(params, pkcs12 ? 'pkcs-12PbeParams' : 'PBEParameter', 2);
    if (readOctets(saltN!).length > PBE_LIMITS.saltBytes) throw new PkiError('MALFORMED', 'PBE salt too long');
    const iter = iterationCount(iterN, pkcs12 ? MAX_PKCS12_ITER : MAX_PBKDF2_ITER, pkcs12 ? 'PKCS#12 PBE' : 'PBES1');
    return pkcs12 ? { pbkdf2: 0, pkcs12: 2 * iter, scrypt: 0 } : { pbkdf2: iter, pkcs12: 0, scrypt: 0 };
  }
  if (oid !== OID.pbes2) throw new PkiError('UNSUPPORTED_ALGORITHM', `unsupported encryption algorithm ${oid}`);
  const [kdf] = seqOf(params, 'PBES2-params', 2);
  const [kdfOidN, kdfParams] = seqOf(kdf, 'keyDerivationFunc', 2);
  const kdfOid = readOid(kdfOidN!);
  if (kdfOid === OID.pbkdf2) {
    const kids = seqOf(kdfParams, 'PBKDF2-params', 2);
    if (kids[0]!.tag !== TAG.OCTET_STRING) throw new PkiError('UNSUPPORTED_ALGORITHM', 'PBKDF2 with a non-specified salt source');
    if (readOctets(kids[0]!).length > PBE_LIMITS.saltBytes) throw new PkiError('MALFORMED', 'PBKDF2 salt too long');
    return { pbkdf2: iterationCount(kids[1], MAX_PBKDF2_ITER, 'PBKDF2'), pkcs12: 0, scrypt: 0 };
  }
  if (kdfOid === OID.scrypt) {
    const kids = seqOf(kdfParams, 'scrypt-params', 4);
    if (readOctets(kids[0]!).length > PBE_LIMITS.saltBytes) throw new PkiError('MALFORMED', 'scrypt salt too long');
    const [N, r, p] = [readBigInt(kids[1]!), readBigInt(kids[2]!), readBigInt(kids[3]!)];
    if (N < 2n || (N & (N - 1n)) !== 0n || r < 1n || p < 1n) throw new PkiError('MALFORMED', `scrypt parameters N=${N} r=${r} p=${p} are invalid`);
    if (128n * N * r * p > BigInt(MAX_SCRYPT_MEM) || N * r * p > BigInt(PBE_LIMITS.scryptWork)) tooMuch(`scrypt cost N=${N} r=${r} p=${p}`);
    return { pbkdf2: 0, pkcs12: 0, scrypt: Number(N * r * p) };
  }
  throw new PkiError('UNSUPPORTED_ALGORITHM', `unsupported PBES2 key derivation ${kdfOid}`);
}

const PRF_HASH: Record<string, string> = {
  [OID.hmacWithSHA1]: 'sha1', [OID.hmacWithSHA224]: 'sha224', [OID.hmacWithSHA256]: 'sha256',
  [OID.hmacWithSHA384]: 'sha384', [OID.hmacWithSHA512]: 'sha512',
};
const CIPHERS: Record<string, { name: string; keyLen: number; ivLen: number }> = {
  [OID.aes128Cbc]: { name: 'aes-128-cbc', keyLen: 16, ivLen: 16 },
  [OID.aes192Cbc]: { name: 'aes-192-cbc', keyLen: 24, ivLen: 16 },
  [OID.aes256Cbc]: { name: 'aes-256-cbc', keyLen: 32, ivLen: 16 },
  [OID.desEde3Cbc]: { name: 'des-ede3-cbc', keyLen: 24, ivLen: 8 },
};

function pbkdf2(provider: CryptoProvider, pw: Uint8Array, salt: Uint8Array, iter: number, len: number, hash: string): Promise<Buffer> {
  return new Promise((resolve, reject) => provider.pbkdf2(pw, salt, iter, len, hash, (e, k) => (e ? reject(e) : resolve(k))));
}

function scrypt(provider: CryptoProvider, pw: Uint8Array, salt: Uint8Array, len: number, s: { N: number; r: number; p: number }): Promise<Buffer> {
  const maxmem = 128 * s.N * s.r * s.p + 128 * s.r * s.p + 1024 * 1024;
  return new Promise((resolve, reject) =>
    provider.scrypt(pw, salt, len, { N: s.N, r: s.r, p: s.p, maxmem }, (e, k) => (e ? reject(e) : resolve(k))));
}

function cbc(provider: CryptoProvider, decrypt: boolean, name: string, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  try {
    const c = decrypt ? provider.createDecipheriv(name, key, iv) : provider.createCipheriv(name, key, iv);
    return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
  } catch (e) {
    if (decrypt) throw new PkiError('BAD_PASSPHRASE', 'decryption failed: wrong passphrase (or corrupted data)', { cause: e });
    throw e;
  }
}

/** How to encrypt with PBES2. */
export type Pbes2Options =
  | { kdf: 'scrypt'; scrypt?: ScryptParams; cipher?: 'aes-256-cbc' }
  | { kdf: 'pbkdf2'; iterations: number; hash?: 'sha256' | 'sha1'; cipher?: 'aes-256-cbc' };

/** Encrypts `plain` with PBES2; returns the AlgorithmIdentifier DER and the ciphertext. Password bytes are UTF-8. */
export async function pbes2Encrypt(
  plain: Uint8Array, password: string, opts: Pbes2Options, provider: CryptoProvider = nodeCryptoProvider,
): Promise<{ algorithm: Uint8Array; ciphertext: Uint8Array }> {
  const pw = Buffer.from(password, 'utf8');
  const salt = provider.randomBytes(16);
  const iv = provider.randomBytes(16);
  let key: Buffer;
  let kdfAlg: Uint8Array;
  if (opts.kdf === 'scrypt') {
    const s = opts.scrypt ?? DEFAULT_SCRYPT;
    if (s.log2N < 10 || s.log2N > 20 || s.r < 1 || s.r > 32 || s.p < 1 || s.p > 16) {
      throw new PkiError('INVALID_ARGUMENT', 'scrypt parameters out of range');
    }
    const N = 2 ** s.log2N;
    key = await scrypt(provider, pw, salt, 32, { N, r: s.r, p: s.p });
    // scrypt-params ::= SEQUENCE { salt, costParameter, blockSize, parallelizationParameter, keyLength OPTIONAL }
    kdfAlg = der.seq(der.oid(OID.scrypt), der.seq(der.octets(salt), der.int(N), der.int(s.r), der.int(s.p), der.int(32)));
  } else {
    const hash = opts.hash ?? 'sha256';
    if (opts.iterations < 1 || opts.iterations > MAX_PBKDF2_ITER) throw new PkiError('INVALID_ARGUMENT', 'PBKDF2 iterations out of range');
    key = await pbkdf2(provider, pw, salt, opts.iterations, 32, hash);
    const prf = hash === 'sha256' ? OID.hmacWithSHA256 : OID.hmacWithSHA1;
    // PBKDF2-params ::= SEQUENCE { salt, iterationCount, keyLength OPTIONAL, prf DEFAULT hmacWithSHA1 }
    const params = [der.octets(salt), der.int(opts.iterations)];
    if (prf !== OID.hmacWithSHA1) params.push(der.seq(der.oid(prf), der.null()));
    kdfAlg = der.seq(der.oid(OID.pbkdf2), der.seq(...params));
  }
  const ciphertext = cbc(provider, false, 'aes-256-cbc', key, iv, plain);
  const algorithm = der.seq(der.oid(OID.pbes2), der.seq(kdfAlg, der.seq(der.oid(OID.aes256Cbc), der.octets(iv))));
  return { algorithm, ciphertext };
}

/** Encrypts with a PKCS#12 PBE scheme (legacy): pbeWithSHAAnd3-KeyTripleDES-CBC. Password is BMPString per RFC 7292. */
export function pkcs12PbeEncrypt(
  plain: Uint8Array, password: string, iterations: number, provider: CryptoProvider = nodeCryptoProvider,
): { algorithm: Uint8Array; ciphertext: Uint8Array } {
  const salt = provider.randomBytes(8);
  const key = pkcs12Kdf('sha1', password, salt, PKCS12_KDF_KEY, iterations, 24, provider);
  const iv = pkcs12Kdf('sha1', password, salt, PKCS12_KDF_IV, iterations, 8, provider);
  const ciphertext = cbc(provider, false, 'des-ede3-cbc', key, iv, plain);
  const algorithm = der.seq(der.oid(OID.pbeWithSHAAnd3KeyTripleDESCBC), der.seq(der.octets(salt), der.int(iterations)));
  return { algorithm, ciphertext };
}

/** Short description of an encryption AlgorithmIdentifier, for diagnostics (e.g. "PBES2/scrypt/aes-256-cbc"). */
export function describeEncryptionAlgorithm(alg: Asn1): string {
  const [oidN, params] = seqOf(alg, 'AlgorithmIdentifier', 1);
  const oid = readOid(oidN!);
  if (oid !== OID.pbes2) return oid;
  const [kdf, enc] = seqOf(params, 'PBES2-params', 2);
  const kdfOid = readOid(seqOf(kdf, 'keyDerivationFunc', 1)[0]!);
  const encOid = readOid(seqOf(enc, 'encryptionScheme', 1)[0]!);
  return `PBES2/${kdfOid === OID.scrypt ? 'scrypt' : kdfOid === OID.pbkdf2 ? 'pbkdf2' : kdfOid}/${CIPHERS[encOid]?.name ?? encOid}`;
}

/**
 * Decrypts data protected by any supported scheme, given its AlgorithmIdentifier element. `password` is the text
 * password; each scheme encodes it as its spec says (UTF-8 for PBES2, BMPString for PKCS#12 PBE). The work
 * parameters are checked ({@link assertPbeWorkBounded}, counted against `budget` when given) before anything runs.
 */
export async function pbeDecrypt(
  alg: Asn1, ciphertext: Uint8Array, password: string, provider: CryptoProvider = nodeCryptoProvider, budget?: PbeWorkBudget,
): Promise<Uint8Array> {
  assertPbeWorkBounded(alg, budget); // before anything else: the cipher check below must not come first
  const [oidN, params] = seqOf(alg, 'AlgorithmIdentifier', 1);
  const oid = readOid(oidN!);
  if (oid === OID.pbes2) return pbes2Decrypt(params, ciphertext, password, provider);
  if (oid === OID.pbeWithSHAAnd3KeyTripleDESCBC || oid === OID.pbeWithSHAAnd40BitRC2CBC || oid === OID.pbeWithSHAAnd128BitRC2CBC) {
    const [saltN, iterN] = seqOf(params, 'pkcs-12PbeParams', 2);
    const salt = readOctets(saltN!);
    const iter = readSmallInt(iterN!);
    if (iter < 1 || iter > MAX_PKCS12_ITER) throw new PkiError('MALFORMED', `PKCS#12 PBE iteration count ${iter} out of range`);
    if (salt.length > 1024) throw new PkiError('MALFORMED', 'PKCS#12 PBE salt too long');
    if (oid === OID.pbeWithSHAAnd3KeyTripleDESCBC) {
      const key = pkcs12Kdf('sha1', password, salt, PKCS12_KDF_KEY, iter, 24, provider);
      const iv = pkcs12Kdf('sha1', password, salt, PKCS12_KDF_IV, iter, 8, provider);
      return cbc(provider, true, 'des-ede3-cbc', key, iv, ciphertext);
    }
    const keyLen = oid === OID.pbeWithSHAAnd40BitRC2CBC ? 5 : 16;
    const key = pkcs12Kdf('sha1', password, salt, PKCS12_KDF_KEY, iter, keyLen, provider);
    const iv = pkcs12Kdf('sha1', password, salt, PKCS12_KDF_IV, iter, 8, provider);
    return rc2CbcDecrypt(key, keyLen * 8, iv, ciphertext);
  }
  throw new PkiError('UNSUPPORTED_ALGORITHM', `unsupported encryption algorithm ${oid}`);
}

async function pbes2Decrypt(params: Asn1 | undefined, ciphertext: Uint8Array, password: string, provider: CryptoProvider): Promise<Uint8Array> {
  const [kdf, enc] = seqOf(params, 'PBES2-params', 2);
  const [kdfOidN, kdfParams] = seqOf(kdf, 'keyDerivationFunc', 2);
  const [encOidN, ivN] = seqOf(enc, 'encryptionScheme', 2);
  const encOid = readOid(encOidN!);
  const cipher = CIPHERS[encOid];
  if (!cipher) throw new PkiError('UNSUPPORTED_ALGORITHM', `unsupported PBES2 cipher ${encOid}`);
  const iv = readOctets(ivN!);
  if (iv.length !== cipher.ivLen) throw new PkiError('MALFORMED', 'PBES2 IV has the wrong length');
  const pw = Buffer.from(password, 'utf8');
  const kdfOid = readOid(kdfOidN!);
  let key: Buffer;
  if (kdfOid === OID.pbkdf2) {
    const kids = seqOf(kdfParams, 'PBKDF2-params', 2);
    const salt = readOctets(kids[0]!);
    const iter = readSmallInt(kids[1]!);
    let hash = 'sha1';
    for (const k of kids.slice(2)) {
      if (k.tag === TAG.SEQUENCE) {
        const prf = readOid(seqOf(k, 'prf', 1)[0]!);
        const h = PRF_HASH[prf];
        if (!h) throw new PkiError('UNSUPPORTED_ALGORITHM', `unsupported PBKDF2 PRF ${prf}`);
        hash = h;
      } else if (k.tag === TAG.INTEGER && readSmallInt(k) !== cipher.keyLen) {
        throw new PkiError('MALFORMED', 'PBKDF2 keyLength does not match the cipher');
      }
    }
    if (iter < 1 || iter > MAX_PBKDF2_ITER) throw new PkiError('MALFORMED', `PBKDF2 iteration count ${iter} out of range`);
    key = await pbkdf2(provider, pw, salt, iter, cipher.keyLen, hash);
  } else if (kdfOid === OID.scrypt) {
    const kids = seqOf(kdfParams, 'scrypt-params', 4);
    const salt = readOctets(kids[0]!);
    const N = readSmallInt(kids[1]!);
    const r = readSmallInt(kids[2]!);
    const p = readSmallInt(kids[3]!);
    if (kids[4] && readSmallInt(kids[4]) !== cipher.keyLen) throw new PkiError('MALFORMED', 'scrypt keyLength does not match the cipher');
    if (N < 2 || (N & (N - 1)) !== 0 || r < 1 || p < 1 || 128 * N * r * p > MAX_SCRYPT_MEM || N * r * p > 2 ** 26) {
      throw new PkiError('MALFORMED', `scrypt parameters N=${N} r=${r} p=${p} out of the accepted range`);
    }
    key = await scrypt(provider, pw, salt, cipher.keyLen, { N, r, p });
  } else {
    throw new PkiError('UNSUPPORTED_ALGORITHM', `unsupported PBES2 key derivation ${kdfOid}`);
  }
  return cbc(provider, true, cipher.name, key, iv, ciphertext);
}
