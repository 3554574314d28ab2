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
import { LogEvent, type Logger } from '../log.js';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ClusterError, parseClusterUrl, type ClusterUrl } from './cluster-url.js';

export { ClusterError, DEFAULT_CLUSTER_NAME, parseClusterUrl } from './cluster-url.js';
export type { ClusterErrorCode, ClusterUrl } from './cluster-url.js';

/** Connection state changes a node reacts to. */
export type ClusterStatus = { type: 'disconnected' } | { type: 'reconnected'; outageMs: number } | { type: 'closed' };

/** Options of {@link connectCluster}. */
export interface ConnectClusterOptions {
  /** Client name shown by the NATS server (the node name). */
  clientName: string;
  /** Log sink (no secrets are passed to it). */
  log?: Logger;
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
      ...(parsed.tls ? { tls: parsed.tls } : {}),
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
        log('warn', LogEvent.CLUSTER_NATS_LOST, { url: parsed.redacted });
        emit({ type: 'disconnected' });
      } else if (s.type === 'reconnect') {
        const outageMs = downSince === undefined ? 0 : now() - downSince;
        downSince = undefined;
        log('info', LogEvent.CLUSTER_NATS_BACK, { url: parsed.redacted, outageMs });
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
