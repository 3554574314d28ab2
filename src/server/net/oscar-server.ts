/**
 * The OSCAR listeners: plain TCP (classic AIM clients) and TLS (certim clients), both serving auth (BUCP) and
 * every service on the same port — a hello carrying a cookie serves the service the cookie names, anything else is a
 * login connection.
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions, type TLSSocket } from 'node:tls';
import { Engine, type EngineMetrics, type EngineOptions } from '../engine.js';
import { OscarConnection } from './connection.js';

/** Where to listen. */
export interface OscarListenOptions {
  /** Bind address (default 127.0.0.1). */
  host?: string;
  /** Plain OSCAR port; 0 picks a free port (default 5190). */
  port?: number;
  /** TLS OSCAR port; 0 picks a free port (default 5191). Ignored without `tls`. */
  tlsPort?: number;
  /** TLS key/certificate etc.; omit to serve plain TCP only. */
  tls?: SecureContextOptions;
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
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
  /** Counters (connections, sessions, SNACs, IMs, limits). */
  metrics(): EngineMetrics;
}

/** Creates the server (nothing listens until `listen`). */
export function createOscarServer(deps: EngineOptions): OscarServer {
  const engine = new Engine(deps);
  const connections = new Set<OscarConnection>();
  const servers: Server[] = [];

  const accept = (socket: Socket, tls: boolean): void => {
    if (connections.size >= engine.config.maxConnections) {
      socket.destroy();
      return;
    }
    const conn = new OscarConnection(engine, socket, tls, (c) => {
      connections.delete(c);
      engine.counters.connections = connections.size;
    });
    connections.add(conn);
    engine.counters.connections = connections.size;
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
    async listen(options: OscarListenOptions = {}): Promise<OscarPorts> {
      await engine.started;
      const host = options.host ?? '127.0.0.1';
      const plain = createTcpServer({ noDelay: true }, (s) => accept(s, false));
      plain.on('error', (e) => engine.log('error', 'plain listener error', { error: String(e) }));
      servers.push(plain);
      const oscar = await start(plain, options.port ?? 5190, host);
      engine.boundPorts.plain = oscar;
      let oscarTls = 0;
      if (options.tls) {
        const tlsServer = createTlsServer({ ...options.tls, handshakeTimeout: engine.config.unauthenticatedTimeoutMs }, (s: TLSSocket) => accept(s, true));
        tlsServer.on('tlsClientError', () => {});
        tlsServer.on('error', (e) => engine.log('error', 'TLS listener error', { error: String(e) }));
        servers.push(tlsServer);
        oscarTls = await start(tlsServer, options.tlsPort ?? 5191, host);
        engine.boundPorts.tls = oscarTls;
      }
      return { oscar, oscarTls };
    },
    async close(): Promise<void> {
      const closing = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const c of [...connections]) c.signOff();
      await Promise.all(closing);
      // The server started the directory, so it leaves the cluster with it (its sessions vanish everywhere).
      await engine.directory.close().catch((e: unknown) => engine.log('error', 'directory close failed', { error: String(e) }));
    },
    metrics: () => engine.metrics(),
  };
}
