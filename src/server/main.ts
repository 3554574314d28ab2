/**
 * Composition root of `certim server`: config, SQLite vs Postgres, in-process vs NATS directory, the service list.
 * Nothing here implements protocol or crypto; it decides which concrete parts to build and wires them:
 *
 *   options ─► data dir ─► store (openStore: SQLite file or Postgres URL)
 *                       ─► CA (openCertificateAuthority in <data>/ca, its ledger in the store)
 *                       ─► server TLS certificate (issued by that CA at every start; key only in memory)
 *                       ─► OSCAR engine (createOscarServer: store ports + passwords + PKI verifier) on the plain
 *                          and TLS ports
 *                       ─► rendezvous proxy (its own port; pairs against the engine's live rendezvous proposals)
 *                       ─► HTTPS listener (EST via the PKI's handlers, CRL, health, metrics), sharing the engine's
 *                          failed-login throttle so EST and OSCAR logins draw on one guessing budget; its upgrade
 *                          requests go to the OSCAR WebSocket endpoint (the same engine, docs/protocol.md §14)
 *
 * Before any of it, the data-directory lock (data-dir-lock.ts): one server per data directory. After the listeners,
 * the admin control socket (admin/admin-server.ts) in `<data>/admin/`, through which `certim admin` reaches this
 * running server (sessions, throttles, revocation with immediate effect).
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
import { UNMATCHABLE_HASH, verifyPassword } from './auth/password.js';
import { loadServerSecrets } from './auth/server-secrets.js';
import type { EngineConfig } from './config.js';
import { LogEvent, errorText, silentLogger, type Logger } from './log.js';
import { loggingEstPort, loggingLedger, loggingStorePorts } from './logged-ports.js';
import { startHttpsListener, type HttpsListener } from './http/https-listener.js';
import { IssuanceLimiter } from './http/est-routes.js';
import { loadWebAssets } from './http/web-assets.js';
import type { HttpLimits } from './http/http-limits.js';
import { ConnectionLimiter, type ConnectionLimits } from './net/connection-limits.js';
import type { ClientCertCheck, EstPort, HttpPorts, PasswordCheck } from './http/http-ports.js';
import { createOscarServer, type OscarServer } from './net/oscar-server.js';
import { createWebSocketEndpoint, type WebSocketLimits } from './net/ws-endpoint.js';
import type { CertificateChecker } from './ports.js';
import { certificateCheckerFrom } from './certificate-checker.js';
import { storePorts } from './store-ports.js';
import { createEstPort } from './http/est-adapter.js';
import { lockDataDir } from './data-dir-lock.js';
import { adminCommands, localSessions } from './admin/admin-commands.js';
import { startAdminServer } from './admin/admin-server.js';
import { onCertificateRevoked, withdrawFromLocalSessions } from './admin/cert-withdrawal.js';
import { MemoryTrim, processTrimDeps, type MemoryTrimConfig } from './memory-trim.js';
import { startRendezvousProxy, withProxyMetrics, type ProxyConfig, type RendezvousProxy } from './proxy/index.js';

/** Options of {@link startServer} (what `certim server` flags set). */
export interface ServerOptions {
  /** Data directory: SQLite database, CA, TLS certificate. Created if missing. */
  dataDir: string;
  /** The built web client served at `/` (default: dist/web of this package; missing = a placeholder page). */
  webRoot?: string;
  /** Bind address for all listeners. */
  host: string;
  /** Plain OSCAR port (classic clients); 0 = free port. */
  port: number;
  /** OSCAR over TLS (certim clients); 0 = free port. */
  tlsPort: number;
  /** HTTPS (EST, CRL, health, metrics); 0 = free port. */
  httpPort: number;
  /** Rendezvous proxy (docs/protocol.md §8.3); 0 or absent = free port (the CLI's default is 5193). */
  proxyPort?: number;
  /** Rendezvous proxy overrides (limits, timeouts, the IPv4 address its acks advertise). */
  proxy?: Partial<ProxyConfig>;
  /** `sqlite:PATH` or `postgres://...`; default `sqlite:<dataDir>/certim.db`. */
  dbUrl?: string;
  /** IM domain in issued certificates' `im:` URIs; default: remembered from the first start, else the public host. */
  domain?: string;
  /** Name clients reach the server by (BOS redirects, TLS certificate); default `host`, or the machine's name. */
  publicHost?: string;
  /** Engine overrides (limits, rate classes) — for tests and benches. */
  engine?: Partial<EngineConfig>;
  /** OSCAR-over-WebSocket endpoint limits (unauthenticated caps) — for tests. */
  webSocket?: Partial<WebSocketLimits>;
  /** Log sink (default: silent). */
  log?: Logger;
  /** Environment (CERTIM_CA_PASSPHRASE); default process.env. */
  env?: Record<string, string | undefined>;
  /** Serve the admin control socket in `<data>/admin/` (default true). */
  adminSocket?: boolean;
  /** HTTPS limits (timeouts, body size) — for tests. */
  http?: Partial<HttpLimits>;
  /** Connection caps for all listeners together — for tests. */
  connections?: Partial<ConnectionLimits>;
  /** Clock for the TLS renewal decision (default Date.now) — for tests. */
  now?: () => number;
  /**
   * Shows a generated CA root passphrase once, at the first start (it is never written). Default: printed on stderr
   * when stderr is a terminal, else discarded (the root key stays sealed; set CERTIM_ROOT_PASSPHRASE to choose one).
   */
  rootPassphraseNotice?: (passphrase: string) => void;
  /** `nats://HOST:PORT[?name=CLUSTER]`: run as a node of a cluster (needs a Postgres `dbUrl`); default: alone. */
  cluster?: string;
  /** When to give back the young generation after a burst (memory-trim.ts); `false` turns it off. Default: on. */
  memoryTrim?: Partial<MemoryTrimConfig> | false;
}

