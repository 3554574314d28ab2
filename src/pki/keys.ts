/**
 * RSA key generation and strength checks. AIM Secure IM clients only understand RSA certificates, so every user key is
 * RSA: 3072 bits by default for new keys, 2048 minimum (anything smaller is refused, here and in the verifier).
 * Generation uses the async crypto.generateKeyPair (OpenSSL's thread pool), so it never blocks the event loop.
 */
import type { KeyObject } from 'node:crypto';
import { PkiError } from './errors.js';
import { nodeCryptoProvider, type CryptoProvider } from './provider.js';

/** Smallest RSA modulus we generate or accept. */
export const MIN_RSA_BITS = 2048;
/** Modulus size for new keys unless the caller says otherwise. */
export const DEFAULT_RSA_BITS = 3072;

/** A private key and its public half, both cached KeyObjects (re-importing per call costs ~3.5x, docs/performance.md §1.3). */
export interface RsaKeyPair {
  /** The private key. */
  privateKey: KeyObject;
  /** The public key. */
  publicKey: KeyObject;
}

/**
 * A user's two key pairs (X-IM design, docs/protocol.md §12): `encryption` gets keyUsage keyEncipherment, `signing` gets
 * digitalSignature + nonRepudiation.
 */
export interface IdentityKeys {
  /** Key transport (envelope recipient) pair. */
  encryption: RsaKeyPair;
  /** Message signing pair. */
  signing: RsaKeyPair;
}

/** Generates an RSA key pair (e = 65537) without blocking the event loop. Rejects bits < 2048 with WEAK_KEY. */
export function generateRsaKeyPair(bits: number = DEFAULT_RSA_BITS, provider: CryptoProvider = nodeCryptoProvider): Promise<RsaKeyPair> {
  if (!Number.isInteger(bits) || bits < MIN_RSA_BITS) {
    return Promise.reject(new PkiError('WEAK_KEY', `RSA keys must be at least ${MIN_RSA_BITS} bits (asked for ${bits})`));
  }
  if (bits > 16384) return Promise.reject(new PkiError('INVALID_ARGUMENT', `RSA key size ${bits} is unreasonably large`));
  return new Promise((resolve, reject) => {
    provider.generateKeyPair('rsa', { modulusLength: bits, publicExponent: 0x10001 }, (err, publicKey, privateKey) => {
      if (err) reject(err);
      else resolve({ privateKey, publicKey });
    });
  });
}

/** Generates both pairs of an identity concurrently. */
export async function generateIdentityKeys(bits: number = DEFAULT_RSA_BITS, provider: CryptoProvider = nodeCryptoProvider): Promise<IdentityKeys> {
  const [encryption, signing] = await Promise.all([generateRsaKeyPair(bits, provider), generateRsaKeyPair(bits, provider)]);
  return { encryption, signing };
}

/** Modulus length in bits of an RSA key (public or private), or undefined for non-RSA keys. */
export function rsaKeyBits(key: KeyObject): number | undefined {
  if (key.asymmetricKeyType !== 'rsa') return undefined;
  return key.asymmetricKeyDetails?.modulusLength;
}

/** Throws WEAK_KEY unless `key` is RSA with at least 2048 bits. */
export function assertStrongRsaKey(key: KeyObject): void {
  const bits = rsaKeyBits(key);
  if (bits === undefined) throw new PkiError('UNSUPPORTED_ALGORITHM', `only RSA keys are supported (got ${key.asymmetricKeyType ?? 'unknown'})`);
  if (bits < MIN_RSA_BITS) throw new PkiError('WEAK_KEY', `RSA key is ${bits} bits; at least ${MIN_RSA_BITS} required`);
}

/** The public half of a private KeyObject (or the key itself when already public). */
export function publicKeyOf(key: KeyObject, provider: CryptoProvider = nodeCryptoProvider): KeyObject {
  return key.type === 'private' ? provider.createPublicKey(key) : key;
}
