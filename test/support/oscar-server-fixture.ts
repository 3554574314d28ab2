/**
 * Starts a real OSCAR server for end-to-end tests: the real SQLite store in a temp directory, the real password
 * module, plain TCP and (optionally) TLS listeners on free ports. Accounts are created through the store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import { hashPassword, makeLegacyVerifier } from '../../src/server/auth/password.js';
import { createOscarServer, type OscarServer } from '../../src/server/net/oscar-server.js';
import type { ConnectionLimiter } from '../../src/server/net/connection-limits.js';
import type { EngineOptions } from '../../src/server/engine.js';
import type { CertificateChecker } from '../../src/server/ports.js';
import { storePorts } from '../../src/server/store-ports.js';
import { imBody } from './oscar-test-client.js';
import { openStore, type Store } from '../../src/store/index.js';
import type { Endpoint } from './oscar-test-client.js';

/** A running test server. */
export interface OscarFixture {
  /** The server. */
  server: OscarServer;
  /** The real store. */
  store: Store;
  /** Plain port. */
  port: number;
  /** TLS port (0 without TLS). */
  tlsPort: number;
  /** Data directory. */
  dir: string;
  /** Creates an account (legacy MD5 login enabled unless `legacy` is false). */
  addUser(screenName: string, password: string, legacy?: boolean): Promise<void>;
  /** Stops everything and removes the directory. */
  stop(): Promise<void>;
}

/** An account to create: screen name, password, legacy MD5 login enabled (default true). */
export type FixtureUser = readonly [screenName: string, password: string, legacy?: boolean];

/** Options for {@link startOscarFixture}. */
export interface FixtureOptions {
  /** Accounts {@link withOscarFixture} creates before the test body runs. */
  users?: readonly FixtureUser[];
  /** TLS credentials for the TLS listener. */
  tls?: SecureContextOptions;
  /** Certificate checker (default: refuses everything). */
  certificates?: CertificateChecker;
  /** Engine overrides (config, clock...). */
  engine?: Partial<Omit<EngineOptions, 'ports'>>;
  /** Connection caps for the listeners (default: the server's own). */
  limiter?: ConnectionLimiter;
}

const FAST_SCRYPT = { N: 1 << 10, r: 8, p: 1 };

/** Rate classes that never warn, drop or disconnect: for tests that send faster than AIM's limits allow. */
export const LOOSE_RATE_CLASSES = [1, 2, 3, 4, 5].map((id) => ({ id, window: 2, clear: 0, alert: 0, limit: 0, disconnect: 0, max: 1000 }));

const NO_CHECKER: CertificateChecker = { checkCertificate: async () => ({ ok: false, code: 'UNTRUSTED_ISSUER', reason: 'no checker configured' }) };

/**
 * Starts a second server node over `fx`'s store (another node of the same cluster: give both engines directories
 * of one `LocalDirectoryHub`), listening on a free plain port. The caller closes `server`.
 */
export async function startSecondNode(fx: OscarFixture, engine: Partial<Omit<EngineOptions, 'ports'>>): Promise<{ server: OscarServer; port: number }> {
  const server = createOscarServer({ ...engine, ports: storePorts(fx.store, NO_CHECKER) });
  return { server, port: (await server.listen({ host: '127.0.0.1', port: 0 })).oscar };
}

/** Starts a server over a fresh SQLite database. */
export async function startOscarFixture(opts: FixtureOptions = {}): Promise<OscarFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'certim-oscar-'));
  const store = await openStore(`sqlite:${join(dir, 'certim.db')}`);
  const ports = storePorts(store, opts.certificates ?? NO_CHECKER);
  const server = createOscarServer({ ...opts.engine, ports });
  const bound = await server.listen({ host: '127.0.0.1', port: 0, tlsPort: 0, ...(opts.tls ? { tls: opts.tls } : {}), ...(opts.limiter ? { limiter: opts.limiter } : {}) });
  return {
    server,
    store,
    port: bound.oscar,
    tlsPort: bound.oscarTls,
    dir,
    async addUser(screenName, password, legacy = true) {
      await store.accounts.create({
        screenName,
        passwordHash: await hashPassword(password, FAST_SCRYPT),
        legacyVerifier: legacy ? makeLegacyVerifier(password) : null,
        legacyLoginEnabled: legacy,
      });
    },
    async stop() {
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts a fixture, creates `opts.users`, runs `body` with the plain-TCP endpoint, and always stops the fixture. */
export async function withOscarFixture(opts: FixtureOptions, body: (fx: OscarFixture, ep: Endpoint) => Promise<void>): Promise<void> {
  const fx = await startOscarFixture(opts);
  try {
    for (const [screenName, password, legacy] of opts.users ?? []) await fx.addUser(screenName, password, legacy);
    await body(fx, { port: fx.port });
  } finally {
    await fx.stop();
  }
}

/**
 * Sends 7,000-byte IMs from `sender` to `to` (whose reader has stopped) until the server cuts `to` as a slow reader
 * (its pending output passed `maxPendingOutput`), at most 5,000; returns how many were sent.
 */
export async function floodUntilSlowReaderCut(server: OscarServer, sender: { conn: { sendSnac(f: number, s: number, b: Uint8Array): void } }, to: string): Promise<number> {
  const big = 'x'.repeat(7000);
  let sent = 0;
  const before = server.metrics().limitDisconnects;
  while (server.metrics().limitDisconnects === before && sent < 5000) {
    for (let i = 0; i < 50; i++) sender.conn.sendSnac(0x0004, 0x0006, imBody(to, big));
    sent += 50;
    await new Promise((r) => setTimeout(r, 5));
  }
  return sent;
}
