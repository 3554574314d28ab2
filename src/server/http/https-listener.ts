/**
 * The server's HTTPS listener: EST enrollment (est-routes.ts), the CRL, health and Prometheus metrics. It uses the
 * certificate our own CA issued, so a client that pins the CA root trusts it. TLS asks every client for a
 * certificate but accepts connections without one (requestCert, rejectUnauthorized false): simplereenroll needs it,
 * and simpleenroll treats a valid one of the same account as proven good; both verify it with the PKI verifier
 * rather than trusting the handshake's verdict. The TLS policy is the server's (net/tls-policy.ts); the listening
 * socket is a TCP front (net/tls-front.ts: connection caps, no TLS state before the ClientHello); handshake, header
 * and request deadlines are enforced per connection (see {@link enforceTimeouts}).
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ConnectionLimiter, type ConnectionTicket } from '../net/connection-limits.js';
import { createTlsFront } from '../net/tls-front.js';
import { secureContextOptions } from '../net/tls-policy.js';
import type { Duplex } from 'node:stream';
import { CRL_PATH } from '../../pki/ca.js';
import { LoginThrottle } from '../auth/login-throttle.js';
import { EST_PREFIX, handleEst, type EstCounters, type IssuanceLimiter } from './est-routes.js';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from './http-limits.js';
import type { HttpPorts } from './http-ports.js';
import { renderPrometheus } from './metrics.js';
import { PLACEHOLDER_PAGE, pageSecurityHeaders } from './page-security.js';
import { acceptsGzip, type WebAsset } from './web-assets.js';
import { HttpError, send, sendError } from './request.js';
import { LogEvent, silentLogger, type Logger } from '../log.js';

/** Log sink (never given secrets): the server's logging port. */
export type HttpLog = Logger;

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
  /** Login throttle; pass the OSCAR engine's to share one budget and one hash gate (default: a fresh one). */
  throttle?: LoginThrottle;
  /** Per-account EST issuance limit (default: 10 an hour, in this process's memory; a cluster passes a shared one). */
  issuance?: IssuanceLimiter;
  /** Limits (defaults: {@link DEFAULT_HTTP_LIMITS}). */
  limits?: Partial<HttpLimits>;
  /** Connection caps shared with the OSCAR listeners (default: one of its own, `limits.maxConnections` in total). */
  limiter?: ConnectionLimiter;
  /** Logger. */
  log?: HttpLog;
  /** Clock (ms). */
  now?: () => number;
  /**
   * Handles HTTP `upgrade` requests (OSCAR over WebSocket, docs/protocol.md §14); without it every upgrade is
   * refused by closing the socket. `ticket` is the connection's place in the shared connection caps: the handler
   * marks it authenticated once the connection signs on, as an OSCAR connection does.
   */
  onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer, ticket: ConnectionTicket | undefined) => void;
  /** Extra counters merged into /metrics (the WebSocket endpoint's). */
  extraMetrics?: () => Record<string, number>;
  /** The web client's files by URL path (web-assets.ts); without them `/` serves a placeholder page. */
  webAssets?: ReadonlyMap<string, WebAsset>;
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
  const log: HttpLog = o.log ?? silentLogger;
  const now = o.now ?? (() => Date.now());
  const throttle = o.throttle ?? new LoginThrottle({}, undefined, now);
  const started = now();
  const counters: EstCounters & { httpRequests: number } = { httpRequests: 0, estEnrollments: 0, estRefusals: 0, estAuthFailures: 0, estRateLimited: 0 };
  const estDeps = { ports: o.ports, throttle, maxBodyBytes: limits.maxBodyBytes, counters, now, log, ...(o.issuance ? { issuance: o.issuance } : {}) };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'https://localhost').pathname;
    if (path.startsWith(EST_PREFIX)) return handleEst(path.slice(EST_PREFIX.length), req, res, estDeps);
    const asset = o.webAssets?.get(path);
    if (asset) {
      // The web client (docs/protocol.md §18.1): static files from memory, pages with the security headers (§14.4).
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use GET', { Allow: 'GET, HEAD' });
      const gzip = asset.gzip !== undefined && acceptsGzip(req.headers['accept-encoding']);
      const headers: Record<string, string> = {
        ...(asset.html ? pageSecurityHeaders(req.headers.host) : { 'X-Content-Type-Options': 'nosniff', 'Cross-Origin-Resource-Policy': 'same-origin' }),
        'Cache-Control': asset.cache,
        Vary: 'Accept-Encoding',
        ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
      };
      return send(res, 200, asset.type, gzip ? asset.gzip! : asset.body, headers);
    }
    switch (path) {
      case '/':
        // No web client built (docs/protocol.md §14.4): a placeholder page with the same headers.
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
      ...secureContextOptions({ cert: o.certPem, key: o.keyPem, ca: o.clientCaPem }),
      requestCert: true,
      rejectUnauthorized: false,
      handshakeTimeout: limits.handshakeTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
    },
    (req, res) => {
      counters.httpRequests++;
      route(req, res).catch((err: unknown) => {
        if (err instanceof HttpError) {
          sendError(res, err);
          return;
        }
        // Unexpected: log the detail, answer a clear but generic 500, keep serving.
        log('error', LogEvent.HTTP_REQUEST_FAILED, { path: req.url, error: err instanceof Error ? err.message : String(err) });
        sendError(res, new HttpError(500, 'INTERNAL_ERROR', 'the server could not complete the request'));
      });
    },
  );
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('error', (err) => log('error', LogEvent.LISTENER_ERROR, { listener: 'https', error: err.message }));
  server.on('tlsClientError', (err, socket) => log('debug', LogEvent.TLS_HANDSHAKE_FAILED, { listener: 'https', address: socket.remoteAddress, error: err.message }));
  // The listening socket is a TCP front: caps per address and in total, and no TLS state before the ClientHello.
  const limiter = o.limiter ?? new ConnectionLimiter({ maxTotal: limits.maxConnections });
  const front = createTlsFront(server, {
    limiter,
    firstByteTimeoutMs: limits.handshakeTimeoutMs,
    onRefused: (address, reason) => log('debug', LogEvent.CONN_REFUSED, { listener: 'https', address, reason }),
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!o.onUpgrade) return void socket.destroy();
    try {
      o.onUpgrade(req, socket, head, front.ticketOf(socket as Socket));
    } catch (err) {
      // An event handler that throws would take the process down: drop this socket instead.
      log('error', LogEvent.LISTENER_ERROR, { listener: 'https', operation: 'upgrade', error: err instanceof Error ? err.message : String(err) });
      socket.destroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    front.server.once('error', reject);
    front.server.listen(o.port, o.host, () => {
      front.server.off('error', reject);
      resolve();
    });
  });
  front.server.on('error', (e) => log('error', LogEvent.LISTENER_ERROR, { listener: 'https', error: e.message }));
  enforceTimeouts(server, limits);
  const addr = front.server.address();
  if (!addr || typeof addr === 'string') throw new Error('HTTPS listener has no address');
  return {
    port: addr.port,
    setCertificate(certPem: string, keyPem: string) {
      server.setSecureContext(secureContextOptions({ cert: certPem, key: keyPem, ca: o.clientCaPem }));
    },
    close() {
      return new Promise<void>((resolve) => {
        front.server.close(() => resolve());
        server.closeIdleConnections();
        for (const s of sockets) s.destroy();
        front.destroyPending();
      });
    },
  };
}

