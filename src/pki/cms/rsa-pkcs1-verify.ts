/**
 * RSASSA-PKCS1-v1_5 signature verification (RFC 8017 §8.2.2) by encode-and-compare, for the Node provider: one raw
 * RSA public operation (`publicDecrypt` with no padding: OpenSSL's RSAVP1, which refuses s >= n), then the
 * expected encoded message EM = 0x00 || 0x01 || PS (0xFF...) || 0x00 || DigestInfo || H is compared with the
 * recovered one as a whole, in constant time. Nothing of the recovered block is parsed, so no BER leniency, no
 * trailing data and no other DigestInfo encoding can pass (docs/protocol.md §6.3).
 *
 * Why not `crypto.verify`: on a quiet host it measured ~20 % dearer per call than the raw public operation plus a
 * digest (on a loaded one the two are within noise; bench/rooms.bench.ts prints both floors), and the answer is the
 * same: OpenSSL's own RSA_verify also re-encodes and compares. Going through this function also makes the exact
 * length and the single DigestInfo form certim's own checks, whatever OpenSSL version is underneath.
 */
import { constants, createHash, KeyObject, publicDecrypt, timingSafeEqual } from 'node:crypto';

/** One digest, as a Buffer (not crypto.hash(): that is Node 20.12+, and certim supports every Node 20). */
export function digestOf(name: string, data: Uint8Array): Buffer {
  return createHash(name).update(data).digest();
}

/** DigestInfo prefixes: DER of DigestInfo up to the digest value, NULL parameters (RFC 8017 §9.2, note 1). */
const DIGEST_INFO: Record<string, Buffer> = {
  md5: Buffer.from('3020300c06082a864886f70d020505000410', 'hex'),
  sha1: Buffer.from('3021300906052b0e03021a05000414', 'hex'),
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

const HASH_LEN: Record<string, number> = { md5: 16, sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

/** EM without the digest value, per modulus length and hash (a handful of entries). */
const templates = new Map<string, Buffer>();

function template(k: number, name: string, prefix: Buffer, hLen: number): Buffer | undefined {
  const id = `${k}/${name}`;
  let t = templates.get(id);
  if (!t) {
    const tLen = prefix.length + hLen;
    if (k < tLen + 11) return undefined; // "intended encoded message length too short" (RFC 8017 §9.2 step 3)
    t = Buffer.alloc(k - hLen, 0xff);
    t[0] = 0x00;
    t[1] = 0x01;
    t[k - tLen - 1] = 0x00;
    prefix.copy(t, k - tLen);
    templates.set(id, t);
  }
  return t;
}

/** Modulus length in bytes of an RSA public KeyObject, cached per key (0 for other key types). */
const modulusBytes = new WeakMap<KeyObject, number>();
function kOf(key: KeyObject): number {
  let k = modulusBytes.get(key);
  if (k === undefined) {
    const bits = key.asymmetricKeyType === 'rsa' ? key.asymmetricKeyDetails?.modulusLength ?? 0 : 0;
    modulusBytes.set(key, (k = Math.ceil(bits / 8)));
  }
  return k;
}

/**
 * True when `signature` is a valid RSASSA-PKCS1-v1_5 signature of `data` with digest `digestName` (md5, sha1,
 * sha256, sha384, sha512) under the RSA public key `key`. Every failure (unknown digest, non-RSA key, signature not
 * exactly k bytes, s >= n, any byte of EM different) is `false`.
 */
export function verifyRsaPkcs1(digestName: string, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  const prefix = DIGEST_INFO[digestName];
  const hLen = HASH_LEN[digestName];
  if (!prefix || !hLen) return false;
  const k = kOf(key);
  // RFC 8017 §8.2.2 step 1: the signature is exactly k octets (OpenSSL would accept a shorter one).
  if (k === 0 || signature.length !== k) return false;
  const t = template(k, digestName, prefix, hLen);
  if (!t) return false;
  let em: Buffer;
  try {
    em = publicDecrypt({ key, padding: constants.RSA_NO_PADDING }, signature);
  } catch {
    return false; // s >= n (RSAVP1 "signature representative out of range"), or not an RSA key
  }
  if (em.length !== k) return false;
  const h = digestOf(digestName, data);
  // Both halves are compared whatever the first gives (one constant-time comparison of the whole EM).
  const head = timingSafeEqual(em.subarray(0, k - hLen), t);
  const tail = timingSafeEqual(em.subarray(k - hLen), h);
  return head && tail;
}
