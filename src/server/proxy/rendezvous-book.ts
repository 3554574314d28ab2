/**
 * The live rendezvous proposals this node relayed (ICBM ch-2 `04/06` with a rendezvous block, docs/protocol.md
 * §8.1), remembered for a bounded time so the rendezvous proxy can check that a proxy session belongs to a real
 * rendezvous between two signed-on users (docs/protocol.md §8.3).
 *
 * Bounded: each record lives `ttlMs`; a sender keeps at most `maxPerUser` (its oldest is forgotten first) and the
 * node at most `maxTotal` (the oldest overall is forgotten first). Records expire in insertion order (one TTL), so
 * one FIFO queue sweeps them in O(1) amortised per insert. A cancel (type 1) forgets the rendezvous at once.
 */
import { toHex, WireError } from '../../wire/bytes.js';
import { RendezvousType, decodeRendezvousSummary } from '../../wire/rv-proxy.js';
import type { Clock, RendezvousObserver } from '../ports.js';

/** One remembered proposal. Names are normalized. */
export interface RendezvousRecord {
  /** Cookie, lowercase hex. */
  cookie: string;
  /** Who proposed. */
  from: string;
  /** To whom. */
  to: string;
  /** TLV 0x0005 port of the proposal, if any (for a proxied proposal: the proxy's ack port). */
  port: number | undefined;
  /** TLV 0x0010 present: the proposal points at a rendezvous proxy. */
  viaProxy: boolean;
  /** When it is forgotten (ms since the epoch). */
  expiresAt: number;
  /** Set once forgotten (evicted or cancelled) while still in the queue. */
  dead: boolean;
}

/** Limits of a {@link RendezvousBook}. */
export interface RendezvousBookOptions {
  /** How long a proposal stays live (default 10 minutes: a person may take a while to accept a file). */
  ttlMs: number;
  /** Live proposals per sender (default 64). */
  maxPerUser: number;
  /** Live proposals on this node (default 100,000: ~10 MB). */
  maxTotal: number;
}

/** Defaults of {@link RendezvousBookOptions}. */
export const DEFAULT_RENDEZVOUS_BOOK: RendezvousBookOptions = { ttlMs: 10 * 60_000, maxPerUser: 64, maxTotal: 100_000 };

/** The node's memory of live rendezvous proposals. */
export class RendezvousBook implements RendezvousObserver {
  private readonly opts: RendezvousBookOptions;
  private readonly byCookie = new Map<string, RendezvousRecord[]>();
  private readonly bySender = new Map<string, RendezvousRecord[]>();
  private queue: RendezvousRecord[] = [];
  private head = 0;
  private live = 0;

  /** @param clock time source; @param options limits (defaults {@link DEFAULT_RENDEZVOUS_BOOK}) */
  constructor(
    private readonly clock: Clock,
    options: Partial<RendezvousBookOptions> = {},
  ) {
    this.opts = { ...DEFAULT_RENDEZVOUS_BOOK, ...options };
  }

  /** Live records (for metrics and tests). */
  get size(): number {
    this.sweep();
    return this.live;
  }

  /**
   * {@inheritDoc RendezvousObserver.observe}
   * A malformed block is ignored here (the relay decides what to do with it; nothing is remembered).
   */
  observe(from: string, to: string, rv: Uint8Array): void {
    let s;
    try {
      s = decodeRendezvousSummary(rv);
    } catch (e) {
      if (WireError.is(e)) return;
      throw e;
    }
    const cookie = toHex(s.cookie);
    if (s.type === RendezvousType.Cancel) {
      for (const r of this.byCookie.get(cookie) ?? []) if ((r.from === from && r.to === to) || (r.from === to && r.to === from)) this.forget(r);
      return;
    }
    if (s.type !== RendezvousType.Propose) return;
    this.sweep();
    const mine = this.bySender.get(from) ?? [];
    while (mine.length >= this.opts.maxPerUser) this.forget(mine[0]!);
    while (this.live >= this.opts.maxTotal) this.evictOldest();
    const rec: RendezvousRecord = { cookie, from, to, port: s.port, viaProxy: s.viaProxy, expiresAt: this.clock.now() + this.opts.ttlMs, dead: false };
    push(this.byCookie, cookie, rec);
    push(this.bySender, from, rec);
    this.queue.push(rec);
    this.live++;
  }

  /** Live proposals with this cookie (8 bytes) from `from` to `to` (normalized), newest last. */
  find(cookie: Uint8Array, from: string, to: string): RendezvousRecord[] {
    const now = this.clock.now();
    return (this.byCookie.get(toHex(cookie)) ?? []).filter((r) => r.from === from && r.to === to && r.expiresAt > now);
  }

  /** Live proposals with this cookie in which `user` takes part (either side). */
  involving(cookie: Uint8Array, user: string): RendezvousRecord[] {
    const now = this.clock.now();
    return (this.byCookie.get(toHex(cookie)) ?? []).filter((r) => (r.from === user || r.to === user) && r.expiresAt > now);
  }

  private sweep(): void {
    const now = this.clock.now();
    while (this.head < this.queue.length) {
      const r = this.queue[this.head]!;
      if (!r.dead && r.expiresAt > now) break;
      if (!r.dead) this.forget(r);
      this.head++;
    }
    // Compact once the consumed prefix dominates (keeps the array bounded by the live records).
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private evictOldest(): void {
    while (this.head < this.queue.length) {
      const r = this.queue[this.head++]!;
      if (!r.dead) {
        this.forget(r);
        return;
      }
    }
  }

  private forget(r: RendezvousRecord): void {
    if (r.dead) return;
    r.dead = true;
    this.live--;
    remove(this.byCookie, r.cookie, r);
    remove(this.bySender, r.from, r);
  }
}

function push(m: Map<string, RendezvousRecord[]>, k: string, r: RendezvousRecord): void {
  const list = m.get(k);
  if (list) list.push(r);
  else m.set(k, [r]);
}

function remove(m: Map<string, RendezvousRecord[]>, k: string, r: RendezvousRecord): void {
  const list = m.get(k);
  if (!list) return;
  const i = list.indexOf(r);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) m.delete(k);
}
