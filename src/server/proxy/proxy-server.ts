/**
 * certim's rendezvous proxy (docs/protocol.md §8.3): AOL's proxy protocol on its own port. The proposer sends
 * init-send and gets an ack (port, IPv4); it then proposes the rendezvous over ICBM ch-2 naming that address and
 * port with TLV 0x0010; the acceptor sends init-recv with the port and cookie; the proxy answers ready to both
 * and splices the two sockets byte for byte, with backpressure, until both directions end.
 *
 * **Who may use it.** The protocol carries a screen name and a cookie, no credential, so the checks are:
 * - init-send: the name has a ready session on THIS node, connected from the same address as this socket
 *   (`requireSessionAddress`); the proposal that follows goes through that session, so this node remembers it.
 * - init-recv: a waiting init-send has this cookie and port; this node relayed a live proposal with this cookie
 *   from the init-send user to the init-recv user, marked "via proxy" (TLV 0x0010) with this port (TLV 0x0005);
 *   and the init-recv user is signed on (any node of the cluster, through the delivery directory).
 * A waiting slot pairs once; a refused init-recv never disturbs it, but after 8 failed joins naming a waiting
 * cookie that cookie is locked (no 16-bit PIN brute force) until its slots are gone.
 *
 * **Limits.** Connections per node, per address and per user, a handshake timeout, a pairing timeout, an idle timeout on spliced
 * pairs, and bytes per user per hour (both users of a pair are charged for every byte). Each splice direction holds
 * about one `highWaterMark` plus one read chunk in user space: the reader pauses while the writer is that full.
 * Payload bytes are never inspected or logged (certim peers run TLS inside the splice).
 */
import { randomInt } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { toHex, WireError } from '../../wire/bytes.js';
import {
  RvProxyCommand, decodeRvProxyInitRecv, decodeRvProxyInitSend, encodeRvProxyAck, encodeRvProxyError, encodeRvProxyReady,
  takeRvProxyPacket, type RvProxyInitRecv, type RvProxyInitSend,
} from '../../wire/rv-proxy.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import type { DeliveryDirectory } from '../cluster/directory.js';
import type { Logger } from '../engine.js';
import { parseIpv4 } from '../net/connection.js';
import type { Clock } from '../ports.js';
import type { Session } from '../session/session.js';
import { ByteBudget } from './byte-budget.js';
import { proxyErrorCodeFor, type ProxyRefusal } from './refusals.js';
import { Splice } from './splice.js';
import { defaultProxyConfig, nodeTimers, type ProxyConfig, type ProxyTimers } from './proxy-config.js';
import type { RendezvousRecord } from './rendezvous-book.js';
import { LogEvent } from '../log.js';

export { CertimProxyErrorCode, proxyErrorCodeFor, type ProxyRefusal } from './refusals.js';

/** What the proxy needs from the server. */
export interface ProxyDeps {
  /** This node's sessions (init-send must come from one of them). */
  registry: { sessionsOf(screenName: string): readonly Session[] };
  /** Who is signed on anywhere in the cluster (the init-recv user). */
  directory: Pick<DeliveryDirectory, 'sessionsOf'>;
  /** Live rendezvous proposals this node relayed. */
  book: { find(cookie: Uint8Array, from: string, to: string): RendezvousRecord[] };
  /** Time (budgets, idle checks). */
  clock: Clock;
  /** Log sink (names and codes only; never payload). */
  log?: Logger;
  /** Overrides of {@link defaultProxyConfig}. */
  config?: Partial<ProxyConfig>;
  /** Timers (default Node's). */
  timers?: ProxyTimers;
}

/** Counters. */
export interface ProxyMetrics {
  /** Open proxy connections in any state. */
  connections: number;
  /** init-send connections waiting for their peer. */
  waiting: number;
  /** Spliced pairs. */
  pairs: number;
  /** Pairs spliced since start. */
  pairsTotal: number;
  /** Payload bytes relayed since start (both directions). */
  bytesRelayed: number;
  /** Refusals and forced closes by code. */
  refusals: Partial<Record<ProxyRefusal, number>>;
}

type ConnState = 'init' | 'checking' | 'waiting' | 'spliced' | 'closed';

interface Waiting {
  conn: ProxyConn;
  key: string;
  cookie: Uint8Array;
  port: number;
}

/** Failed joins (wrong PIN or names) a waiting cookie tolerates before it is locked. */
const MAX_JOIN_FAILURES = 8;

/** Strips the IPv4-mapped prefix so `::ffff:10.0.0.1` and `10.0.0.1` compare equal. */
function plainAddress(a: string | undefined): string | undefined {
  return a?.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '').toLowerCase();
}

