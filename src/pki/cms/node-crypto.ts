/**
 * The Node implementation of the codec's WebCrypto-shaped provider (crypto.ts). The same calls as
 * `globalThis.crypto.subtle`, but RSA and AES-GCM run through node:crypto's one-shot functions on cached KeyObjects:
 * synchronous OpenSSL calls without WebCrypto's per-call job and thread-pool hop (bench/cms.bench.ts measures both).
 * Keys this module did not make (real WebCrypto CryptoKeys) are handed to Node's own WebCrypto.
 *
 * It also supplies the aim-legacy primitives WebCrypto lacks ({@link LegacyCmsCrypto}): PKCS#1 v1.5 encryption, the
 * padding-oracle-free PKCS#1 v1.5 unwrap (rsa-pkcs1-unwrap.ts), MD5 signatures and AES-CBC. Node only.
 */
import {
  constants, createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey, KeyObject, privateDecrypt,
  publicEncrypt, randomFillSync, sign, webcrypto,
} from 'node:crypto';
import type { CmsCrypto, CryptoKeyLike, HashName, LegacyCmsCrypto, SecureImKey, SubtleLike, SyncCmsCrypto } from './crypto.js';
import { implicitRejectionKey, unwrapPkcs1v15 } from './rsa-pkcs1-unwrap.js';
import { digestOf, verifyRsaPkcs1 } from './rsa-pkcs1-verify.js';

/** A key handle of this provider: a KeyObject (RSA) or raw bytes (AES, HMAC) with the WebCrypto algorithm it is for. */
class NodeKey implements CryptoKeyLike {
  constructor(
    readonly type: 'public' | 'private' | 'secret',
    readonly algorithm: { readonly name: string; readonly hash?: { readonly name: HashName } },
    readonly key: KeyObject | Uint8Array,
  ) {}
  get hashName(): string {
    return nodeHash(this.algorithm.hash?.name ?? 'SHA-256');
  }
}

const NODE_HASH: Record<string, string> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
function nodeHash(h: string): string {
  const n = NODE_HASH[h];
  if (!n) throw new TypeError(`unsupported hash ${h}`);
  return n;
}

const web = webcrypto.subtle as unknown as SubtleLike;

/** An ArrayBuffer holding exactly `b`'s bytes (WebCrypto results are ArrayBuffers). Not `b.slice()`: on a Buffer
 *  that is a view of Node's shared pool. */
function ab(b: Uint8Array): ArrayBuffer {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer ? b.buffer : new Uint8Array(b).buffer;
}

function operationError(): Error {
  const e = new Error('The operation failed for an operation-specific reason');
  e.name = 'OperationError';
  return e;
}

const subtle: SubtleLike = {
  async digest(algorithm, data) {
    return ab(digestOf(nodeHash(algorithm), data));
  },
  async importKey(format, keyData, algorithm, extractable, keyUsages) {
    const name = algorithm.name;
    if ((name === 'RSA-OAEP' || name === 'RSASSA-PKCS1-v1_5') && (format === 'spki' || format === 'pkcs8')) {
      const alg = { name, hash: { name: algorithm.hash } };
      if (format === 'spki') return new NodeKey('public', alg, createPublicKey({ key: Buffer.from(keyData), format: 'der', type: 'spki' }));
      return new NodeKey('private', alg, createPrivateKey({ key: Buffer.from(keyData), format: 'der', type: 'pkcs8' }));
    }
    if (format === 'raw' && (name === 'AES-GCM' || name === 'HMAC')) {
      return new NodeKey('secret', name === 'HMAC' ? { name, hash: { name: algorithm.hash } } : { name }, Uint8Array.from(keyData));
    }
    return web.importKey(format, keyData, algorithm, extractable, keyUsages);
  },
  async exportKey(format, key) {
    if (!(key instanceof NodeKey)) return web.exportKey(format, key);
    if (key.key instanceof Uint8Array) return ab(Uint8Array.from(key.key));
    return ab(key.key.export({ format: 'der', type: format === 'spki' ? 'spki' : 'pkcs8' }));
  },
  async sign(algorithm, key, data) {
    if (!(key instanceof NodeKey)) return web.sign(algorithm, key, data);
    if (algorithm.name === 'HMAC') return ab(createHmac(key.hashName, key.key as Uint8Array).update(data).digest());
    return ab(sign(key.hashName, data, key.key as KeyObject));
  },
  async verify(algorithm, key, signature, data) {
    if (!(key instanceof NodeKey)) return web.verify(algorithm, key, signature, data);
    return verifyRsaPkcs1(key.hashName, key.key as KeyObject, data, signature);
  },
  async encrypt(algorithm, key, data) {
    if (!(key instanceof NodeKey)) return web.encrypt(algorithm, key, data);
    if (algorithm.name === 'RSA-OAEP') {
      return ab(publicEncrypt({ key: key.key as KeyObject, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: key.hashName }, data));
    }
    const raw = key.key as Uint8Array;
    const tagLen = (algorithm.tagLength ?? 128) / 8;
    const c = createCipheriv(`aes-${raw.length * 8}-gcm` as 'aes-256-gcm', raw, algorithm.iv, { authTagLength: tagLen });
    if (algorithm.additionalData) c.setAAD(algorithm.additionalData);
    const ct = c.update(data);
    c.final();
    return ab(Buffer.concat([ct, c.getAuthTag()]));
  },
  async decrypt(algorithm, key, data) {
    if (!(key instanceof NodeKey)) return web.decrypt(algorithm, key, data);
    try {
      if (algorithm.name === 'RSA-OAEP') {
        return ab(privateDecrypt({ key: key.key as KeyObject, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: key.hashName }, data));
      }
      const raw = key.key as Uint8Array;
      const tagLen = (algorithm.tagLength ?? 128) / 8;
      if (data.length < tagLen) throw operationError();
      const d = createDecipheriv(`aes-${raw.length * 8}-gcm` as 'aes-256-gcm', raw, algorithm.iv, { authTagLength: tagLen });
      if (algorithm.additionalData) d.setAAD(algorithm.additionalData);
      d.setAuthTag(data.subarray(data.length - tagLen));
      const out = d.update(data.subarray(0, data.length - tagLen));
      d.final(); // throws on a bad tag
      return ab(out);
    } catch {
      throw operationError();
    }
  },
};

