/**
 * Replay protection for modern-profile Secure IMs: each signed message carries a random message id (ESS
 * contentIdentifier) and a signing time. A message is fresh once; ids are remembered for a window, and anything
 * signed before the window (or before the oldest id we had to forget to stay within the memory bound) is refused,
 * so a bounded cache never lets an old message through twice.
 */
import { toBase64 } from '../../wire/bytes.js';

/** Outcome of a replay check. */
export type ReplayOutcome = 'fresh' | 'replayed' | 'stale';

/**
 * What the decoder needs from a replay cache (tests and a persistent store may provide their own). Asynchronous, so
 * a browser can keep it in IndexedDB; the decoder awaits it. An implementation must check and record atomically
 * with respect to other calls (two concurrent calls for one id: one `fresh`, one `replayed`).
 */
export interface ReplayCache {
  /** Records (sender, id) if unseen and within the window; says why not otherwise. */
  checkAndRemember(sender: string, messageId: Uint8Array, signingTime: Date, now: Date): Promise<ReplayOutcome>;
}

/** Options of {@link MemoryReplayCache}. */
export interface MemoryReplayCacheOptions {
  /** How long ids are remembered, and the oldest signing time accepted. Default 7 days (offline IMs wait). */
  windowMs?: number;
  /** Largest accepted signing time ahead of `now` (clock skew). Default 10 minutes. */
  maxSkewMs?: number;
  /** Memory bound. Default 100,000 ids. */
  maxEntries?: number;
}

/** What a {@link MemoryReplayCache} remembers, for a store that persists it. */
export interface ReplayCacheState {
  /** Signing times at or below it are refused from every sender; -Infinity when none is (a store that lost its state sets it). */
  floor: number;
  /** (key, signing time ms), oldest first. */
  ids: [string, number][];
  /** Per sender: signing times at or below it are refused (that sender's ids were evicted early). */
  floors?: [string, number][];
}

/** The key a {@link MemoryReplayCache} remembers (sender, message id) under, as its state and a store's journal hold it. */
export function replayKey(sender: string, messageId: Uint8Array): string {
  return `${sender}\u0000${toBase64(messageId)}`;
}

/** Fewest per-sender floors at which a check sweeps out those older than the window. */
const FLOOR_SWEEP_MIN = 1024;

/** An in-memory, bounded replay cache. */
export class MemoryReplayCache implements ReplayCache {
  private seen = new Map<string, number>(); // key -> signing time (ms), in insertion order
  private floor = -Infinity; // signing times <= floor are refused from everyone (raiseFloor: state lost)
  /**
   * Per sender, signing times <= it are refused: that sender's ids we evicted early. Per sender, not one floor for
   * all: an evicted id may be signed up to maxSkewMs ahead, so one sender flooding the cache with future-dated ids
   * raised a shared floor past now and every modern IM from everyone was refused as stale for up to ten minutes.
   */
  private floors = new Map<string, number>();
  /** Size of {@link floors} past which the next check sweeps it. */
  private sweepFloorsAt = FLOOR_SWEEP_MIN;
  private readonly windowMs: number;
  private readonly maxSkewMs: number;
  private readonly maxEntries: number;

  constructor(opts: MemoryReplayCacheOptions = {}) {
    this.windowMs = opts.windowMs ?? 7 * 24 * 3600_000;
    this.maxSkewMs = opts.maxSkewMs ?? 10 * 60_000;
    this.maxEntries = opts.maxEntries ?? 100_000;
  }

  /** @inheritdoc */
  async checkAndRemember(sender: string, messageId: Uint8Array, signingTime: Date, now: Date): Promise<ReplayOutcome> {
    return this.check(sender, messageId, signingTime, now);
  }

  /** The synchronous check behind {@link checkAndRemember} (the file-backed store wraps it). */
  check(sender: string, messageId: Uint8Array, signingTime: Date, now: Date): ReplayOutcome {
    const t = signingTime.getTime();
    const n = now.getTime();
    if (!Number.isFinite(t) || t < n - this.windowMs || t > n + this.maxSkewMs || t <= this.floor || t <= (this.floors.get(sender) ?? -Infinity)) return 'stale';
    const key = replayKey(sender, messageId);
    if (this.seen.has(key)) return 'replayed';
    // Forget ids whose signing time left the window (insertion order is close to time order; stop at the first
    // entry still inside so the work per call stays small).
    for (const [k, kt] of this.seen) {
      if (kt >= n - this.windowMs) break;
      this.seen.delete(k);
    }
    this.evictDownTo(this.maxEntries - 1);
    // A floor older than the window refuses nothing the window does not: forget those, in a sweep whenever the map
    // has doubled since the last one (so a map of floors that are all still in the window is not swept per check).
    if (this.floors.size > this.sweepFloorsAt) {
      for (const [who, f] of this.floors) if (f < n - this.windowMs) this.floors.delete(who);
      this.sweepFloorsAt = Math.max(FLOOR_SWEEP_MIN, 2 * this.floors.size);
    }
    this.seen.set(key, t);
    return 'fresh';
  }

  /** Evicts the oldest ids until at most `n` remain, raising each evicted id's sender floor. */
  private evictDownTo(n: number): void {
    while (this.seen.size > n) {
      const [k, kt] = this.seen.entries().next().value as [string, number];
      this.seen.delete(k);
      this.raiseSenderFloor(k.slice(0, k.indexOf('\u0000')), kt);
    }
  }

  /**
   * Takes in ids another copy recorded since its last full state (a store's journal): each unknown one is added as
   * the newest, then the memory bound applies as in {@link check}. Cheap per id, unlike {@link merge}.
   */
  absorb(ids: Iterable<readonly [string, number]>): void {
    for (const [k, t] of ids) if (!this.seen.has(k)) this.seen.set(k, t);
    this.evictDownTo(this.maxEntries);
  }

  /** Number of remembered ids (for tests and metrics). */
  get size(): number {
    return this.seen.size;
  }

  /** What it remembers now (a persistent store writes this). */
  state(): ReplayCacheState {
    return { floor: this.floor, ids: [...this.seen], floors: [...this.floors] };
  }

  /**
   * Takes in what another copy remembered (a store's file, written by another process): the union of both sets of
   * ids, oldest first, and the higher floor. Past the memory bound the oldest are evicted as in {@link check} (each
   * raising its sender's floor), so nothing remembered is ever accepted again.
   */
  merge(other: ReplayCacheState): void {
    const merged = new Map<string, number>(other.ids);
    for (const [k, t] of this.seen) if (!merged.has(k)) merged.set(k, t);
    this.seen = new Map([...merged].sort((a, b) => a[1] - b[1]));
    this.raiseFloor(other.floor);
    for (const [who, f] of other.floors ?? []) this.raiseSenderFloor(who, f);
    this.evictDownTo(this.maxEntries);
  }

  private raiseSenderFloor(sender: string, t: number): void {
    if (t > (this.floors.get(sender) ?? -Infinity)) this.floors.set(sender, t);
  }

  /** Refuses every signing time at or below `t` from now on (never lowers the floor). */
  raiseFloor(t: number): void {
    if (t > this.floor) this.floor = t;
  }
}
