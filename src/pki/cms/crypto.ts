/**
 * The crypto the Secure IM codec runs on, shaped after WebCrypto (`crypto.subtle` + `getRandomValues`) so a
 * browser passes its own `globalThis.crypto` and Node passes a faster implementation of the same calls
 * (node-crypto.ts). Everything here is asynchronous, as WebCrypto is. No `node:` import: the web client shares it.
 *
 * The modern profile needs only what WebCrypto has (docs/protocol.md §11.5): SHA-256/384/512 digests,
 * RSASSA-PKCS1-v1_5 signatures, RSA-OAEP key transport, AES-GCM content encryption and HMAC-SHA256 (implicit
 * rejection). The aim-legacy profile needs what WebCrypto lacks — PKCS#1 v1.5 *encryption* and a padding-oracle-free
 * PKCS#1 v1.5 decryption, MD5 signatures — so it lives behind the optional {@link CmsCrypto.legacy} part, which
 * only the Node provider has. Without it, legacy messages fail as `unsupported-algorithm` with
 * {@link CLASSIC_NEEDS_DESKTOP}, and nothing is ever sent in a weaker form instead.
 */

/** What a WebCrypto `CryptoKey` looks like to the codec (a Node provider may hand out its own key handles). */
export interface CryptoKeyLike {
  readonly type: string;
  readonly algorithm: { readonly name: string };
}

/** Byte input as WebCrypto takes it (ArrayBuffer-backed: never a SharedArrayBuffer). */
export type BytesIn = Uint8Array<ArrayBuffer>;

/** WebCrypto hash names the codec uses. */
export type HashName = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';

/** Import parameters for RSA keys (the hash is bound at import, as in WebCrypto). */
export interface RsaHashedImport { name: 'RSASSA-PKCS1-v1_5' | 'RSA-OAEP'; hash: HashName }
/** Import parameters for symmetric keys. */
export type SecretImport = { name: 'AES-GCM' } | { name: 'HMAC'; hash: HashName };
/** AES-GCM parameters. */
export interface AesGcmParams { name: 'AES-GCM'; iv: BytesIn; additionalData?: BytesIn; tagLength?: number }

/** The SubtleCrypto calls the codec makes, with the algorithm subset it uses. `globalThis.crypto.subtle` fits. */
export interface SubtleLike {
  digest(algorithm: HashName, data: BytesIn): Promise<ArrayBuffer>;
  importKey(format: 'spki' | 'pkcs8' | 'raw', keyData: BytesIn, algorithm: RsaHashedImport | SecretImport, extractable: boolean, keyUsages: ('sign' | 'verify' | 'encrypt' | 'decrypt')[]): Promise<CryptoKeyLike>;
  exportKey(format: 'spki' | 'pkcs8' | 'raw', key: CryptoKeyLike): Promise<ArrayBuffer>;
  sign(algorithm: { name: 'RSASSA-PKCS1-v1_5' } | { name: 'HMAC' }, key: CryptoKeyLike, data: BytesIn): Promise<ArrayBuffer>;
  verify(algorithm: { name: 'RSASSA-PKCS1-v1_5' }, key: CryptoKeyLike, signature: BytesIn, data: BytesIn): Promise<boolean>;
  encrypt(algorithm: { name: 'RSA-OAEP' } | AesGcmParams, key: CryptoKeyLike, data: BytesIn): Promise<ArrayBuffer>;
  decrypt(algorithm: { name: 'RSA-OAEP' } | AesGcmParams, key: CryptoKeyLike, data: BytesIn): Promise<ArrayBuffer>;
}

/**
 * aim-legacy primitives WebCrypto does not have (Node only). Keys are the provider's native private keys
 * ({@link SecureImKey.native}); public keys are SubjectPublicKeyInfo DER.
 */
