/**
 * Password-based encryption of PKCS#8 keys and PKCS#12 bags: PBES2 (RFC 8018 §6.2) with PBKDF2 or scrypt
 * (RFC 7914 §7) and AES-CBC / 3DES-CBC, plus the PKCS#12 PBE schemes (RFC 7292 appendix C) that legacy files use:
 * pbeWithSHAAnd3-KeyTripleDES-CBC and pbeWithSHAAnd40BitRC2-CBC / 128BitRC2-CBC.
 *
 * All KDF work parameters read from files are bounded before any work is done (pbe-limits.ts). A failed
 * decryption (bad padding, the usual wrong-password symptom) is PkiError BAD_PASSPHRASE.
 */
import { der, seqOf, readOid, readOctets, readSmallInt, TAG, type Asn1 } from './asn1/der.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';
import { pkcs12Kdf, PKCS12_KDF_IV, PKCS12_KDF_KEY, type Pkcs12Digest } from './pkcs12-kdf.js';
import { PBE_LIMITS, assertPbeWorkBounded, type PbeWorkBudget } from './pbe-limits.js';
import { rc2CbcDecrypt } from './rc2.js';
import { nodeCryptoProvider, type CryptoProvider } from './provider.js';

export { PBE_LIMITS, assertPbeWorkBounded, type PbeWork, type PbeWorkBudget } from './pbe-limits.js';

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

const MAX_PBKDF2_ITER = PBE_LIMITS.pbkdf2Iterations;
const MAX_PKCS12_ITER = PBE_LIMITS.pkcs12Iterations;
const MAX_SCRYPT_MEM = PBE_LIMITS.scryptMemory;

/** node:crypto's one-shot hash, for the PKCS#12 KDF. */
export function nodeDigest(provider: CryptoProvider = nodeCryptoProvider): Pkcs12Digest {
  return (hash, data) => provider.hash(hash, data, 'buffer');
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
  const key = pkcs12Kdf('sha1', password, salt, PKCS12_KDF_KEY, iterations, 24, nodeDigest(provider));
  const iv = pkcs12Kdf('sha1', password, salt, PKCS12_KDF_IV, iterations, 8, nodeDigest(provider));
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
      const key = pkcs12Kdf('sha1', password, salt, PKCS12_KDF_KEY, iter, 24, nodeDigest(provider));
      const iv = pkcs12Kdf('sha1', password, salt, PKCS12_KDF_IV, iter, 8, nodeDigest(provider));
      return cbc(provider, true, 'des-ede3-cbc', key, iv, ciphertext);
    }
    const keyLen = oid === OID.pbeWithSHAAnd40BitRC2CBC ? 5 : 16;
    const key = pkcs12Kdf('sha1', password, salt, PKCS12_KDF_KEY, iter, keyLen, nodeDigest(provider));
    const iv = pkcs12Kdf('sha1', password, salt, PKCS12_KDF_IV, iter, 8, nodeDigest(provider));
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
