/**
 * The modern PKCS#12 profile on WebCrypto, for the web client (and anything else with `crypto.subtle`;
 * docs/protocol.md §18.5): bags in PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC, MAC HMAC-SHA-256 keyed with the
 * PKCS#12 KDF. Reading accepts PBES2 / PBKDF2 (HMAC-SHA-256, -384, -512) / AES-CBC and a SHA-2 MAC; the legacy
 * algorithms (RC2, 3DES, the pbeWithSHAAnd* schemes, SHA-1 MAC or PRF) are refused by name, before any key is
 * derived, with what to do instead. The PKCS#12 KDF hashes with src/wire/sha256.ts (synchronous).
 */
import { der, seqOf, readOid, readOctets, readSmallInt, TAG, type Asn1 } from './asn1/der.js';
import { sha256 } from '../wire/sha256.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';
import type { Pkcs12Engine, Pkcs12MacHash } from './pkcs12-codec.js';

/** PBKDF2 iterations for files the web client writes (as for its keys at rest, web/src/keys/keystore.ts). */
export const WEB_P12_ITERATIONS = 600_000;
/** PKCS#12 KDF iterations for the MAC (as the CLI writes). */
export const WEB_P12_MAC_ITERATIONS = 20_000;

/** The message for a file in the legacy profile. */
export const LEGACY_P12_REFUSED =
  'this .p12 file uses the legacy PKCS#12 algorithms (RC2, 3DES or SHA-1), which are refused here; export it again ' +
  'with the modern profile (AES-256-CBC, PBKDF2-SHA-256, SHA-256 MAC): `certim keys export` without --legacy, or ' +
  '`openssl pkcs12 -export` without -legacy';

function legacy(what: string): never {
  throw new PkiError('UNSUPPORTED_ALGORITHM', `${LEGACY_P12_REFUSED} (found ${what})`);
}

const SUBTLE_HASH: Record<string, string> = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };
const PRF: Record<string, string> = { [OID.hmacWithSHA256]: 'SHA-256', [OID.hmacWithSHA384]: 'SHA-384', [OID.hmacWithSHA512]: 'SHA-512' };
const AES: Record<string, number> = { [OID.aes128Cbc]: 16, [OID.aes192Cbc]: 24, [OID.aes256Cbc]: 32 };

/** WebCrypto wants ArrayBuffer-backed views; every view made here is one. */
function buf(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b as Uint8Array<ArrayBuffer>;
}

/** `crypto.subtle`, typed from whichever lib (DOM or node) compiles this. */
type Subtle = typeof globalThis.crypto.subtle;
type Key = Awaited<ReturnType<Subtle['importKey']>>;

function subtle(): Subtle {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new PkiError('UNSUPPORTED_ALGORITHM', 'WebCrypto (crypto.subtle) is not available here');
  return s;
}

async function aesKey(password: string, salt: Uint8Array, iterations: number, hash: string, keyLen: number, usage: 'encrypt' | 'decrypt'): Promise<Key> {
  const pw = new TextEncoder().encode(password);
  try {
    const base = await subtle().importKey('raw', buf(pw), 'PBKDF2', false, ['deriveKey']);
    return await subtle().deriveKey({ name: 'PBKDF2', hash, salt: buf(salt), iterations }, base, { name: 'AES-CBC', length: keyLen * 8 }, false, [usage]);
  } finally {
    pw.fill(0);
  }
}