export interface LegacyCmsCrypto {
  /** RSA PKCS#1 v1.5 signature with MD5 (what AIM 5.2 and joscar write). */
  signMd5(nativeKey: unknown, data: Uint8Array): Promise<Uint8Array>;
  /** RSA PKCS#1 v1.5 signature check with any digest legacy senders use (md5, sha1, sha256, sha384, sha512). */
  verify(digest: string, spki: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /** RSA PKCS#1 v1.5 encryption (key transport to a classic client). */
  encryptPkcs1(spki: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  /** RSA PKCS#1 v1.5 unwrap with implicit rejection: always a key of `len` bytes (rsa-pkcs1-unwrap.ts). */
  unwrapPkcs1(nativeKey: unknown, modulusBytes: number, encryptedKey: Uint8Array, len: number): Promise<Uint8Array>;
  /** RSA-OAEP unwrap with implicit rejection, any OAEP hash (legacy senders may use SHA-1). */
  unwrapOaep(nativeKey: unknown, hash: string, encryptedKey: Uint8Array, len: number): Promise<Uint8Array>;
  /** AES-CBC with PKCS#7 padding; decrypt gives undefined on bad padding. */
  cbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  cbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Promise<Uint8Array | undefined>;
  /** Digest by node name (md5/sha1/sha2). */
  digest(name: string, data: Uint8Array): Promise<Uint8Array>;
  /** The provider's native private key for a key object it recognizes, else undefined. */
  native(key: unknown): unknown;
}

/**
 * Synchronous forms of the two calls the decoder makes on every message, for a provider that has them (Node): the
 * same results as {@link SubtleLike.digest} / {@link SubtleLike.verify} (and the legacy ones), without a promise and
 * a copy per step. Digest names are node's (md5, sha1, sha256, sha384, sha512); keys are SubjectPublicKeyInfo DER.
 */
export interface SyncCmsCrypto {
  digest(name: string, data: Uint8Array): Uint8Array;
  /** RSASSA-PKCS1-v1_5 verification (RFC 8017 §8.2.2); false for any failure. */
  verifyPkcs1(digest: string, spki: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean;
}

/** A WebCrypto-shaped provider: `globalThis.crypto` in a browser (see {@link webCmsCrypto}); node-crypto.ts in Node. */
export interface CmsCrypto {
  readonly subtle: SubtleLike;
  getRandomValues<T extends Uint8Array>(array: T): T;
  /** aim-legacy support; absent in the browser. */
  readonly legacy?: LegacyCmsCrypto;
  /** Synchronous digest and signature check; absent in the browser. */
  readonly sync?: SyncCmsCrypto;
  /** Turns a provider-native private key (e.g. a node:crypto KeyObject) into a {@link SecureImKey}, when it knows it. */
  fromNative?(key: object): SecureImKey | undefined;
}

/**
 * One RSA private key as the codec uses it. WebCrypto binds a key to one algorithm, so there is one handle per use
 * ({@link importSecureImKey} makes both from PKCS#8); `native` is the Node provider's key for aim-legacy.
 */
export interface SecureImKey {
  /** RSASSA-PKCS1-v1_5 / SHA-256 private key (modern signatures). */
  readonly sign?: CryptoKeyLike;
  /** RSA-OAEP / SHA-256 private key (modern key transport). */
  readonly decrypt?: CryptoKeyLike;
  /** The provider-native key (aim-legacy), if the provider has one. */
  readonly native?: unknown;
}

/** A private key as callers pass it: a {@link SecureImKey}, or a key native to the provider (a KeyObject in Node). */
export type PrivateKeyInput = SecureImKey | object;

/** Reason text for a classic (aim-legacy) buddy or message where only the modern profile is available. */
export const CLASSIC_NEEDS_DESKTOP = 'classic client — secure IM needs the desktop client';

/** Views any bytes as WebCrypto input (our byte arrays are never SharedArrayBuffer-backed). */
export function bin(b: Uint8Array): BytesIn {
  return b as BytesIn;
}

/** The platform's WebCrypto (browser, Node >= 20, Deno) as a {@link CmsCrypto}: modern profile only. */
export function webCmsCrypto(c: { subtle: unknown; getRandomValues<T extends Uint8Array>(a: T): T } = globalThis.crypto as never): CmsCrypto {
  return { subtle: c.subtle as SubtleLike, getRandomValues: (a) => c.getRandomValues(a) };
}

let defaultCrypto: CmsCrypto | undefined;

/** The provider used when a caller passes none: WebCrypto (Node entry points pass node-crypto.ts's instead). */
export function defaultCmsCrypto(): CmsCrypto {
  return (defaultCrypto ??= webCmsCrypto());
}

/** Imports a PKCS#8 RSA private key as the two non-extractable WebCrypto keys the modern profile uses. */
export async function importSecureImKey(crypto: CmsCrypto, pkcs8: Uint8Array): Promise<SecureImKey> {
  const [sign, decrypt] = await Promise.all([
    crypto.subtle.importKey('pkcs8', bin(pkcs8), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']),
    crypto.subtle.importKey('pkcs8', bin(pkcs8), { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['decrypt']),
  ]);
  return { sign, decrypt };
}

/** Resolves what a caller passed as a private key (native keys through the provider). */
export function resolvePrivateKey(crypto: CmsCrypto, key: PrivateKeyInput): SecureImKey {
  const k = key as SecureImKey;
  if (k.sign !== undefined || k.decrypt !== undefined || k.native !== undefined) return k;
  const viaProvider = crypto.fromNative?.(key);
  if (viaProvider) return viaProvider;
  return k;
}

/** Public keys imported from a certificate's SPKI, per provider, algorithm and hash (import costs more than the math). */
const publicKeys = new WeakMap<CmsCrypto, WeakMap<Uint8Array, Map<string, Promise<CryptoKeyLike>>>>();

/** The WebCrypto public key of `spki` for one algorithm/hash, cached per SPKI byte array (certificates are cached). */
export function publicKeyFor(crypto: CmsCrypto, spki: Uint8Array, alg: RsaHashedImport): Promise<CryptoKeyLike> {
  let bySpki = publicKeys.get(crypto);
  if (!bySpki) publicKeys.set(crypto, (bySpki = new WeakMap()));
  let byAlg = bySpki.get(spki);
  if (!byAlg) bySpki.set(spki, (byAlg = new Map()));
  const id = `${alg.name}/${alg.hash}`;
  let p = byAlg.get(id);
  if (!p) {
    p = crypto.subtle.importKey('spki', bin(spki), alg, true, [alg.name === 'RSA-OAEP' ? 'encrypt' : 'verify']);
    p.catch(() => byAlg!.delete(id));
    byAlg.set(id, p);
  }
  return p;
}

/** Random bytes from the provider. */
export function randomBytes(crypto: CmsCrypto, n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}
