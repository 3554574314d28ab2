/**
 * Tunables of the rendezvous proxy (docs/protocol.md §8.3), and the timer seam tests replace. Every limit a
 * hostile or slow client could push against lives here.
 */

/** Proxy configuration. */
export interface ProxyConfig {
  /** A connection must send its init packet within this many ms (else error 0x0010). */
  handshakeTimeoutMs: number;
  /** An init-send waits this long for its peer's init-recv (else error 0x001A). Covers a person clicking "accept". */
  pairingTimeoutMs: number;
  /** A spliced pair with no byte in either direction for this long is closed. */
  idleTimeoutMs: number;
  /** Proxy connections on this node, in any state (further ones are refused). */
  maxConnections: number;
  /** Proxy connections from one IP address in any state (handshakes included), on this node. */
  maxConnectionsPerAddress: number;
  /** Proxy connections naming one user (waiting or spliced), on this node. */
  maxConnectionsPerUser: number;
  /**
   * Bytes one user may move through the proxy per hour (both directions of every pair they take part in). A new
   * session needs at least `highWaterMark` bytes of it left.
   */
  bytesPerUserPerHour: number;
  /**
   * IPv4 address put in the ack (what the proposer advertises in its proposal's TLV 0x0002). Default: the local
   * address the proposer's connection arrived on when it is IPv4, else 0.0.0.0 ("use the host you reached").
   */
  advertisedIpv4: string | undefined;
  /**
   * Init-send must come from the address of one of the user's sessions on this node (default true): the proxy
   * protocol carries no credential, so this is what ties an init-send to the signed-on user.
   */
  requireSessionAddress: boolean;
  /**
   * Bytes a splice direction may hold in the writer before it stops reading (about one more read chunk may
   * arrive). Also the least hourly budget a user needs left to start a session.
   */
  highWaterMark: number;
}

/** Defaults. */
export function defaultProxyConfig(): ProxyConfig {
  return {
    handshakeTimeoutMs: 10_000,
    pairingTimeoutMs: 120_000,
    idleTimeoutMs: 300_000,
    maxConnections: 2_000,
    maxConnectionsPerAddress: 64,
    maxConnectionsPerUser: 8,
    bytesPerUserPerHour: 8 * 1024 ** 3,
    advertisedIpv4: undefined,
    requireSessionAddress: true,
    highWaterMark: 64 * 1024,
  };
}

/** The timers the proxy uses (Node's by default; tests pass a fake they advance by hand). */
export interface ProxyTimers {
  /** Calls `fn` after `ms`; returns a handle for {@link ProxyTimers.clear}. */
  set(fn: () => void, ms: number): unknown;
  /** Cancels a pending call. */
  clear(handle: unknown): void;
}

/** Node's timers, unref'd (a pending proxy timer never keeps the process alive). */
export const nodeTimers: ProxyTimers = {
  set(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clear(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
