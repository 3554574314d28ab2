/**
 * The server's HTTPS listener: EST enrollment (est-routes.ts), the CRL, health and Prometheus metrics. It uses the
 * certificate our own CA issued, so a client that pins the CA root trusts it (issue 3). TLS asks every client for a
 * certificate but accepts connections without one (requestCert, rejectUnauthorized false): only simplereenroll
 * needs it, and that route verifies it with the PKI verifier itself rather than trusting the handshake's verdict.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { CRL_PATH } from '../../pki/ca.js';
import { DEFAULT_LOGIN_THROTTLE, LoginThrottle } from '../auth/login-throttle.js';
import { EST_PREFIX, handleEst, type EstCounters } from './est-routes.js';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from './http-limits.js';
import type { HttpPorts } from './http-ports.js';
import { renderPrometheus } from './metrics.js';
import { PLACEHOLDER_PAGE, pageSecurityHeaders } from './page-security.js';
import { HttpError, send, sendError } from './request.js';

/** Log sink (never given secrets). */
export type HttpLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** Options for {@link startHttpsListener}. */
export interface HttpsListenerOptions {
  /** Address to bind. */
  host: string;
  /** Port (0 = any free port). */
  port: number;
  /** Server certificate chain, PEM (leaf first, then the issuing CA). */
  certPem: string;
  /** Server private key, PEM. */
  keyPem: string;
  /** CA certificates to name in the CertificateRequest (our root/issuing CA), PEM. */
  clientCaPem: string;
  /** Ports to the PKI, accounts and counters. */
  ports: HttpPorts;
  /** Failed-login throttle; pass the OSCAR engine's to share one budget (default: a fresh one). */
  throttle?: LoginThrottle;
  /** Window of that throttle in ms (for Retry-After). */
  throttleWindowMs?: number;
  /** Limits (defaults: {@link DEFAULT_HTTP_LIMITS}). */
  limits?: Partial<HttpLimits>;
  /** Logger. */
  log?: HttpLog;
  /** Clock (ms). */
  now?: () => number;
  /**
   * Handles HTTP `upgrade` requests (OSCAR over WebSocket, docs/protocol.md §14); without it every upgrade is
   * refused by closing the socket.
   */
  onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Extra counters merged into /metrics (the WebSocket endpoint's). */
  extraMetrics?: () => Record<string, number>;
}

/** A running HTTPS listener. */
export interface HttpsListener {
  /** The bound port. */
  readonly port: number;
  /** Replaces the TLS certificate (after a re-issue) for new connections. */
  setCertificate(certPem: string, keyPem: string): void;
  /** Stops accepting, closes idle and active connections, resolves when closed. */
  close(): Promise<void>;
}

/** Starts the listener and resolves once it is bound. */
export async function startHttpsListener(o: HttpsListenerOptions): Promise<HttpsListener> {
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...o.limits };
  const log: HttpLog = o.log ?? (() => {});
  const now = o.now ?? (() => Date.now());
  const windowMs = o.throttleWindowMs ?? DEFAULT_LOGIN_THROTTLE.windowMs;
  const throttle = o.throttle ?? new LoginThrottle();
  const started = now();
  const counters: EstCounters & { httpRequests: number } = { httpRequests: 0, estEnrollments: 0, estRefusals: 0, estAuthFailures: 0, estRateLimited: 0 };
  const estDeps = { ports: o.ports, throttle, retryAfterSeconds: Math.ceil(windowMs / 1000), maxBodyBytes: limits.maxBodyBytes, counters, now };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'https://localhost').pathname;
    if (path.startsWith(EST_PREFIX)) return handleEst(path.slice(EST_PREFIX.length), req, res, estDeps);
    switch (path) {
      case '/':
        // The web client's page (docs/protocol.md §14.4): a placeholder until the app is served from here.
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use GET', { Allow: 'GET, HEAD' });
        return send(res, 200, 'text/html; charset=utf-8', PLACEHOLDER_PAGE, pageSecurityHeaders(req.headers.host));
      case '/crl':
      case CRL_PATH: // the URL the CA writes into certificates' CRL distribution points
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use GET', { Allow: 'GET, HEAD' });
        return send(res, 200, 'application/pkix-crl', await o.ports.crl());
      case '/healthz':
        return send(res, 200, 'application/json', `${JSON.stringify({ status: 'ok', uptimeSeconds: Math.round((now() - started) / 1000) })}\n`);
      case '/metrics': {
        const values = { ...o.ports.metrics(), ...o.extraMetrics?.(), ...counters, uptimeSeconds: Math.round((now() - started) / 1000) };
        return send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', renderPrometheus(values));
      }
      default:
        throw new HttpError(404, 'NOT_FOUND', `no such path: ${path}`);
    }
  };

  const server: Server = createServer(
    {
      cert: o.certPem,
      key: o.keyPem,
      ca: o.clientCaPem,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      counters.httpRequests++;
      route(req, res).catch((err: unknown) => {
        if (err instanceof HttpError) {
          sendError(res, err);
          return;
        }
        // Unexpected: log the detail, answer a clear but generic 500, keep serving.
        log('error', 'https request failed', { path: req.url, error: err instanceof Error ? err.message : String(err) });
        sendError(res, new HttpError(500, 'INTERNAL_ERROR', 'the server could not complete the request'));
      });
    },
  );
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', (err) => log('debug', 'TLS handshake failed', { error: err.message }));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!o.onUpgrade) return void socket.destroy();
    try {
      o.onUpgrade(req, socket, head);
    } catch (err) {
      // An event handler that throws would take the process down: drop this socket instead.
      log('error', 'upgrade failed', { error: err instanceof Error ? err.message : String(err) });
      socket.destroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('HTTPS listener has no address');
  return {
    port: addr.port,
    setCertificate(certPem: string, keyPem: string) {
      server.setSecureContext({ cert: certPem, key: keyPem, ca: o.clientCaPem });
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        for (const s of sockets) s.destroy();
      });
    },
  };
}
