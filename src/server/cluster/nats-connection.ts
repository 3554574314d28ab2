/**
 * The connection of one server node to NATS (`certim server --cluster nats://HOST:4222`): URL parsing, the
 * cluster name that keeps several certim clusters (or test runs) on one NATS apart, reconnect policy, and status
 * reporting. Everything cluster-related (nats-directory.ts) goes through one {@link ClusterConnection}.
 *
 * Reconnect policy: retry forever, every second with jitter (a node that cannot reach NATS cannot deliver across
 * nodes, but keeps its local connections; the directory decides what an outage means for its sessions, see
 * nats-directory.ts). Pings every 2 s, 2 missed pongs = disconnected, so a silent network failure is noticed in
 * about 4-6 s rather than Node's TCP timeouts.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';

/** Cluster names are NATS subject tokens and KV bucket name parts. */
const CLUSTER_NAME_RE = /^[A-Za-z0-9_-]{1,40}$/;

/** The cluster name used when the URL names none. */
export const DEFAULT_CLUSTER_NAME = 'default';

/** Error codes of cluster setup (`ClusterError.code`). */
export type ClusterErrorCode =
  | 'CLUSTER_BAD_URL' // --cluster is not a nats:// URL we understand
  | 'CLUSTER_UNREACHABLE' // no NATS server answered at startup
  | 'CLUSTER_NEEDS_SHARED_DB' // --cluster without a shared (Postgres) database
  | 'CLUSTER_CA_PASSPHRASE' // CERTIM_CA_PASSPHRASE missing, or a local CA encrypted under a generated passphrase
  | 'CLUSTER_CA_MISMATCH'; // this data directory holds a different CA than the cluster's

/** A cluster setup failure with a stable code. */
export class ClusterError extends Error {
  /** @param code stable code; @param message detail (never a password) */
  constructor(
    readonly code: ClusterErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ClusterError';
  }

  /** True when `e` is a ClusterError (optionally with `code`). */
  static is(e: unknown, code?: ClusterErrorCode): e is ClusterError {
    return e instanceof ClusterError && (code === undefined || e.code === code);
  }
}

/** What `--cluster` names. */
export interface ClusterUrl {
  /** `host:port` entries for the NATS client. */
  servers: string[];
  /** Cluster name (`?name=`; default {@link DEFAULT_CLUSTER_NAME}). */
  name: string;
  /** NATS user/password from the URL's userinfo, if any. */
  user?: string;
  /** See `user`. Never logged. */
  pass?: string;
  /** The URL with any password replaced by `***`, for logs. */
  redacted: string;
}

/**
 * Parses `nats://[user[:pass]@]host[:port][,host2[:port]...][?name=CLUSTER]`. Several comma-separated hosts name
 * several servers of one NATS cluster. The cluster name prefixes every subject and bucket this certim cluster uses.
 */
