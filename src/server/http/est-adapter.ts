/**
 * Mounts the PKI's pure EST functions (src/pki/est.ts) on the listener's {@link EstPort}. The listener has already
 * authenticated the caller (HTTP Basic, or the TLS client certificate checked by the PKI verifier), so this only
 * passes identities and bodies through.
 */
import type { CertificateAuthority } from '../../pki/ca.js';
import { estCaCerts, estSimpleEnroll, estSimpleReenroll, type EstResponse } from '../../pki/est.js';
import type { EstPort, EstResult } from './http-ports.js';

function toResult(r: EstResponse): EstResult {
  return { status: r.status, contentType: r.contentType, body: r.body, headers: r.headers };
}

/** EST over the given CA. */
export function createEstPort(ca: CertificateAuthority): EstPort {
  return {
    cacerts: async () => toResult(estCaCerts(ca)),
    simpleEnroll: async (screenName, body) => toResult(await estSimpleEnroll(ca, screenName, body)),
    simpleReenroll: async (_screenName, body, _contentType, currentCertDer) => toResult(await estSimpleReenroll(ca, currentCertDer, body)),
  };
}