/** Bytes as MB with one decimal, for log fields. */
const mb = (bytes: number): number => Math.round(bytes / 1e5) / 10;

/**
 * Defaults. Host 127.0.0.1: a fresh `npm start` should not expose a brand-new server (with a CA and no accounts
 * yet) to the network before its admin has looked at it; pass `--host 0.0.0.0` to serve a LAN. Ports: 5190 is
 * AIM's own, classic clients default to it; 5191 (next to it) for OSCAR over TLS; 8443 for HTTPS, the usual
 * unprivileged HTTPS port; 5193 for the rendezvous proxy (AOL ran it on 5190 of its own host, ars.oscar.aol.com).
 */
export const DEFAULT_SERVER_OPTIONS = {
  dataDir: './data',
  host: '127.0.0.1',
  port: 5190,
  tlsPort: 5191,
  httpPort: 8443,
  proxyPort: 5193,
} as const satisfies Partial<ServerOptions>;

/** A running server. */
export interface RunningServer {
  /** Bound ports. */
  readonly ports: { oscar: number; oscarTls: number; https: number; proxy: number };
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
  /** Path of the admin control socket, or undefined when it is off. */
  readonly adminSocket: string | undefined;
  /**
   * Revocation hook: withdraws the owner's published cert-info block if it carries `serial` and re-announces their
   * presence without a certificate hash (admin/cert-withdrawal.ts). Call after the ledger marks the serial revoked.
   */
  onCertificateRevoked(screenName: string, serial: string): Promise<boolean>;
  /**
   * Renews the server TLS certificate in place (HTTPS and OSCAR over TLS) if two thirds of its life have passed, or
   * always with `force`; resolves true when it renewed. A timer calls this twice a day.
   */
  renewTlsIfDue(force?: boolean): Promise<boolean>;
  /** The rendezvous proxy (metrics, tests). */
  readonly proxy: RendezvousProxy;
  /** This node's name and its cluster's, when running with `cluster`. */
  readonly cluster?: { node: string; name: string };
  /** Closes listeners, sessions and the database; idempotent. */
  close(): Promise<void>;
}

