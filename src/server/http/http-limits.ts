/** Limits of the HTTPS listener: every bound a hostile client could push against, in one place. */
import { EST_MAX_BODY } from '../../pki/est.js';

/** HTTPS listener limits. */
export interface HttpLimits {
  /** Largest request body accepted (a 4096-bit CSR in base64 is ~2.5 KiB). */
  maxBodyBytes: number;
  /** Time a new connection has to send its ClientHello and finish the TLS handshake (Node's default: 120 s). */
  handshakeTimeoutMs: number;
  /** Time allowed to receive the headers (slowloris). */
  headersTimeoutMs: number;
  /** Time allowed for a whole request. */
  requestTimeoutMs: number;
  /** Idle keep-alive connections are closed after this. */
  keepAliveTimeoutMs: number;
  /** Simultaneous connections when the listener has no shared connection limiter. */
  maxConnections: number;
}

/** Defaults: 64 KiB bodies (the EST handlers' own bound), 10 s for the handshake, 10 s for headers, 30 s per request. */
export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = {
  maxBodyBytes: EST_MAX_BODY,
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1_000,
};
