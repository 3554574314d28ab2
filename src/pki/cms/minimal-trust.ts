/**
 * A minimal trust callback: the certificate is directly issued by one of the given CA certificates (signature and
 * issuer name), is inside its validity period, is for the screen name (subject CN, normalized), and allows S/MIME use
 * (extended key usage emailProtection when the extension is present).
 *
 * Stop-gap for the CLI and tests until src/pki/verifier.ts (the PKI verifier: chains, revocation, key usage) is
 * wired in; it checks one level only and no revocation. Node only (node:crypto's X509Certificate).
 */
import { X509Certificate } from 'node:crypto';
import { normalizeScreenName } from '../screen-name.js';
import type { TrustCallback } from './secure-im-types.js';

const EMAIL_PROTECTION = '1.3.6.1.5.5.7.3.4';

/** Subject CN from node's `subject` text (one `key=value` per line). */
function commonNameOf(cert: X509Certificate): string | undefined {
  for (const line of cert.subject.split('\n')) if (line.startsWith('CN=')) return line.slice(3);
  return undefined;
}

/** Builds a {@link TrustCallback} over a set of CA certificates; `now` is read per call. */
export function minimalTrust(cas: X509Certificate[], now: () => Date = () => new Date()): TrustCallback {
  return async (certDer, screenName) => {
    const cert = new X509Certificate(certDer);
    const t = now().getTime();
    if (t < Date.parse(cert.validFrom) || t > Date.parse(cert.validTo)) return { ok: false, code: 'expired', reason: 'certificate is outside its validity period' };
    if (!cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) {
      return { ok: false, code: 'unknown-issuer', reason: 'certificate is not issued by a trusted CA' };
    }
    const cn = commonNameOf(cert);
    if (cn === undefined || normalizeScreenName(cn) !== normalizeScreenName(screenName)) {
      return { ok: false, code: 'name-mismatch', reason: `certificate is for '${cn ?? ''}', not '${screenName}'` };
    }
    const eku = cert.keyUsage;
    if (eku && eku.length > 0 && !eku.includes(EMAIL_PROTECTION)) return { ok: false, code: 'bad-usage', reason: 'certificate is not for S/MIME (emailProtection)' };
    return { ok: true };
  };
}
