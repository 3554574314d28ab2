/**
 * The CertificateChecker port implemented with the PKI verifier (src/pki/verifier.ts): chain to the trust
 * anchors, name binding to the uploader's screen name, key usage for the role, validity, and revocation through
 * the CA ledger callback. A common certificate (one cert for both roles) must pass as both encrypt and sign.
 */
import { verifyCertificate, type RevocationStatus, type VerifyResult } from '../pki/verifier.js';
import type { Certificate } from '../pki/x509-parse.js';
import type { CertificateCheck, CertificateChecker, CertificateRole } from './ports.js';

/** What the checker trusts. */
export interface PkiCheckerOptions {
  /** Trusted roots (this server's CA root, plus admin-configured CAs): DER, PEM or parsed. */
  trustAnchors: ReadonlyArray<Certificate | Uint8Array | string>;
  /** Intermediates that help build chains (e.g. the issuing CA). */
  intermediates?: ReadonlyArray<Certificate | Uint8Array | string>;
  /** Revocation lookup by serial (e.g. the CA ledger). */
  isRevoked?: (serial: string, issuer: Certificate) => RevocationStatus | undefined | Promise<RevocationStatus | undefined>;
}

/** One verification of a certificate for a purpose: the PKI verifier, or a CA's `verify` that adds its ledger. */
export type VerifyForPurpose = (der: Uint8Array, o: { purpose: 'encrypt' | 'sign'; screenName: string; now: Date }) => Promise<VerifyResult>;

/**
 * Builds a CertificateChecker from a verify function. A common certificate (one cert for both roles) must pass as
 * both encrypt and sign; a role-specific one only for its role.
 */
export function certificateCheckerFrom(verify: VerifyForPurpose): CertificateChecker {
  return {
    async checkCertificate(screenName: string, der: Uint8Array, now: Date, role: CertificateRole = 'common'): Promise<CertificateCheck> {
      const purposes = role === 'common' ? (['encrypt', 'sign'] as const) : ([role] as const);
      for (const purpose of purposes) {
        const r = await verify(der, { purpose, screenName, now });
        if (!r.ok) return { ok: false, code: r.code, reason: r.reason };
      }
      return { ok: true };
    },
  };
}

/** Builds a CertificateChecker over the PKI verifier with explicit anchors and revocation lookup. */
export function pkiCertificateChecker(opts: PkiCheckerOptions): CertificateChecker {
  return certificateCheckerFrom((der, o) =>
    verifyCertificate(der, {
      ...o,
      trustAnchors: opts.trustAnchors,
      ...(opts.intermediates ? { intermediates: opts.intermediates } : {}),
      ...(opts.isRevoked ? { isRevoked: opts.isRevoked } : {}),
    }),
  );
}
