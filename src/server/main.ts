/**
 * Composition root of `certim server` (STYLE: "main.ts — config, sqlite vs postgres, local vs NATS, family list").
 * Nothing here implements protocol or crypto; it decides which concrete parts to build and wires them:
 *
 *   options ─► data dir ─► store (openStore: SQLite file or Postgres URL)
 *                       ─► CA (openCertificateAuthority in <data>/ca, its ledger in the store)
 *                       ─► server TLS certificate (issued by that CA at every start; key only in memory)
 *                       ─► OSCAR engine (createOscarServer: store ports + passwords + PKI verifier) on the plain
 *                          and TLS ports
 *                       ─► HTTPS listener (EST via the PKI's handlers, CRL, health, metrics), sharing the engine's
 *                          failed-login throttle so EST and OSCAR logins draw on one guessing budget
 *
 * `close()` undoes it in reverse order. Startup failures close whatever was already opened.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { toPem } from '../pki/asn1/der.js';
import { CRL_PATH, openCertificateAuthority, type CertificateAuthority, type ServerTlsCredentials } from '../pki/ca.js';
import { commonNameOf } from '../pki/name.js';
import { imUriScreenName } from '../pki/verifier.js';
import { databaseUrlForDataDir, openStore, redactDatabaseUrl, type Store } from '../store/index.js';
import { hashPassword, verifyPassword } from './auth/password.js';
import { loadServerSecrets } from './auth/server-secrets.js';
import type { EngineConfig } from './config.js';
import type { Logger } from './engine.js';
import { startHttpsListener, type HttpsListener } from './http/https-listener.js';
import type { ClientCertCheck, EstPort, HttpPorts, PasswordCheck } from './http/http-ports.js';
import { createOscarServer, type OscarServer } from './net/oscar-server.js';
import type { CertificateChecker } from './ports.js';
import { certificateCheckerFrom } from './certificate-checker.js';
import { storePorts } from './store-ports.js';
import { createEstPort } from './http/est-adapter.js';

/** Options of {@link startServer} (what `certim server` flags set). */
export interface ServerOptions {
  /** Data directory: SQLite database, CA, TLS certificate. Created if missing. */
  dataDir: string;
  /** Bind address for all listeners. */
  host: string;
  /** Plain OSCAR port (classic clients); 0 = free port. */
  port: number;
  /** OSCAR over TLS (certim clients); 0 = free port. */
  tlsPort: number;
  /** HTTPS (EST, CRL, health, metrics); 0 = free port. */
  httpPort: number;
  /** `sqlite:PATH` or `postgres://...`; default `sqlite:<dataDir>/certim.db`. */
  dbUrl?: string;
  /** IM domain in issued certificates' `im:` URIs; default: remembered from the first start, else the public host. */
  domain?: string;
  /** Name clients reach the server by (BOS redirects, TLS certificate); default `host`, or the machine's name. */
  publicHost?: string;
  /** Engine overrides (limits, rate classes) — for tests and benches. */
  engine?: Partial<EngineConfig>;
  /** Log sink (default: silent). */
  log?: Logger;
  /** Environment (CERTIM_CA_PASSPHRASE); default process.env. */
  env?: Record<string, string | undefined>;
  /** `nats://HOST:PORT[?name=CLUSTER]`: run as a node of a cluster (needs a Postgres `dbUrl`); default: alone. */
  cluster?: string;
}

/**
 * Defaults. Host 127.0.0.1: a fresh `npm start` should not expose a brand-new server (with a CA and no accounts
 * yet) to the network before its admin has looked at it; pass `--host 0.0.0.0` to serve a LAN. Ports: 5190 is
 * AIM's own, classic clients default to it; 5191 (next to it) for OSCAR over TLS; 8443 for HTTPS, the usual
 * unprivileged HTTPS port.
 */
export const DEFAULT_SERVER_OPTIONS = {
  dataDir: './data',
  host: '127.0.0.1',
  port: 5190,
  tlsPort: 5191,
  httpPort: 8443,
} as const satisfies Partial<ServerOptions>;

/** A running server. */
export interface RunningServer {
  /** Bound ports. */
  readonly ports: { oscar: number; oscarTls: number; https: number };
  /** SHA-256 of the CA root certificate DER, lowercase hex. */
  readonly caFingerprint: string;
  /** Bind address. */
  readonly host: string;
  /** Absolute data directory. */
  readonly dataDir: string;
  /** 'sqlite' or 'postgres'. */
  readonly backend: string;
  /** The CA (for tests and admin tooling in-process). */
  readonly ca: CertificateAuthority;
  /** The OSCAR server (engine, metrics). */
  readonly oscar: OscarServer;
  /** This node's name and its cluster's, when running with `cluster`. */
  readonly cluster?: { node: string; name: string };
  /** Closes listeners, sessions and the database; idempotent. */
  close(): Promise<void>;
}

