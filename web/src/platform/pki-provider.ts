/**
 * The browser's stand-in for src/pki/provider.ts (the Vite build substitutes this module for it; see
 * vite.config.ts): the synchronous crypto src/pki uses to READ and VERIFY certificates and CRLs — SHA-256, RSA
 * public keys from SubjectPublicKeyInfo, RSASSA-PKCS1-v1_5 signature checks (RFC 8017 §8.2.2), constant-time
 * compares, random bytes. The page never issues certificates or handles PKCS#8/#12 through src/pki, so everything
 * else throws. Signature checks accept SHA-256 only (what certim's CA signs with, docs/protocol.md §12.1); any
 * other digest is refused, which the verifier reports as a bad signature (fail closed).
 */
import { parseAsn1, readBigInt, readBitString, readOid, seqOf } from '../../../src/pki/asn1/der.js';
import { OID } from '../../../src/pki/oids.js';
import { sha256 } from '../../../src/wire/sha256.js';

/** DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1). */
const SHA256_DIGEST_INFO = Uint8Array.from([0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20]);

function unsupported(name: string): never {
  throw new Error(`${name} is not available in the browser build of src/pki`);
}

function bytesOf(data: unknown): Uint8Array {
  if (typeof data === 'string') return new TextEncoder().encode(data);
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError('expected bytes');
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** A SHA-256 hash object with node's `update`/`digest` shape. */
function createHash(alg: string) {
  if (alg.toLowerCase() !== 'sha256') unsupported(`hash ${alg}`);
  const parts: Uint8Array[] = [];
  const h = {
    update(data: unknown) {
      parts.push(bytesOf(data));
      return h;
    },
    digest(enc?: string) {
      const d = sha256(...parts);
      return enc === 'hex' ? hex(d) : d;
    },
  };
  return h;
}

/** An RSA public key as read from SubjectPublicKeyInfo, shaped like the KeyObject fields src/pki reads. */
class RsaPublicKey {
  readonly type = 'public';
  readonly asymmetricKeyType = 'rsa';
  readonly asymmetricKeyDetails: { modulusLength: number; publicExponent: bigint };
  constructor(readonly n: bigint, readonly e: bigint, private readonly spki: Uint8Array) {
    this.asymmetricKeyDetails = { modulusLength: n.toString(2).length, publicExponent: e };
  }
  export(): Uint8Array {
    return this.spki;
  }
  equals(other: unknown): boolean {
    return other instanceof RsaPublicKey && other.n === this.n && other.e === this.e;
  }
}

function createPublicKey(input: { key: unknown; format?: string; type?: string }): RsaPublicKey {
  if (input.format !== 'der' || input.type !== 'spki') unsupported('public keys other than DER SubjectPublicKeyInfo');
  const spki = bytesOf(input.key);
  const [alg, bits] = seqOf(parseAsn1(spki), 'SubjectPublicKeyInfo', 2);
  const [oid] = seqOf(alg, 'AlgorithmIdentifier', 1);
  if (readOid(oid!) !== OID.rsaEncryption) unsupported('non-RSA public keys');
  const [n, e] = seqOf(parseAsn1(readBitString(bits!).bytes), 'RSAPublicKey', 2);
  return new RsaPublicKey(readBigInt(n!), readBigInt(e!), spki);
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
}

function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) throw new RangeError('Input buffers must have the same byte length');
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** RSASSA-PKCS1-v1_5 verification with SHA-256 (RFC 8017 §8.2.2, EMSA-PKCS1-v1_5 encoding compared whole). */
function verify(alg: string | null | undefined, data: Uint8Array, key: unknown, signature: Uint8Array): boolean {
  if (!(key instanceof RsaPublicKey)) return false;
  if ((alg ?? '').toLowerCase().replace('-', '') !== 'sha256') return false;
  const k = Math.ceil(key.asymmetricKeyDetails.modulusLength / 8);
  if (signature.length !== k) return false;
  const s = BigInt(`0x${hex(signature) || '0'}`);
  if (s >= key.n) return false;
  const m = modPow(s, key.e, key.n);
  const em = new Uint8Array(k);
  let v = m;
  for (let i = k - 1; i >= 0; i--) {
    em[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  const t = new Uint8Array(SHA256_DIGEST_INFO.length + 32);
  t.set(SHA256_DIGEST_INFO);
  t.set(sha256(data), SHA256_DIGEST_INFO.length);
  if (k < t.length + 11) return false;
  const expected = new Uint8Array(k);
  expected[1] = 0x01;
  expected.fill(0xff, 2, k - t.length - 1);
  expected.set(t, k - t.length);
  return timingSafeEqual(em, expected);
}

function randomBytes(size: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(size));
}

/** The provider object, under the name src/pki imports. */
export const nodeCryptoProvider = {
  randomBytes,
  createHash,
  hash: (alg: string, data: unknown, enc?: string) => createHash(alg).update(data).digest(enc),
  createPublicKey,
  verify,
  timingSafeEqual,
  createHmac: () => unsupported('createHmac'),
  createCipheriv: () => unsupported('createCipheriv'),
  createDecipheriv: () => unsupported('createDecipheriv'),
  createPrivateKey: () => unsupported('createPrivateKey'),
  generateKeyPair: () => unsupported('generateKeyPair'),
  sign: () => unsupported('sign'),
  pbkdf2: () => unsupported('pbkdf2'),
  scrypt: () => unsupported('scrypt'),
};