const legacy: LegacyCmsCrypto = {
  async signMd5(nativeKey, data) {
    return sign('md5', data, nativeKey as KeyObject);
  },
  async verify(digest, spki, data, signature) {
    return sync.verifyPkcs1(digest, spki, data, signature);
  },
  async encryptPkcs1(spki, data) {
    return publicEncrypt({ key: publicKeyObject(spki), padding: constants.RSA_PKCS1_PADDING }, data);
  },
  async unwrapPkcs1(nativeKey, modulusBytes, encryptedKey, len) {
    return unwrapPkcs1v15(nativeKey as KeyObject, modulusBytes, encryptedKey, len).key;
  },
  async unwrapOaep(nativeKey, oaepHash, encryptedKey, len) {
    // Implicit rejection here too: the synthetic key is computed whatever the outcome.
    const synthetic = implicitRejectionKey(nativeKey as KeyObject, encryptedKey, len);
    try {
      const key = privateDecrypt({ key: nativeKey as KeyObject, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, encryptedKey);
      if (key.length === len) return key;
    } catch {
      // fall through: same path as a wrong-length key
    }
    return synthetic;
  },
  async cbcEncrypt(key, iv, data) {
    const c = createCipheriv(`aes-${key.length * 8}-cbc`, key, iv);
    return Buffer.concat([c.update(data), c.final()]);
  },
  async cbcDecrypt(key, iv, data) {
    try {
      return cbcDecryptSync(key, iv, data);
    } catch {
      return undefined;
    }
  },
  async digest(name, data) {
    return digestOf(name, data);
  },
  native(key) {
    return key instanceof KeyObject ? key : undefined;
  },
};

/**
 * AES-CBC decryption (the key length picks AES-128/192/256) with the PKCS#7 padding removed here: one output
 * buffer, no `final()` and concatenation per message. Throws on an empty or partial-block ciphertext and on bad
 * padding (one message for both: callers turn every failure into one result).
 */
export function cbcDecryptSync(key: Uint8Array, iv: Uint8Array, encrypted: Uint8Array): Uint8Array {
  if (encrypted.length === 0 || encrypted.length % 16 !== 0) throw new RangeError('bad ciphertext');
  const out = createDecipheriv(`aes-${key.length * 8}-cbc`, key, iv).setAutoPadding(false).update(encrypted);
  const pad = out[out.length - 1]!;
  let bad = out.length !== encrypted.length || pad < 1 || pad > 16 ? 1 : 0;
  for (let i = out.length - pad; i < out.length; i++) bad |= out[i]! ^ pad;
  if (bad !== 0) throw new RangeError('bad ciphertext');
  // A plain Uint8Array view: parsers take many subarrays of it, and Buffer's own subarray costs more.
  return new Uint8Array(out.buffer, out.byteOffset, out.length - pad);
}

/** Public KeyObjects by SPKI bytes (the certificate cache hands out one SPKI array per certificate). */
const publicKeyObjects = new WeakMap<Uint8Array, KeyObject>();
function publicKeyObject(spki: Uint8Array): KeyObject {
  let k = publicKeyObjects.get(spki);
  if (!k) publicKeyObjects.set(spki, (k = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' })));
  return k;
}

const sync: SyncCmsCrypto = {
  digest(name, data) {
    return digestOf(name, data);
  },
  verifyPkcs1(digest, spki, data, signature) {
    let key: KeyObject;
    try {
      key = publicKeyObject(spki);
    } catch {
      return false;
    }
    return verifyRsaPkcs1(digest, key, data, signature);
  },
};

const secureImKeys = new WeakMap<KeyObject, SecureImKey>();

/** A node:crypto private KeyObject as the codec's key: both WebCrypto-shaped handles and the native key (legacy). */
export function nodeSecureImKey(key: KeyObject): SecureImKey {
  let k = secureImKeys.get(key);
  if (!k) {
    k = {
      sign: new NodeKey('private', { name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } }, key),
      decrypt: new NodeKey('private', { name: 'RSA-OAEP', hash: { name: 'SHA-256' } }, key),
      native: key,
    };
    secureImKeys.set(key, k);
  }
  return k;
}

// Pooled randomness: one native fill per ~1,000 messages instead of one native call each (each call costs about as
// much as the rest of the symmetric work for a short IM). Bytes handed out are wiped from the pool, never reused.
const POOL_SIZE = 64 * 1024;
let pool = new Uint8Array(0);
let offset = 0;

/** The Node provider: node:crypto fast paths behind the WebCrypto shape, plus aim-legacy. */
export const nodeCmsCrypto: CmsCrypto = {
  subtle,
  getRandomValues<T extends Uint8Array>(array: T): T {
    const n = array.length;
    if (n > 1024) return randomFillSync(array);
    if (offset + n > pool.length) {
      pool = randomFillSync(new Uint8Array(POOL_SIZE));
      offset = 0;
    }
    array.set(pool.subarray(offset, offset + n));
    pool.fill(0, offset, offset + n);
    offset += n;
    return array;
  },
  legacy,
  sync,
  fromNative(key) {
    return key instanceof KeyObject && key.type === 'private' ? nodeSecureImKey(key) : undefined;
  },
};
