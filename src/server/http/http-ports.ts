/**
 * What the HTTPS listener needs from the rest of the server (the consumer owns its small interfaces).
 * main.ts adapts the PKI's EST handlers, CA, verifier, the account store and the engine's counters onto these;
 * tests can pass small fakes.
 */

/** One EST (or other) response as the PKI's pure handlers produce it. */
export interface EstResult {
  /** HTTP status. */
  status: number;
  /** Content-Type of `body`. */
  contentType: string;
  /** Body: bytes or text (text for error reasons). */
  body: Uint8Array | string;
  /** Extra headers (e.g. Content-Transfer-Encoding: base64). */
  headers?: Record<string, string>;
}

/** RFC 7030 operations, already authenticated by the listener. */
export interface EstPort {
  /** `/cacerts`: the CA certificates as a certs-only PKCS#7, base64. */
  cacerts(): Promise<EstResult>;
  /** `/simpleenroll` for the account that passed HTTP Basic; `body` is the request body as received. */
  simpleEnroll(screenName: string, body: Uint8Array, contentType: string | undefined): Promise<EstResult>;
  /** `/simplereenroll` for the holder of `currentCertDer` (verified before this is called). */
  simpleReenroll(screenName: string, body: Uint8Array, contentType: string | undefined, currentCertDer: Uint8Array): Promise<EstResult>;
}

/** Outcome of checking an account's password. */
export type PasswordCheck = 'ok' | 'bad-credentials' | 'disabled';

/** Outcome of checking a TLS client certificate. */
export type ClientCertCheck = { ok: true; screenName: string } | { ok: false; reason: string };

/** Everything the HTTPS listener consumes. */
export interface HttpPorts {
  /** EST handlers. */
  est: EstPort;
  /** Checks an IM account's password (memory-hard hash); unknown accounts are 'bad-credentials'. */
  checkPassword(screenName: string, password: string): Promise<PasswordCheck>;
  /** Verifies a TLS client certificate (chain to our CA, validity, revocation) and names its screen name. */
  checkClientCertificate(der: Uint8Array): Promise<ClientCertCheck>;
  /** The current CRL, DER. */
  crl(): Promise<Uint8Array>;
  /** Counters and gauges for /metrics (name -> value); the listener adds its own. */
  metrics(): Record<string, number>;
}
