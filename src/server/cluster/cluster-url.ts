/**
 * The `--cluster` URL and the cluster's error codes, apart from the NATS client so that parsing flags (and a
 * single server) never loads it. nats-connection.ts connects with what this parses.
 */

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
  /** TLS to NATS (`?tls=1`, or implied by `ca`/`cert`/`key`): files of the CA to verify NATS with, and of a client certificate. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** The URL with any password replaced by `***`, for logs. */
  redacted: string;
}

/**
 * Parses `nats://[user[:pass]@]host[:port][,host2[:port]...][?name=CLUSTER][&tls=1][&ca=FILE][&cert=FILE&key=FILE]`.
 * Several comma-separated hosts name several servers of one NATS cluster. The cluster name prefixes every subject
 * and bucket this certim cluster uses. `ca` (verify NATS against this CA instead of the system's), `cert`/`key` (a
 * client certificate) and `tls=1` turn on TLS; NATS then carries the directory and every IM encrypted in transit.
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
  for (const k of params.keys()) {
    if (!['name', 'tls', 'ca', 'cert', 'key'].includes(k)) throw new ClusterError('CLUSTER_BAD_URL', `unknown cluster URL parameter ${JSON.stringify(k)}`);
  }
  const tlsFlag = params.get('tls');
  if (tlsFlag !== null && tlsFlag !== '1') throw new ClusterError('CLUSTER_BAD_URL', 'tls must be 1 when given');
  const [ca, cert, key] = [params.get('ca'), params.get('cert'), params.get('key')];
  if ((cert === null) !== (key === null)) throw new ClusterError('CLUSTER_BAD_URL', 'cert and key go together');
  const tls = tlsFlag !== null || ca !== null || cert !== null
    ? { ...(ca ? { caFile: ca } : {}), ...(cert ? { certFile: cert } : {}), ...(key ? { keyFile: key } : {}) }
    : undefined;
  const auth = user ? `${decodeURIComponent(user)}${pass !== undefined ? ':***' : ''}@` : '';
  return {
    servers,
    name,
    ...(user ? { user: decodeURIComponent(user) } : {}),
    ...(pass !== undefined ? { pass: decodeURIComponent(pass) } : {}),
    ...(tls ? { tls } : {}),
    redacted: `nats://${auth}${servers.join(',')}${name !== DEFAULT_CLUSTER_NAME ? `?name=${name}` : ''}${tls ? ' (TLS)' : ''}`,
  };
}
