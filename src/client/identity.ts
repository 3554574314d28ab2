/**
 * Our identity as the client uses it: both private keys with their certificates, and the certificate-info block
 * published at every sign-on (docs/protocol.md §6.1, numcerts 2: encryption cert then signing cert).
 */
import { bytesEqual } from '../wire/bytes.js';
import { encodeCertificateInfo } from '../wire/cert-info.js';
import type { PrivateKeyInput } from '../pki/cms/crypto.js';

/** One key pair role. `K`: how the platform holds the key (a KeyObject in Node, CryptoKeys in a browser). */
export interface IdentityPart<K extends PrivateKeyInput = PrivateKeyInput> {
  /** The private key (kept in memory only; encrypted at rest by the profile). */
  privateKey: K;
  /** Its certificate, DER. */
  certDer: Uint8Array;
}

/** A signed-on user's keys and certificates. */
export interface Identity<K extends PrivateKeyInput = PrivateKeyInput> {
  /** Whose identity. */
  screenName: string;
  /** Encryption pair (envelope recipient). */
  encryption: IdentityPart<K>;
  /** Signing pair. */
  signing: IdentityPart<K>;
  /**
   * Pairs replaced by the last key rotation: used only to DECRYPT messages that were encrypted to the old
   * certificate before buddies learned the new one (e.g. waiting in the offline store). Never used to sign.
   */
  previous?: IdentityPart<K>[];
}

/** The certificate-info block for an identity. */
export function certInfoBlock(id: Identity): Uint8Array {
  const same = bytesEqual(id.encryption.certDer, id.signing.certDer);
  // One common certificate (e.g. imported from a classic client's .p12) is numcerts 1 (docs/protocol.md §6.1).
  return encodeCertificateInfo(same ? { certA: id.encryption.certDer } : { certA: id.encryption.certDer, certB: id.signing.certDer });
}