/**
 * Header and request deadlines, enforced per connection. Node's own `headersTimeout`/`requestTimeout` never fire on
 * an HTTPS server in Node 20 (its connection list stays empty for TLS sockets; checked: a TLS client sending half a
 * request line is never answered 408), so every TLS connection gets a deadline for its request headers from the
 * moment it is established (and again after each response, for keep-alive), and each request a deadline for its
 * response. Both are absolute: trickling one byte at a time does not extend them (slowloris). An upgrade request
 * ends them: the socket is a WebSocket from then on (docs/protocol.md §14.4).
 */
function enforceTimeouts(server: Server, limits: HttpLimits): void {
  const timers = new WeakMap<Socket, NodeJS.Timeout>();
  const arm = (socket: Socket, ms: number): void => {
    clearTimeout(timers.get(socket));
    const t = setTimeout(() => socket.destroy(), ms);
    t.unref();
    timers.set(socket, t);
  };
  server.on('secureConnection', (socket: Socket) => {
    arm(socket, limits.headersTimeoutMs);
    socket.once('close', () => clearTimeout(timers.get(socket)));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    arm(socket, limits.requestTimeoutMs);
    res.once('finish', () => arm(socket, limits.headersTimeoutMs + limits.keepAliveTimeoutMs));
  });
  // An upgraded socket is no longer HTTP: the WebSocket endpoint and the OSCAR connection loop bound it from here
  // (unauthenticated timeout, caps). Left armed, the header deadline cut every signed-on WebSocket 10 s after its
  // TLS handshake, and the page saw "not signed on" mid-session.
  server.on('upgrade', (req: IncomingMessage) => {
    clearTimeout(timers.get(req.socket));
    timers.delete(req.socket);
  });
}
