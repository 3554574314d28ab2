/**
 * Certificate profiles: which keyUsage / extKeyUsage each purpose gets when we issue, and what the verifier demands.
 *
 * - encrypt: keyEncipherment; EKU emailProtection (S/MIME recipients, `openssl verify -purpose smimeencrypt`).
 * - sign: digitalSignature + nonRepudiation; EKU emailProtection + clientAuth. clientAuth because EST
 *   simplereenroll authenticates with the current certificate over TLS, and OpenSSL (so Node's TLS server) checks
 *   the "ssl_client" purpose, which fails on an EKU that lacks clientAuth.
 * - common: one certificate for both roles (AIM numcerts 1): all three bits, emailProtection + clientAuth.
 * - tls-server / tls-client: the usual TLS profiles.
 */
import { OID } from './oids.js';
import type { KeyUsage } from './extensions.js';
import type { CertificatePurpose } from './ledger.js';

/** Key usage bits we set when issuing for a purpose. */
export const ISSUE_KEY_USAGE: Record<CertificatePurpose, KeyUsage[]> = {
  encrypt: ['keyEncipherment'],
  sign: ['digitalSignature', 'nonRepudiation'],
  common: ['digitalSignature', 'nonRepudiation', 'keyEncipherment'],
  'tls-server': ['digitalSignature', 'keyEncipherment'],
  'tls-client': ['digitalSignature'],
};

/** Extended key usages we set when issuing for a purpose. */
export const ISSUE_EXT_KEY_USAGE: Record<CertificatePurpose, string[]> = {
  encrypt: [OID.emailProtection],
  sign: [OID.emailProtection, OID.clientAuth],
  common: [OID.emailProtection, OID.clientAuth],
  'tls-server': [OID.serverAuth],
  'tls-client': [OID.clientAuth],
};

/** What a relying party uses a certificate for (the verifier's `purpose`). */
export type VerifyPurpose = 'encrypt' | 'sign' | 'tls-server' | 'tls-client';

/** The verifier's demands: any one of `anyKeyUsage` (when keyUsage is present), and `eku` (when EKU is present). */
export const VERIFY_RULES: Record<VerifyPurpose, { anyKeyUsage: KeyUsage[]; eku: string }> = {
  encrypt: { anyKeyUsage: ['keyEncipherment'], eku: OID.emailProtection },
  sign: { anyKeyUsage: ['digitalSignature', 'nonRepudiation'], eku: OID.emailProtection },
  'tls-server': { anyKeyUsage: ['digitalSignature', 'keyEncipherment', 'keyAgreement'], eku: OID.serverAuth },
  'tls-client': { anyKeyUsage: ['digitalSignature', 'keyAgreement'], eku: OID.clientAuth },
};

/** The issuing purpose a CSR's requested keyUsage implies (EST): both roles -> common. */
export function purposeFromKeyUsage(ku: readonly KeyUsage[] | undefined): 'encrypt' | 'sign' | 'common' | undefined {
  if (!ku || ku.length === 0) return undefined;
  const enc = ku.includes('keyEncipherment');
  const sig = ku.includes('digitalSignature') || ku.includes('nonRepudiation');
  if (enc && sig) return 'common';
  if (enc) return 'encrypt';
  if (sig) return 'sign';
  return undefined;
}