/** TLS certificate lifetime; renewed in place once two thirds of it have passed. */
const TLS_CERT_DAYS = 90;
const DAY_MS = 86_400_000;

/** A logger writing `ISO-time level message key=value...` lines to stderr. */
export function stderrLogger(minLevel: 'debug' | 'info' = 'info'): Logger {
  const order = { debug: 0, info: 1, warn: 2, error: 3 } as const;
  return (level, msg, fields) => {
    if (order[level] < order[minLevel]) return;
    const kv = fields ? Object.entries(fields).map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join('') : '';
    process.stderr.write(`${new Date().toISOString()} ${level} ${msg}${kv}\n`);
  };
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** Host names and IPs the server certificate names: the public host, plus loopback names for local clients. */
function tlsNames(host: string, publicHost: string): { dns: string[]; ips: string[] } {
  const dns = new Set<string>(['localhost']);
  const ips = new Set<string>(['127.0.0.1', '::1']);
  for (const h of [publicHost, isWildcard(host) ? undefined : host]) {
    if (!h) continue;
    if (isIP(h)) ips.add(h);
    else dns.add(h.toLowerCase());
  }
  // The public host first: it becomes the certificate's CN.
  const first = isIP(publicHost) ? [] : [publicHost.toLowerCase()];
  return { dns: [...new Set([...first, ...dns])], ips: [...ips] };
}

/** The domain for `im:` URIs: flag, else remembered from the first start, else derived (and remembered). */
async function resolveDomain(store: Store, flag: string | undefined, publicHost: string): Promise<string> {
  const remembered = await store.meta.get('server.domain');
  const domain = (flag ?? remembered ?? (isIP(publicHost) ? 'localhost' : publicHost)).toLowerCase();
  if (domain !== remembered) await store.meta.set('server.domain', domain);
  return domain;
}

/** The engine's certificate-upload check: the CA's verifier, with the ledger as revocation source. */
function certificateChecker(ca: CertificateAuthority): CertificateChecker {
  return certificateCheckerFrom((der, o) => ca.verify(der, o));
}

/** Ports for the HTTPS listener. */
function httpPorts(store: Store, ca: CertificateAuthority, oscar: OscarServer, est: EstPort): HttpPorts {
  // A real scrypt hash of a random password: unknown accounts cost the same time as wrong passwords.
  let dummyHash: Promise<string> | undefined;
  return {
    est,
    async checkPassword(screenName, password): Promise<PasswordCheck> {
      const account = await store.accounts.get(screenName);
      if (!account) {
        dummyHash ??= hashPassword(`dummy-${Math.random()}`);
        await verifyPassword(password, await dummyHash);
        return 'bad-credentials';
      }
      if (!(await verifyPassword(password, account.passwordHash))) return 'bad-credentials';
      return account.disabled ? 'disabled' : 'ok';
    },
    async checkClientCertificate(der): Promise<ClientCertCheck> {
      const r = await ca.verify(der, { purpose: 'tls-client' });
      if (!r.ok) return { ok: false, reason: r.reason };
      const leaf = r.chain[0]!;
      const fromUri = leaf.sanUris.map(imUriScreenName).find((n): n is string => n !== undefined);
      const screenName = fromUri ?? commonNameOf(leaf.subject);
      if (!screenName) return { ok: false, reason: 'the certificate names no screen name' };
      const account = await store.accounts.get(screenName);
      if (!account) return { ok: false, reason: `no account "${screenName}" on this server` };
      if (account.disabled) return { ok: false, reason: 'this account is disabled' };
      return { ok: true, screenName: account.screenName };
    },
    crl: () => ca.crl(),
    metrics: () => ({ ...oscar.metrics() }),
  };
}

/** Builds and starts everything; resolves once every listener is bound. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log: Logger = options.log ?? (() => {});
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const host = options.host;
  const publicHost = options.publicHost ?? (isWildcard(host) ? osHostname() : host);
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    while (cleanups.length > 0) {
      const c = cleanups.pop()!;
      await c().catch((e: unknown) => log('error', 'shutdown step failed', { error: e instanceof Error ? e.message : String(e) }));
    }
  };

  try {
    const dbUrl = options.dbUrl ?? databaseUrlForDataDir(dataDir);
    const store = await openStore(dbUrl);
    cleanups.push(() => store.close());
    log('info', 'database open', { backend: store.backend, url: redactDatabaseUrl(dbUrl) });

    const domain = await resolveDomain(store, options.domain, publicHost);
    // The NATS client is loaded only for a cluster node: a single server never touches it.
    const cluster = options.cluster === undefined ? undefined
      : await (await import('./cluster/join-cluster.js')).joinCluster({ url: options.cluster, store, dataDir, domain, env: options.env ?? process.env, log });
    if (cluster) cleanups.push(() => cluster.close());
    const crlUrl = options.httpPort !== 0 ? `https://${publicHost}:${options.httpPort}${CRL_PATH}` : undefined;
    const ca = await openCertificateAuthority({
      dataDir,
      domain,
      ledger: store.ledger,
      ...(crlUrl ? { crlUrl } : {}),
      ...(options.env ? { env: options.env } : {}),
      warn: (m) => log('warn', m),
    });
    log('info', 'certificate authority ready', { dir: join(dataDir, 'ca'), domain, rootFingerprint: ca.rootFingerprint() });

    const names = tlsNames(host, publicHost);
    const issueTls = async (): Promise<ServerTlsCredentials> => {
      const creds = await ca.issueServerTlsCertificate(names.dns, names.ips, { days: TLS_CERT_DAYS });
      // The certificate (public) is written for inspection; the key stays in memory, never on disk.
      mkdirSync(join(dataDir, 'tls'), { recursive: true, mode: 0o700 });
      writeFileSync(join(dataDir, 'tls', 'server-chain.pem'), creds.certChainPem, { mode: 0o644 });
      log('info', 'server TLS certificate issued', { serial: creds.certificate.serial, names: [...names.dns, ...names.ips].join(','), notAfter: creds.certificate.notAfter.toISOString() });
      return creds;
    };
    let tls = await issueTls();

    const ports = storePorts(store, certificateChecker(ca));
    const secrets = await loadServerSecrets(store.secrets);
    const oscar = createOscarServer({ ports, config: { advertisedHost: publicHost, ...options.engine }, log, ...secrets, ...(cluster ? { directory: cluster.directory } : {}) });
    cleanups.push(() => oscar.close());
    const bound = await oscar.listen({ host, port: options.port, tlsPort: options.tlsPort, tls: { key: tls.keyPem, cert: tls.certChainPem } });

    const caPem = [...ca.chain, ca.rootCertificate].map((c) => toPem('CERTIFICATE', c.der)).join('');
    const https: HttpsListener = await startHttpsListener({
      host,
      port: options.httpPort,
      certPem: tls.certChainPem,
      keyPem: tls.keyPem,
      clientCaPem: caPem,
      ports: httpPorts(store, ca, oscar, createEstPort(ca)),
      throttle: oscar.engine.throttle,
      throttleWindowMs: oscar.engine.config.loginThrottle.windowMs,
      log,
    });
    cleanups.push(() => https.close());

    // Renew the TLS certificate in place once two thirds of its life have passed (checked twice a day).
    const renewal = setInterval(() => {
      const left = tls.certificate.notAfter.getTime() - Date.now();
      if (left > (TLS_CERT_DAYS * DAY_MS) / 3) return;
      issueTls().then(
        (c) => {
          tls = c;
          https.setCertificate(c.certChainPem, c.keyPem);
        },
        (e: unknown) => log('error', 'TLS certificate renewal failed', { error: e instanceof Error ? e.message : String(e) }),
      );
    }, DAY_MS / 2);
    renewal.unref();
    cleanups.push(async () => clearInterval(renewal));

    const shown = (p: number): string => `${host.includes(':') ? `[${host}]` : host}:${p}`;
    log('info', 'listening', { oscar: shown(bound.oscar), oscarTls: shown(bound.oscarTls), https: shown(https.port), publicHost });
    log('info', `CA root fingerprint (SHA-256): ${ca.rootFingerprint()}`);

    let closing: Promise<void> | undefined;
    return {
      ports: { oscar: bound.oscar, oscarTls: bound.oscarTls, https: https.port },
      caFingerprint: ca.rootFingerprint(),
      host,
      dataDir,
      backend: store.backend,
      ca,
      oscar,
      ...(cluster ? { cluster: { node: cluster.node, name: cluster.name } } : {}),
      close() {
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