class ProxyConn {
  state: ConnState = 'init';
  /** The user this connection is counted against (set once accepted). */
  key: string | undefined;
  /** The waiting slot `cookie/port` of an init-send. */
  slot: string | undefined;
  /** The peer's address, IPv4-mapped prefix stripped. */
  readonly address: string;
  private buf: Uint8Array = new Uint8Array(0);
  private timer: unknown;

  constructor(
    readonly proxy: RendezvousProxy,
    readonly socket: Socket,
  ) {
    this.address = plainAddress(socket.remoteAddress) ?? '?';
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('close', () => proxy.closed(this));
    socket.on('end', () => {
      if (this.state !== 'spliced') this.destroy();
    });
    socket.on('data', this.onData);
  }

  setTimer(fn: () => void, ms: number): void {
    this.clearTimer();
    this.timer = this.proxy.timers.set(fn, ms);
  }

  clearTimer(): void {
    if (this.timer !== undefined) this.proxy.timers.clear(this.timer);
    this.timer = undefined;
  }

  /** Handshake bytes (init state) and, while waiting, anything at all (a protocol violation). */
  private readonly onData = (chunk: Buffer): void => {
    if (this.state !== 'init') {
      this.proxy.refuse(this, 'UNEXPECTED_COMMAND');
      return;
    }
    const all = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let taken;
    try {
      taken = takeRvProxyPacket(all);
    } catch (e) {
      if (!WireError.is(e)) throw e;
      this.proxy.refuse(this, 'MALFORMED');
      return;
    }
    if (!taken) {
      this.buf = all.slice();
      return;
    }
    this.buf = new Uint8Array(0);
    // Nothing may follow the init packet before ready: the peer's bytes belong to the splice.
    if (taken.rest.length > 0) {
      this.proxy.refuse(this, 'UNEXPECTED_COMMAND');
      return;
    }
    // The handshake timer keeps running until the connection waits (pairing timer) or pairs: a directory lookup
    // that never answers cannot pin it.
    this.proxy.onInit(this, taken.packet.command, taken.packet.data);
  };

  /** Stops handshake reading (before the splice takes the socket over). */
  detach(): void {
    this.socket.pause();
    this.socket.off('data', this.onData);
  }

  destroy(): void {
    this.clearTimer();
    this.state = 'closed';
    this.socket.destroy();
  }
}

/** The rendezvous proxy listener. */
export class RendezvousProxy {
  /** Effective configuration. */
  readonly config: ProxyConfig;
  /** Timers. */
  readonly timers: ProxyTimers;
  /** Clock. */
  readonly clock: Clock;
  /** Per-user byte allowance. */
  readonly budget: ByteBudget;
  /** Counters (read through {@link RendezvousProxy.metrics}). */
  readonly counters = { bytesRelayed: 0, pairsTotal: 0, refusals: {} as Partial<Record<ProxyRefusal, number>> };
  private readonly deps: ProxyDeps;
  private readonly log: Logger;
  private readonly conns = new Set<ProxyConn>();
  private readonly perUser = new Map<string, number>();
  private readonly perAddress = new Map<string, number>();
  private readonly waiting = new Map<string, Waiting>();
  /** Waiting slots per cookie (hex), and failed joins naming a cookie that has one (the PIN brute-force guard). */
  private readonly waitingCookies = new Map<string, number>();
  private readonly joinFailures = new Map<string, number>();
  private readonly pairs = new Set<Splice>();
  private draining = 0;
  private server: Server | undefined;

  /** @param deps sessions, directory, rendezvous book, clock, config */
  constructor(deps: ProxyDeps) {
    this.deps = deps;
    this.config = { ...defaultProxyConfig(), ...deps.config };
    this.timers = deps.timers ?? nodeTimers;
    this.clock = deps.clock;
    this.log = deps.log ?? (() => {});
    this.budget = new ByteBudget(this.config.bytesPerUserPerHour, this.clock);
  }