export function parseClusterUrl(url: string): ClusterUrl {
  const m = /^nats:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)\/?(?:\?([^#]*))?$/.exec(url);
  if (!m) throw new ClusterError('CLUSTER_BAD_URL', 'cluster URL must look like nats://HOST:PORT[?name=CLUSTER]');
  const [, user, pass, hosts, query] = m;
  const servers = hosts!.split(',').map((h) => h.trim()).filter((h) => h.length > 0);
  if (servers.length === 0 || servers.some((h) => !/^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/.test(h))) {
    throw new ClusterError('CLUSTER_BAD_URL', 'cluster URL has a bad host list');
  }
  const params = new URLSearchParams(query ?? '');
  const name = params.get('name') ?? DEFAULT_CLUSTER_NAME;
  if (!CLUSTER_NAME_RE.test(name)) throw new ClusterError('CLUSTER_BAD_URL', 'cluster name must be 1-40 characters A-Z a-z 0-9 _ -');
  for (const k of params.keys()) if (k !== 'name') throw new ClusterError('CLUSTER_BAD_URL', `unknown cluster URL parameter ${JSON.stringify(k)}`);
  const auth = user ? `${decodeURIComponent(user)}${pass !== undefined ? ':***' : ''}@` : '';
  return {
    servers,
    name,
    ...(user ? { user: decodeURIComponent(user) } : {}),
    ...(pass !== undefined ? { pass: decodeURIComponent(pass) } : {}),
    redacted: `nats://${auth}${servers.join(',')}${name !== DEFAULT_CLUSTER_NAME ? `?name=${name}` : ''}`,
  };
}

/** Connection state changes a node reacts to. */
export type ClusterStatus = { type: 'disconnected' } | { type: 'reconnected'; outageMs: number } | { type: 'closed' };

/** Options of {@link connectCluster}. */
export interface ConnectClusterOptions {
  /** Client name shown by the NATS server (the node name). */
  clientName: string;
  /** Log sink (no secrets are passed to it). */
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /** Clock for outage lengths (default Date.now). */
  now?: () => number;
  /** First-connect timeout, ms (default 5000). */
  timeoutMs?: number;
}

/** An open NATS connection of one node, with its cluster name. */
export interface ClusterConnection {
  /** The NATS connection. */
  readonly nc: NatsConnection;
  /** Cluster name: the first token of every subject, part of every bucket name. */
  readonly name: string;
  /** Subject for `parts` inside this cluster (`certim.<name>.<parts...>`). */
  subject(...parts: string[]): string;
  /** A JetStream KV bucket name inside this cluster (`certim_<name>_<what>`). */
  bucket(what: string): string;
  /** Registers a status listener; returns a function removing it. */
  onStatus(listener: (s: ClusterStatus) => void): () => void;
  /** Drains and closes the connection. Idempotent. */
  close(): Promise<void>;
}

/** Connects to the NATS servers of a `--cluster` URL; rejects with CLUSTER_UNREACHABLE if none answers. */
export async function connectCluster(url: string | ClusterUrl, options: ConnectClusterOptions): Promise<ClusterConnection> {
  const parsed = typeof url === 'string' ? parseClusterUrl(url) : url;
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: parsed.servers,
      name: options.clientName,
      ...(parsed.user !== undefined ? { user: parsed.user } : {}),
      ...(parsed.pass !== undefined ? { pass: parsed.pass } : {}),
      timeout: options.timeoutMs ?? 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
      reconnectJitter: 250,
      pingInterval: 2000,
      maxPingOut: 2,
    });
  } catch (e) {
    throw new ClusterError('CLUSTER_UNREACHABLE', `cannot reach NATS at ${parsed.redacted}: ${(e as Error).message}`, { cause: e });
  }
  const listeners = new Set<(s: ClusterStatus) => void>();
  const emit = (s: ClusterStatus): void => {
    for (const l of [...listeners]) l(s);
  };
  let downSince: number | undefined;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' && downSince === undefined) {
        downSince = now();
        log('warn', 'cluster: NATS connection lost, reconnecting', { url: parsed.redacted });
        emit({ type: 'disconnected' });
      } else if (s.type === 'reconnect') {
        const outageMs = downSince === undefined ? 0 : now() - downSince;
        downSince = undefined;
        log('info', 'cluster: NATS connection back', { url: parsed.redacted, outageMs });
        emit({ type: 'reconnected', outageMs });
      }
    }
  })().catch(() => undefined);
  void nc.closed().then(() => emit({ type: 'closed' }));
  let closing: Promise<void> | undefined;
  const prefix = `certim.${parsed.name}`;
  return {
    nc,
    name: parsed.name,
    subject: (...parts) => [prefix, ...parts].join('.'),
    bucket: (what) => `certim_${parsed.name}_${what}`,
    onStatus(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closing ??= (nc.isClosed() ? Promise.resolve() : nc.drain().catch(() => nc.close())).then(() => undefined);
      return closing;
    },
  };
}
