/**
 * Our identity as the client uses it: both private keys with their certificates, and the certificate-info block
 * published at every sign-on (docs/protocol.md §6.1, numcerts 2: encryption cert then signing cert).
 */
import type { KeyObject } from 'node:crypto';
import { encodeCertificateInfo } from '../wire/cert-info.js';

/** One key pair role. */
export interface IdentityPart {
  /** The private key (kept in memory only; encrypted at rest by the profile). */
  privateKey: KeyObject;
  /** Its certificate, DER. */
  certDer: Uint8Array;
}

/** A signed-on user's keys and certificates. */
export interface Identity {
  /** Whose identity. */
  screenName: string;
  /** Encryption pair (envelope recipient). */
  encryption: IdentityPart;
  /** Signing pair. */
  signing: IdentityPart;
  /**
   * Pairs replaced by the last key rotation: used only to DECRYPT messages that were encrypted to the old
   * certificate before buddies learned the new one (e.g. waiting in the offline store). Never used to sign.
   */
  previous?: IdentityPart[];
}

/** The certificate-info block for an identity. */
export function certInfoBlock(id: Identity): Uint8Array {
  const same = Buffer.from(id.encryption.certDer).equals(Buffer.from(id.signing.certDer));
  // One common certificate (e.g. imported from a classic client's .p12) is numcerts 1 (docs/protocol.md §6.1).
  return encodeCertificateInfo(same ? { certA: id.encryption.certDer } : { certA: id.encryption.certDer, certB: id.signing.certDer });
}