  /** Starts listening; resolves with the bound port (0 picks a free one). */
  listen(host: string, port: number): Promise<number> {
    // allowHalfOpen: one peer's FIN must reach the other while the reverse direction keeps flowing.
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.accept(s));
    server.on('error', (e) => this.log('error', LogEvent.LISTENER_ERROR, { listener: 'proxy', error: String(e) }));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  }

  /** Stops listening and closes every proxy connection. */
  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    const closing = s ? new Promise<void>((resolve) => s.close(() => resolve())) : Promise.resolve();
    for (const p of [...this.pairs]) p.end(undefined);
    for (const c of [...this.conns]) c.destroy();
    await closing;
  }

  /** A snapshot of the counters. */
  metrics(): ProxyMetrics {
    return {
      connections: this.conns.size,
      waiting: this.waiting.size,
      pairs: this.pairs.size,
      pairsTotal: this.counters.pairsTotal,
      bytesRelayed: this.counters.bytesRelayed,
      refusals: { ...this.counters.refusals },
    };
  }

  /** Payload bytes held in user space across all pairs (backpressure keeps this near 4 x highWaterMark per pair). */
  bufferedBytes(): number {
    let n = 0;
    for (const p of this.pairs) n += p.buffered();
    return n;
  }

  private accept(socket: Socket): void {
    const conn = new ProxyConn(this, socket);
    if (this.conns.size >= this.config.maxConnections) {
      this.refuse(conn, 'SERVER_LIMIT');
      return;
    }
    const fromHere = this.perAddress.get(conn.address) ?? 0;
    if (fromHere >= this.config.maxConnectionsPerAddress) {
      this.refuse(conn, 'ADDRESS_LIMIT');
      return;
    }
    this.perAddress.set(conn.address, fromHere + 1);
    this.conns.add(conn);
    conn.setTimer(() => this.refuse(conn, 'HANDSHAKE_TIMEOUT'), this.config.handshakeTimeoutMs);
  }

  /** @internal The first packet of a connection. */
  onInit(conn: ProxyConn, command: number, data: Uint8Array): void {
    try {
      if (command === RvProxyCommand.InitSend) this.initSend(conn, decodeRvProxyInitSend(data));
      else if (command === RvProxyCommand.InitRecv) this.initRecv(conn, decodeRvProxyInitRecv(data));
      else this.refuse(conn, 'UNEXPECTED_COMMAND');
    } catch (e) {
      if (!WireError.is(e)) throw e;
      this.refuse(conn, 'MALFORMED');
    }
  }

  private initSend(conn: ProxyConn, m: RvProxyInitSend): void {
    const key = normalizeScreenName(m.screenName);
    const sessions = this.deps.registry.sessionsOf(key).filter((s) => s.ready && !s.closed);
    if (sessions.length === 0) return this.refuse(conn, 'NOT_SIGNED_ON', key);
    if (this.config.requireSessionAddress) {
      const from = plainAddress(conn.socket.remoteAddress);
      if (!sessions.some((s) => plainAddress(s.link.remoteAddress) === from)) return this.refuse(conn, 'ADDRESS_MISMATCH', key);
    }
    if ((this.perUser.get(key) ?? 0) >= this.config.maxConnectionsPerUser) return this.refuse(conn, 'USER_LIMIT', key);
    if (this.budget.remaining(key) < this.config.highWaterMark) return this.refuse(conn, 'BYTE_BUDGET', key);
    const cookie = m.cookie.slice();
    const cookieHex = toHex(cookie);
    let port = randomInt(1, 0x10000);
    while (this.waiting.has(`${cookieHex}/${port}`)) port = randomInt(1, 0x10000);
    this.countUser(conn, key);
    conn.state = 'waiting';
    const w: Waiting = { conn, key, cookie, port };
    conn.slot = `${cookieHex}/${port}`;
    this.waiting.set(conn.slot, w);
    this.waitingCookies.set(cookieHex, (this.waitingCookies.get(cookieHex) ?? 0) + 1);
    conn.setTimer(() => this.refuse(conn, 'PAIRING_TIMEOUT', key), this.config.pairingTimeoutMs);
    conn.socket.write(encodeRvProxyAck(port, this.ackAddress(conn.socket)));
    this.log('debug', LogEvent.PROXY_WAITING, { user: key, port });
  }

  private initRecv(conn: ProxyConn, m: RvProxyInitRecv): void {
    const key = normalizeScreenName(m.screenName);
    const cookieHex = toHex(m.cookie);
    const slot = `${cookieHex}/${m.port}`;
    // A legitimate acceptor has the PIN from the proposal; repeated misses on a waiting cookie are someone guessing
    // PINs (the cookie may have leaked from an earlier, direct proposal): the cookie is locked until its slots go.
    if ((this.joinFailures.get(cookieHex) ?? 0) >= MAX_JOIN_FAILURES) return this.refuse(conn, 'NO_RENDEZVOUS', key);
    const w = this.waiting.get(slot);
    const proposals = w ? this.deps.book.find(m.cookie, w.key, key).filter((r) => r.viaProxy && r.port === m.port) : [];
    if (!w || proposals.length === 0) {
      if (this.waitingCookies.has(cookieHex)) this.joinFailures.set(cookieHex, (this.joinFailures.get(cookieHex) ?? 0) + 1);
      return this.refuse(conn, 'NO_RENDEZVOUS', key);
    }
    conn.state = 'checking';
    conn.detach();
    this.deps.directory.sessionsOf(key).then(
      (entries) => {
        if (conn.state !== 'checking') return;
        if (!entries.some((e) => e.presence !== undefined)) return this.refuse(conn, 'NOT_SIGNED_ON', key);
        // The slot may have timed out, closed or paired meanwhile.
        if (this.waiting.get(slot) !== w || w.conn.state !== 'waiting') return this.refuse(conn, 'NO_RENDEZVOUS', key);
        if ((this.perUser.get(key) ?? 0) >= this.config.maxConnectionsPerUser) return this.refuse(conn, 'USER_LIMIT', key);
        if (this.budget.remaining(key) < this.config.highWaterMark) return this.refuse(conn, 'BYTE_BUDGET', key);
        this.countUser(conn, key);
        this.pair(w, slot, conn);
      },
      (e: unknown) => {
        this.log('warn', LogEvent.DELIVERY_FAILED, { operation: 'proxy directory lookup', error: e instanceof Error ? e.message : String(e) });
        this.refuse(conn, 'NOT_SIGNED_ON', key);
      },
    );
  }

  private pair(w: Waiting, slot: string, recv: ProxyConn): void {
    this.dropSlot(slot);
    const send = w.conn;
    send.clearTimer();
    recv.clearTimer();
    send.detach();
    send.state = 'spliced';
    recv.state = 'spliced';
    const ready = encodeRvProxyReady();
    send.socket.write(ready);
    recv.socket.write(ready);
    const from = w.key;
    const to = recv.key!;
    const splice: Splice = new Splice(send, recv, {
      clock: this.clock,
      timers: this.timers,
      idleTimeoutMs: this.config.idleTimeoutMs,
      highWaterMark: this.config.highWaterMark,
      charge: (n) => this.charge(from, to, n),
      onEnd: (cut) => {
        this.pairs.delete(splice);
        if (!cut) return;
        this.count(cut);
        this.log('info', LogEvent.PROXY_CLOSED, { reason: cut, from, to });
      },
    });
    this.pairs.add(splice);
    this.counters.pairsTotal++;
    splice.start();
    this.log('info', LogEvent.PROXY_PAIRED, { from, to });
  }

  /** Both users of a pair pay for every byte (once when a user proxies to their own other session). */
  private charge(from: string, to: string, n: number): boolean {
    if (!this.budget.take(from, n) || (to !== from && !this.budget.take(to, n))) return false;
    this.counters.bytesRelayed += n;
    return true;
  }

  /** @internal Sends the error for `reason` and closes (destroyed for good if the peer does not read it in 2 s). */
  refuse(conn: ProxyConn, reason: ProxyRefusal, user?: string): void {
    if (conn.state === 'closed') return;
    this.count(reason);
    this.log('info', LogEvent.PROXY_REFUSED, { reason, ...(user ? { user } : {}) });
    conn.detach();
    conn.state = 'closed';
    this.closed(conn);
    conn.socket.end(encodeRvProxyError(proxyErrorCodeFor(reason)));
    // Refused sockets linger (uncounted) so the error can be read; past maxConnections of them, none lingers.
    if (this.draining >= this.config.maxConnections) {
      conn.socket.destroy();
      return;
    }
    this.draining++;
    conn.setTimer(() => conn.socket.destroy(), 2000);
    conn.socket.once('close', () => {
      this.draining--;
      conn.clearTimer();
    });
  }

  private count(reason: ProxyRefusal): void {
    this.counters.refusals[reason] = (this.counters.refusals[reason] ?? 0) + 1;
  }

  private countUser(conn: ProxyConn, key: string): void {
    conn.key = key;
    this.perUser.set(key, (this.perUser.get(key) ?? 0) + 1);
  }

  /** @internal A connection is gone (closed or refused): release its slot and its user's count. Idempotent. */
  closed(conn: ProxyConn): void {
    if (!this.conns.delete(conn)) return;
    if (conn.state !== 'closed') conn.destroy();
    const n = (this.perAddress.get(conn.address) ?? 1) - 1;
    if (n > 0) this.perAddress.set(conn.address, n);
    else this.perAddress.delete(conn.address);
    if (conn.slot !== undefined && this.waiting.get(conn.slot)?.conn === conn) this.dropSlot(conn.slot);
    const key = conn.key;
    if (key !== undefined) {
      const u = (this.perUser.get(key) ?? 1) - 1;
      if (u > 0) this.perUser.set(key, u);
      else this.perUser.delete(key);
    }
  }

  private dropSlot(slot: string): void {
    if (!this.waiting.delete(slot)) return;
    const cookieHex = slot.slice(0, slot.indexOf('/'));
    const n = (this.waitingCookies.get(cookieHex) ?? 1) - 1;
    if (n > 0) this.waitingCookies.set(cookieHex, n);
    else {
      this.waitingCookies.delete(cookieHex);
      this.joinFailures.delete(cookieHex);
    }
  }

  private ackAddress(socket: Socket): Uint8Array {
    const configured = this.config.advertisedIpv4 !== undefined ? parseIpv4(this.config.advertisedIpv4) : undefined;
    return configured ?? parseIpv4(socket.localAddress ?? '') ?? new Uint8Array(4);
  }
}
