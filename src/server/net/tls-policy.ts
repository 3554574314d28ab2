/**
 * One TLS policy for every server listener (OSCAR over TLS and HTTPS): TLS 1.2 or 1.3 only; on TLS 1.2 only
 * ECDHE key exchange with AEAD ciphers (forward secrecy, no CBC, no static-RSA key transport); the server's order
 * wins; no renegotiation at all (a client-initiated renegotiation costs the server a full handshake per request
 * and has a history of attacks). `setSecureContext` replaces every option, so renewals must pass the policy too:
 * use {@link secureContextOptions} both times.
 */
import { constants } from 'node:crypto';
import type { SecureContextOptions, TlsOptions } from 'node:tls';

/**
 * TLS 1.3 suites (all AEAD) and the TLS 1.2 ECDHE+AEAD suites, strongest first, for ECDSA and RSA certificates.
 * Everything else — static RSA (`AES128-SHA`...), DHE, CBC, SHA-1 MACs — is absent.
 */
export const SERVER_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
].join(':');

/** The policy options (without key and certificate). */
export const SERVER_TLS_POLICY: Readonly<Pick<TlsOptions, 'minVersion' | 'ciphers' | 'honorCipherOrder' | 'secureOptions'>> = {
  minVersion: 'TLSv1.2',
  ciphers: SERVER_CIPHERS,
  honorCipherOrder: true,
  // SSL_OP_NO_RENEGOTIATION: refuse every renegotiation request (OpenSSL sends a no_renegotiation alert).
  secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
};

/** The given credentials (and client-CA list etc.) under the policy; for the server and for `setSecureContext`. */
export function secureContextOptions(o: SecureContextOptions): SecureContextOptions {
  return { ...o, ...SERVER_TLS_POLICY };
}
