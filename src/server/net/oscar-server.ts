/**
 * The OSCAR listeners: plain TCP (classic AIM clients) and TLS (certim clients), both serving auth (BUCP) and
 * every service on the same port — a hello carrying a cookie serves the service the cookie names, anything else is a
 * login connection. Other transports (OSCAR over WebSocket on the HTTPS port, docs/protocol.md §14) hand their
 * streams to `attach` and join the same engine, connection loop and connection cap.
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { Engine, type EngineMetrics, type EngineOptions } from '../engine.js';
import { OscarConnection } from './connection.js';
import { LogEvent, errorText } from '../log.js';
import { ConnectionLimiter, type ConnectionTicket } from './connection-limits.js';
import { createTlsFront, type TlsFront } from './tls-front.js';
import { secureContextOptions } from './tls-policy.js';

/** Longest TLS handshake accepted on the OSCAR-TLS port, ms. */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
import { socketStream, type ConnectionStream } from './stream.js';

/** Where to listen. */
export interface OscarListenOptions {
  /** Bind address (default 127.0.0.1). */
  host?: string;
  /** Plain OSCAR port; 0 picks a free port (default 5190). */
  port?: number;
  /** TLS OSCAR port; 0 picks a free port (default 5191). Ignored without `tls`. */
  tlsPort?: number;
  /** TLS key/certificate etc. (the server's TLS policy is added: tls-policy.ts); omit to serve plain TCP only. */
  tls?: SecureContextOptions;
  /** Connection caps, shared with the server's other listeners (default: one of its own from the engine config). */
  limiter?: ConnectionLimiter;
}

/** The bound ports; `oscarTls` is 0 when no TLS listener was started. */
export interface OscarPorts {
  /** Plain OSCAR port. */
  oscar: number;
  /** TLS OSCAR port (0 = not listening). */
  oscarTls: number;
}

/** A running OSCAR server. */
export interface OscarServer {
  /** Shared engine (sessions, directory, config) — for composition and tests. */
  readonly engine: Engine;
  /** Starts the listeners; resolves with the bound ports. */
  listen(options?: OscarListenOptions): Promise<OscarPorts>;
  /**
   * Serves one already-accepted stream (a WebSocket from the HTTPS listener) exactly like a socket of the OSCAR
   * listeners. False, with the stream destroyed, when the server is at `maxConnections` or closing.
   */
  attach(stream: ConnectionStream): boolean;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
  /** The connection caps in use (shared with other listeners when one was passed to `listen`). */
  readonly limiter: ConnectionLimiter;
  /** Replaces the TLS listener's key and certificate (a renewal) for new connections; no-op without TLS. */
  setTlsCredentials(tls: SecureContextOptions): void;
  /** Counters (connections, sessions, SNACs, IMs, limits). */
  metrics(): EngineMetrics;
}

/** Creates the server (nothing listens until `listen`). */
export function createOscarServer(deps: EngineOptions): OscarServer {
  const engine = new Engine(deps);
  const connections = new Set<OscarConnection>();
  const servers: Server[] = [];
  let limiter = new ConnectionLimiter({ maxTotal: engine.config.maxConnections });
  let tlsServer: TlsServer | undefined;
  let front: TlsFront | undefined;

  let closing = false;
  const attach = (stream: ConnectionStream, ticket?: ConnectionTicket): boolean => {
    if (closing || connections.size >= engine.config.maxConnections) {
      ticket?.release();
      stream.destroy();
      return false;
    }
    const conn = new OscarConnection(engine, stream, (c) => {
      ticket?.release();
      connections.delete(c);
      engine.counters.connections = connections.size;
    }, () => ticket?.authenticated());
    connections.add(conn);
    engine.counters.connections = connections.size;
    return true;
  };
  const accept = (socket: Socket, tls: boolean): void => {
    let ticket: ConnectionTicket | undefined;
    if (tls) {
      ticket = front?.ticketOf(socket);
    } else {
      const admitted = limiter.admit(socket.remoteAddress ?? 'unknown');
      if (typeof admitted === 'string') {
        refused(socket.remoteAddress, admitted);
        socket.destroy();
        return;
      }
      ticket = admitted;
    }
    attach(socketStream(socket, tls ? 'tls' : 'tcp'), ticket);
  };

  const refused = (address: string | undefined, reason: string): void => {
    engine.log('debug', LogEvent.CONN_REFUSED, { listener: 'oscar', address, reason });
  };

  const start = (server: Server, port: number, host: string): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });

  return {
    engine,
    get limiter() {
      return limiter;
    },
    async listen(options: OscarListenOptions = {}): Promise<OscarPorts> {
      await engine.started;
      const host = options.host ?? '127.0.0.1';
      if (options.limiter) limiter = options.limiter;
      const plain = createTcpServer({ noDelay: true }, (s) => accept(s, false));
      plain.on('error', (e) => engine.log('error', LogEvent.LISTENER_ERROR, { listener: 'oscar', error: errorText(e) }));
      servers.push(plain);
      const oscar = await start(plain, options.port ?? 5190, host);
      engine.boundPorts.plain = oscar;
      let oscarTls = 0;
      if (options.tls) {
        // The TLS handshake gets at most 10 s of the unauthenticated time (a real client needs well under one).
        const timeout = Math.min(TLS_HANDSHAKE_TIMEOUT_MS, engine.config.unauthenticatedTimeoutMs);
        tlsServer = createTlsServer({ ...secureContextOptions(options.tls), handshakeTimeout: timeout }, (s: TLSSocket) => accept(s, true));
        // A failed or timed-out handshake (handshakeTimeout) only emits this event: Node leaves the socket open
        // unless the listener closes it (https.Server does; a bare tls.Server does not).
        tlsServer.on('tlsClientError', (_e: Error, s: TLSSocket) => s.destroy());
        front = createTlsFront(tlsServer, { limiter, firstByteTimeoutMs: timeout, onRefused: refused });
        front.server.on('error', (e) => engine.log('error', LogEvent.LISTENER_ERROR, { listener: 'oscar-tls', error: errorText(e) }));
        servers.push(front.server);
        oscarTls = await start(front.server, options.tlsPort ?? 5191, host);
        engine.boundPorts.tls = oscarTls;
      }
      return { oscar, oscarTls };
    },
    attach,
    async close(): Promise<void> {
      closing = true;
      const stopping = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const c of [...connections]) c.signOff();
      // Connections still in their TLS handshake (or before it) are not sessions yet: drop them.
      front?.destroyPending();
      await Promise.all(stopping);
      // The server started the directory, so it leaves the cluster with it (its sessions vanish everywhere).
      await engine.directory.close().catch((e: unknown) => engine.log('error', LogEvent.DELIVERY_FAILED, { operation: 'directory close', error: String(e) }));
    },
    setTlsCredentials(tls: SecureContextOptions): void {
      tlsServer?.setSecureContext(secureContextOptions(tls));
    },
    metrics: () => engine.metrics(),
  };
}