/** The engine; `iterations` overrides the PBKDF2 count written (tests). */
export function webCryptoPkcs12Engine(opts: { iterations?: number; macIterations?: number } = {}): Pkcs12Engine {
  const iterations = opts.iterations ?? WEB_P12_ITERATIONS;
  return {
    randomBytes: (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
    digest(hash, data) {
      if (hash !== 'sha256') legacy(`a ${hash} PKCS#12 KDF`);
      return sha256(data);
    },
    checkMacHash(hash: Pkcs12MacHash) {
      if (hash !== 'sha256') legacy(`a ${hash.toUpperCase()} MAC`);
    },
    async hmac(hash, key, data) {
      const k = await subtle().importKey('raw', buf(key), { name: 'HMAC', hash: SUBTLE_HASH[hash]! }, false, ['sign']);
      return new Uint8Array(await subtle().sign('HMAC', k, buf(data)));
    },
    async encrypt(plain, password) {
      const salt = globalThis.crypto.getRandomValues(new Uint8Array(16));
      const iv = globalThis.crypto.getRandomValues(new Uint8Array(16));
      const key = await aesKey(password, salt, iterations, 'SHA-256', 32, 'encrypt');
      const ciphertext = new Uint8Array(await subtle().encrypt({ name: 'AES-CBC', iv }, key, buf(plain)));
      // PBKDF2-params ::= SEQUENCE { salt, iterationCount, keyLength OPTIONAL, prf DEFAULT hmacWithSHA1 }
      const kdf = der.seq(der.oid(OID.pbkdf2), der.seq(der.octets(salt), der.int(iterations), der.seq(der.oid(OID.hmacWithSHA256), der.null())));
      return { algorithm: der.seq(der.oid(OID.pbes2), der.seq(kdf, der.seq(der.oid(OID.aes256Cbc), der.octets(iv)))), ciphertext };
    },
    async decrypt(alg: Asn1, ciphertext, password) {
      const [oidN, params] = seqOf(alg, 'AlgorithmIdentifier', 1);
      const oid = readOid(oidN!);
      if (oid !== OID.pbes2) legacy(oid === OID.pbeWithSHAAnd40BitRC2CBC || oid === OID.pbeWithSHAAnd128BitRC2CBC ? 'RC2' : oid === OID.pbeWithSHAAnd3KeyTripleDESCBC ? '3DES' : oid);
      const [kdf, enc] = seqOf(params, 'PBES2-params', 2);
      const [kdfOidN, kdfParams] = seqOf(kdf, 'keyDerivationFunc', 2);
      const kdfOid = readOid(kdfOidN!);
      if (kdfOid !== OID.pbkdf2) throw new PkiError('UNSUPPORTED_ALGORITHM', `PBES2 key derivation ${kdfOid === OID.scrypt ? 'scrypt' : kdfOid} is not available here; use PBKDF2-SHA-256`);
      const [encOidN, ivN] = seqOf(enc, 'encryptionScheme', 2);
      const encOid = readOid(encOidN!);
      const keyLen = AES[encOid];
      if (keyLen === undefined) legacy(encOid === OID.desEde3Cbc ? '3DES' : encOid);
      const iv = readOctets(ivN!);
      if (iv.length !== 16) throw new PkiError('MALFORMED', 'PBES2 IV has the wrong length');
      const kids = seqOf(kdfParams, 'PBKDF2-params', 2);
      const salt = readOctets(kids[0]!);
      const iter = readSmallInt(kids[1]!); // bounded by the codec before this call
      let hash: string | undefined;
      for (const k of kids.slice(2)) {
        if (k.tag === TAG.SEQUENCE) {
          const prf = readOid(seqOf(k, 'prf', 1)[0]!);
          hash = PRF[prf] ?? legacy(prf === OID.hmacWithSHA1 ? 'PBKDF2-HMAC-SHA-1' : `PBKDF2 PRF ${prf}`);
        } else if (k.tag === TAG.INTEGER && readSmallInt(k) !== keyLen) {
          throw new PkiError('MALFORMED', 'PBKDF2 keyLength does not match the cipher');
        }
      }
      if (hash === undefined) legacy('PBKDF2-HMAC-SHA-1'); // the PRF's DEFAULT
      if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) throw new PkiError('BAD_PASSPHRASE', 'decryption failed');
      const key = await aesKey(password, salt, iter, hash, keyLen, 'decrypt');
      try {
        return new Uint8Array(await subtle().decrypt({ name: 'AES-CBC', iv: buf(iv) }, key, buf(ciphertext)));
      } catch (e) {
        throw new PkiError('BAD_PASSPHRASE', 'decryption failed', { cause: e });
      }
    },
    async localKeyId(certDer) {
      return new Uint8Array(await subtle().digest('SHA-1', buf(certDer)));
    },
    writeMac: { hash: 'sha256', iterations: opts.macIterations ?? WEB_P12_MAC_ITERATIONS, saltBytes: 16 },
  };
}
