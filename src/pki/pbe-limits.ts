/**
 * Work limits for password-based encryption read from files (PBES2, PBES1, the PKCS#12 PBE schemes), checked on the
 * AlgorithmIdentifier alone before any key derivation runs, so a hostile file cannot make us allocate gigabytes or
 * spin for minutes. Portable: the browser's PKCS#12 reader applies the same limits as the CLI's.
 */
import { seqOf, readBigInt, readOid, readOctets, TAG, Asn1Error, type Asn1 } from './asn1/der.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';

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

