/**
 * The crypto provider src/pki runs on (crypto arrives as a parameter with a default). The default is
 * node:crypto itself; tests pin `randomBytes` (deterministic serials/salts) and could swap in another implementation
 * of the same calls. Only the functions listed here are used by src/pki.
 */
import * as nodeCrypto from 'node:crypto';

/** The subset of node:crypto that src/pki uses. */
export type CryptoProvider = Pick<
  typeof nodeCrypto,
  | 'randomBytes'
  | 'createHash'
  | 'hash'
  | 'createHmac'
  | 'createCipheriv'
  | 'createDecipheriv'
  | 'createPrivateKey'
  | 'createPublicKey'
  | 'generateKeyPair'
  | 'sign'
  | 'verify'
  | 'pbkdf2'
  | 'scrypt'
  | 'timingSafeEqual'
>;

/** node:crypto, the default provider. */
export const nodeCryptoProvider: CryptoProvider = nodeCrypto;