/** TLS certificate lifetime; renewed in place once two thirds of it have passed. */
const TLS_CERT_DAYS = 90;
const DAY_MS = 86_400_000;

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

/** Where a generated root passphrase is shown: the option, else the terminal (never the log, never a file). */
function rootNotice(options: ServerOptions): { rootPassphraseNotice?: (passphrase: string) => void } {
  if (options.rootPassphraseNotice) return { rootPassphraseNotice: options.rootPassphraseNotice };
  if (!process.stderr.isTTY) return {};
  return {
    rootPassphraseNotice: (p) => process.stderr.write(
      `\n*** certim CA root key passphrase (shown once, stored nowhere; write it down and keep it offline):\n***   ${p}\n` +
      '*** The server never needs it; it opens ca/root.key for root operations (e.g. signing a new issuing CA).\n\n',
    ),
  };
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
function httpPorts(store: Store, ca: CertificateAuthority, oscar: OscarServer, est: EstPort, limiter: ConnectionLimiter): HttpPorts {
  return {
    est,
    async checkPassword(screenName, password): Promise<PasswordCheck> {
      const account = await store.accounts.get(screenName);
      if (!account) {
        // Unknown accounts cost the same scrypt as wrong passwords.
        await verifyPassword(password, UNMATCHABLE_HASH);
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
    metrics: () => {
      const t = oscar.engine.throttle.stats;
      const refused = Object.values(limiter.refused).reduce((a, b) => a + b, 0);
      return { ...oscar.metrics(), loginChecks: t.checks, loginThrottled: t.throttled, loginBusy: t.busy, connectionsRefused: refused };
    },
  };
}

/** Builds and starts everything; resolves once every listener is bound. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log: Logger = options.log ?? silentLogger;
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // First of all: a second server on this data directory must not touch anything (DataDirLockedError).
  const lock = lockDataDir(dataDir);
  if (lock.tookOverFrom !== undefined) log('warn', LogEvent.STALE_LOCK_REMOVED, { stalePid: lock.tookOverFrom });
  const startedAt = Date.now();
  const host = options.host;
  const publicHost = options.publicHost ?? (isWildcard(host) ? osHostname() : host);
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    while (cleanups.length > 0) {
      const c = cleanups.pop()!;
      await c().catch((e: unknown) => log('error', LogEvent.SHUTDOWN_STEP_FAILED, { error: errorText(e) }));
    }
  };

  cleanups.push(async () => lock.release());
  try {
    const dbUrl = options.dbUrl ?? databaseUrlForDataDir(dataDir);
    const store = await openStore(dbUrl);
    cleanups.push(() => store.close());
    log('info', LogEvent.STORE_OPEN, { backend: store.backend, url: redactDatabaseUrl(dbUrl) });

    const domain = await resolveDomain(store, options.domain, publicHost);
    // The NATS client is loaded only for a cluster node: a single server never touches it.
    const cluster = options.cluster === undefined ? undefined
      : await (await import('./cluster/join-cluster.js')).joinCluster({ url: options.cluster, store, dataDir, domain, env: options.env ?? process.env, log });
    if (cluster) cleanups.push(() => cluster.close());
    const crlUrl = options.httpPort !== 0 ? `https://${publicHost}:${options.httpPort}${CRL_PATH}` : undefined;
    const ca = await openCertificateAuthority({
      dataDir,
      domain,
      ledger: loggingLedger(store.ledger, log),
      ...(crlUrl ? { crlUrl } : {}),
      ...(options.env ? { env: options.env } : {}),
      warn: (m) => log('warn', LogEvent.CA_WARNING, { detail: m }),
      ...rootNotice(options),
    });
    log('info', LogEvent.CA_READY, { dir: join(dataDir, 'ca'), domain, rootFingerprint: ca.rootFingerprint() });
    // CRL schedule (RFC 5280 §5.1.2.5): nextUpdate <= 24 h, rebuilt hourly, at once on revoke, and within a
    // minute of a revocation another process (certim admin cert revoke) wrote to the ledger.
    const crlSchedule = ca.scheduleCrl({ onError: (e) => log('error', LogEvent.CRL_REFRESH_FAILED, { error: errorText(e) }) });
    cleanups.push(async () => crlSchedule.stop());

    const names = tlsNames(host, publicHost);
    const issueTls = async (): Promise<ServerTlsCredentials> => {
      const creds = await ca.issueServerTlsCertificate(names.dns, names.ips, { days: TLS_CERT_DAYS });
      // The certificate (public) is written for inspection; the key stays in memory, never on disk.
      mkdirSync(join(dataDir, 'tls'), { recursive: true, mode: 0o700 });
      writeFileSync(join(dataDir, 'tls', 'server-chain.pem'), creds.certChainPem, { mode: 0o644 });
      log('info', LogEvent.TLS_CERT_ISSUED, { serial: creds.certificate.serial, names: [...names.dns, ...names.ips].join(','), notAfter: creds.certificate.notAfter.toISOString() });
      return creds;
    };
    let tls = await issueTls();

    const ports = loggingStorePorts(storePorts(store, certificateChecker(ca)), log);
    // On Postgres (the cluster backend) the login throttle keeps its records in the shared database, so every node
    // draws on one guessing budget; on SQLite (one process) memory is enough and spares an fsync per login.
    const throttleState = store.backend === 'postgres' ? store.loginThrottle : undefined;
    // The cookie key comes from the store, so a cookie issued by one node redeems at another.
    const secrets = await loadServerSecrets(store.secrets);
    // After a burst of sign-ons (and after start-up) the heap gives back its grown young generation (memory-trim.ts).
    const trimDeps = options.memoryTrim === false ? undefined : await processTrimDeps();
    const trim = trimDeps && new MemoryTrim(trimDeps, (r) => log('debug', LogEvent.MEMORY_TRIMMED, {
      youngBeforeMB: mb(r.youngBefore), youngAfterMB: mb(r.youngAfter), heapBeforeMB: mb(r.heapBefore), heapAfterMB: mb(r.heapAfter), pauseMs: Math.round(r.pauseMs),
    }), (e) => log('warn', LogEvent.MEMORY_TRIM_FAILED, { error: errorText(e) }), options.memoryTrim || {});
    if (trim) cleanups.push(async () => trim.close());
    const oscar = createOscarServer({
      ports, config: { advertisedHost: publicHost, ...options.engine }, log, ...secrets,
      ...(throttleState ? { throttleState } : {}), ...(cluster ? { directory: cluster.directory, cookieClaims: cluster.cookieClaims, rooms: cluster.rooms } : {}),
      ...(trim ? { onSessionStart: () => trim.activity() } : {}),
    });
    cleanups.push(() => oscar.close());
    // One set of connection caps for every listener: per address, and in total below the descriptor limit.
    const limiter = new ConnectionLimiter({ maxTotal: oscar.engine.config.maxConnections, ...options.connections });
    log('info', LogEvent.CONNECTION_CAPS, { ...limiter.limits });
    const bound = await oscar.listen({ host, port: options.port, tlsPort: options.tlsPort, tls: { key: tls.keyPem, cert: tls.certChainPem }, limiter });

    const { proxy, port: proxyPort } = await startRendezvousProxy(oscar.engine, { host, port: options.proxyPort ?? 0, ...(options.proxy ? { config: options.proxy } : {}) });
    cleanups.push(() => proxy.close());

    // OSCAR over WebSocket on the HTTPS port; the Origin must name one of the certificate's names (§14.4).
    const ws = createWebSocketEndpoint({ oscar, allowedHosts: [...names.dns, ...names.ips], ...(options.webSocket ? { limits: options.webSocket } : {}) });
    const caPem = [...ca.chain, ca.rootCertificate].map((c) => toPem('CERTIFICATE', c.der)).join('');
    const https: HttpsListener = await startHttpsListener({
      host,
      port: options.httpPort,
      certPem: tls.certChainPem,
      keyPem: tls.keyPem,
      clientCaPem: caPem,
      ports: withProxyMetrics(httpPorts(store, ca, oscar, loggingEstPort(createEstPort(ca), log), limiter), proxy),
      throttle: oscar.engine.throttle,
      // On Postgres the issuance slots live in the shared throttle table: N nodes still allow 10 an hour per account.
      ...(throttleState ? { issuance: new IssuanceLimiter(undefined, undefined, throttleState) } : {}),
      limiter,
      log,
      ...(options.http ? { limits: options.http } : {}),
      onUpgrade: (req, socket, head, ticket) => ws.handleUpgrade(req, socket, head, ticket),
      extraMetrics: () => ({ ...ws.counters, wsUnauthenticated: ws.unauthenticated }),
      webAssets: loadWebAssets(options.webRoot),
    });
    cleanups.push(() => https.close());
    // 17/03 and 01/05 on a WebSocket connection name the HTTPS listener (§14.3).
    oscar.engine.boundPorts.ws = https.port;

    // Renew the TLS certificate in place, on every TLS listener, once two thirds of its life have passed.
    const now = options.now ?? Date.now;
    let renewing: Promise<boolean> | undefined;
    const renewTlsIfDue = (force = false): Promise<boolean> => {
      const left = tls.certificate.notAfter.getTime() - now();
      if (!force && left > (TLS_CERT_DAYS * DAY_MS) / 3) return Promise.resolve(false);
      renewing ??= issueTls().then((c) => {
        tls = c;
        https.setCertificate(c.certChainPem, c.keyPem);
        oscar.setTlsCredentials({ key: c.keyPem, cert: c.certChainPem });
        log('info', LogEvent.TLS_CERT_RENEWED, { serial: c.certificate.serial });
        return true;
      }).finally(() => {
        renewing = undefined;
      });
      return renewing;
    };
    const renewal = setInterval(() => {
      renewTlsIfDue().catch((e: unknown) => log('error', LogEvent.TLS_CERT_RENEWAL_FAILED, { error: errorText(e) }));
    }, DAY_MS / 2);
    renewal.unref();
    cleanups.push(async () => clearInterval(renewal));

    // A cluster node answers the other nodes' admin commands about its own sessions (ARCHITECTURE.md "Cluster").
    cluster?.peers.serve({ sessions: () => localSessions(oscar.engine), withdraw: (sn) => withdrawFromLocalSessions(oscar.engine, sn) });
    let adminSocket: string | undefined;
    if (options.adminSocket ?? true) {
      const dispatch = adminCommands({
        engine: oscar.engine, throttle: oscar.engine.throttle, ledger: store.ledger, revoke: (s, r) => ca.revoke(s, r), dataDir, startedAt,
        ...(cluster ? { peers: cluster.peers } : {}),
      });
      const admin = await startAdminServer(dataDir, dispatch, log);
      cleanups.push(() => admin.close());
      adminSocket = admin.path;
    }

    // Start-up grows the young generation like a burst of sign-ons does: give it back before saying ready.
    await trim?.trimNow();
    const shown = (p: number): string => `${host.includes(':') ? `[${host}]` : host}:${p}`;
    log('info', LogEvent.READY, { oscar: shown(bound.oscar), oscarTls: shown(bound.oscarTls), https: shown(https.port), proxy: shown(proxyPort), publicHost, caFingerprint: ca.rootFingerprint(), adminSocket });

    let closing: Promise<void> | undefined;
    return {
      ports: { oscar: bound.oscar, oscarTls: bound.oscarTls, https: https.port, proxy: proxyPort },
      caFingerprint: ca.rootFingerprint(),
      host,
      dataDir,
      backend: store.backend,
      ca,
      oscar,
      adminSocket,
      onCertificateRevoked: (screenName, serial) => onCertificateRevoked(oscar.engine, screenName, serial),
      renewTlsIfDue,
      proxy,
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
