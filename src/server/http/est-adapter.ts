/** Placeholder until src/pki/est.ts lands: EST answers 503 with a clear reason. */
import type { CertificateAuthority } from '../../pki/ca.js';
import type { EstPort, EstResult } from './http-ports.js';

const unavailable: EstResult = { status: 503, contentType: 'text/plain; charset=utf-8', body: 'EST_UNAVAILABLE\nEST handlers are not built yet\n' };

/** Adapts the CA + PKI EST handlers to the listener's {@link EstPort}. */
export function createEstPort(_ca: CertificateAuthority): EstPort {
  return {
    cacerts: async () => unavailable,
    simpleEnroll: async () => unavailable,
    simpleReenroll: async () => unavailable,
  };
}
