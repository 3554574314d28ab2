/**
 * Gives back what a burst leaves behind, once the burst is over (docs/performance.md §2.5).
 *
 * A burst of sign-ons (or the server's own start-up) makes V8 grow its young generation to two 16 MB semi-spaces,
 * because the state each new session keeps survives the scavenges that run during the burst. V8 shrinks it again only
 * at a GC that finds the allocation rate of the last ~5 s low, and an idle server allocates almost nothing, so no GC
 * comes: the ~30 MB stay resident for minutes, ~30 KB per session at 1,000 sessions. Node offers one way to ask V8
 * for a memory-reducing collection, the inspector's `HeapProfiler.collectGarbage` (V8's low-memory notification:
 * full GCs that also shrink the young generation); a plain `gc()` does not shrink it.
 *
 * So the server trims once when start-up is done ({@link MemoryTrim.trimNow}) and calls {@link MemoryTrim.activity}
 * on each sign-on; when no sign-on has come for `quietMs`, the event loop was mostly idle meanwhile, and the burst
 * grew the young generation (to `minYoungBytes` or more), it runs that collection. A burst that did not grow it further
 * than it was when the burst began is left alone: traffic grew it and is using it. The collection pauses the process for
 * the length of a few full GCs (tens of ms on a heap of tens of MB), so it runs only when idle, so seldom that trims
 * take at most `maxPauseShare` of the time, and never on a heap above `maxHeapBytes`, where the pause would be long
 * and the grown young generation a small share of the process anyway.
 */
import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';

/** What the trim reads of the heap. */
export interface HeapFigures {
  /** Committed bytes of the young generation (V8's new space). */
  youngBytes: number;
  /** Committed bytes of the whole V8 heap. */
  heapBytes: number;
}

/** When to trim. */
export interface MemoryTrimConfig {
  /** Time without a sign-on that ends a burst, ms. */
  quietMs: number;
  /** Event-loop utilisation (0..1) since the burst's last sign-on above which the process is busy: try later. */
  maxBusy: number;
  /** How long to wait before looking again when busy, ms. */
  busyRetryMs: number;
  /** How long after a burst's last sign-on it may still be trimmed, ms; later, traffic owns the young generation. */
  giveUpMs: number;
  /** Young-generation size from which a trim is worth its pause, bytes. */
  minYoungBytes: number;
  /** Heap size above which no trim runs (its pause grows with the heap), bytes. */
  maxHeapBytes: number;
  /** Largest share of time trims may pause the process: after a pause of p ms the next trim waits p / share ms. */
  maxPauseShare: number;
}

/**
 * Defaults: a burst ends after 50 ms without a sign-on; the young generation must have grown to 8 MB semi-spaces or
 * more (it starts at 1 MB; 16 MB is V8's maximum on 64-bit); trims take at most 5 % of the time.
 */
export const DEFAULT_MEMORY_TRIM: MemoryTrimConfig = {
  quietMs: 50,
  maxBusy: 0.2,
  busyRetryMs: 250,
  giveUpMs: 1000,
  minYoungBytes: 12 * 1024 * 1024,
  maxHeapBytes: 256 * 1024 * 1024,
  maxPauseShare: 0.05,
};

/** The process-facing parts, injected by tests. */
export interface MemoryTrimDeps {
  /** Current heap figures. */
  heap(): HeapFigures;
  /** Runs one memory-reducing collection. */
  collect(): Promise<void>;
  /** Event-loop utilisation since the previous call (0..1). */
  busy(): number;
  /** Monotonic clock, ms. */
  now(): number;
  /** Runs `fn` after `ms` without keeping the process alive; returns a cancel function. */
  schedule(ms: number, fn: () => void): () => void;
}

/** One trim, for the caller's log. */
export interface TrimReport {
  /** Young generation before and after, bytes. */
  youngBefore: number;
  youngAfter: number;
  /** Whole heap before and after, bytes. */
  heapBefore: number;
  heapAfter: number;
  /** How long the collection took, ms (the pause, plus the turn the inspector's answer waits for: an upper bound). */
  pauseMs: number;
}

/** Watches for the end of bursts and trims the heap after them (see the file comment). */
export class MemoryTrim {
  readonly #config: MemoryTrimConfig;
  readonly #deps: MemoryTrimDeps;
  readonly #onTrim: (r: TrimReport) => void;
  readonly #onError: (e: unknown) => void;
  #lastActivity = -Infinity;
  #nextAllowed = -Infinity;
  #cancel: (() => void) | undefined;
  /** Young-generation size when the current burst's first sign-on came. */
  #youngAtStart = 0;
  #running = false;
  /** A sign-on came while a collection ran: look again after it. */
  #missed = false;
  #closed = false;

  /**
   * @param deps the process (heap, collection, loop utilisation, clock, timers)
   * @param onTrim told after each trim
   * @param onError told when a collection fails (the trim then stays off)
   * @param config overrides of {@link DEFAULT_MEMORY_TRIM}
   */
  constructor(deps: MemoryTrimDeps, onTrim: (r: TrimReport) => void, onError: (e: unknown) => void, config: Partial<MemoryTrimConfig> = {}) {
    this.#deps = deps;
    this.#config = { ...DEFAULT_MEMORY_TRIM, ...config };
    this.#onTrim = onTrim;
    this.#onError = onError;
  }

  /** A sign-on happened: look again once `quietMs` pass without another. O(1); at most one timer. */
  activity(): void {
    if (this.#closed) return;
    this.#lastActivity = this.#deps.now();
    this.#deps.busy(); // the loop's utilisation is judged over the time since the last sign-on
    if (this.#running) {
      this.#missed = true;
    } else if (this.#cancel === undefined) {
      this.#youngAtStart = this.#deps.heap().youngBytes; // the first sign-on of a burst
      this.#arm(this.#config.quietMs);
    }
  }

  /** Stops watching. */
  close(): void {
    this.#closed = true;
    this.#cancel?.();
    this.#cancel = undefined;
  }

  #arm(ms: number): void {
    this.#cancel = this.#deps.schedule(ms, () => {
      this.#cancel = undefined;
      this.#check();
    });
  }

  /**
   * Trims now if the young generation is grown and the heap small enough, whether or not the process is quiet
   * (main.ts calls it once when start-up is done, before the server says it is ready). Resolves when done.
   */
  trimNow(): Promise<void> {
    if (this.#closed || this.#running) return Promise.resolve();
    return this.#trim();
  }

  #check(): void {
    if (this.#closed) return;
    const c = this.#config;
    const now = this.#deps.now();
    const quietFor = now - this.#lastActivity;
    if (quietFor < c.quietMs) return this.#arm(c.quietMs - quietFor);
    if (now < this.#nextAllowed) {
      // Within the pause budget of the last trim: wait for it, unless that is past giveUpMs (then the burst is V8's).
      if (this.#nextAllowed - this.#lastActivity <= c.giveUpMs) this.#arm(this.#nextAllowed - now);
      return;
    }
    if (this.#deps.busy() > c.maxBusy) {
      // Still busy: look again a little later, but only for a while; traffic that follows a burst keeps it busy,
      // grows the young generation on its own and needs it, and a pause in the middle of it would cost latency.
      if (quietFor + c.busyRetryMs <= c.giveUpMs) this.#arm(c.busyRetryMs);
      return;
    }
    // Only what the burst itself grew: a young generation that traffic had grown as far is in use, and stays.
    const heap = this.#deps.heap();
    if (heap.youngBytes <= this.#youngAtStart) return;
    void this.#trim(heap);
  }

  /** Runs the collection if `before` (the heap now) is worth it and small enough. */
  async #trim(before: HeapFigures = this.#deps.heap()): Promise<void> {
    const c = this.#config;
    if (before.youngBytes < c.minYoungBytes || before.heapBytes > c.maxHeapBytes) return;
    this.#running = true;
    const t0 = this.#deps.now();
    try {
      await this.#deps.collect();
      const pauseMs = this.#deps.now() - t0;
      this.#nextAllowed = t0 + pauseMs + pauseMs / c.maxPauseShare;
      const after = this.#deps.heap();
      if (!this.#closed) this.#onTrim({ youngBefore: before.youngBytes, youngAfter: after.youngBytes, heapBefore: before.heapBytes, heapAfter: after.heapBytes, pauseMs });
    } catch (e) {
      this.#closed = true;
      this.#onError(e);
    } finally {
      this.#running = false;
      // Sign-ons that came while the collection ran (its answer takes a turn or two): look again for them.
      if (this.#missed && !this.#closed && this.#cancel === undefined) {
        this.#youngAtStart = this.#deps.heap().youngBytes;
        this.#arm(c.quietMs);
      }
      this.#missed = false;
    }
  }
}

/** The young generation and whole heap of this process, from V8. */
export function processHeapFigures(): HeapFigures {
  const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return { youngBytes: young?.space_size ?? 0, heapBytes: getHeapStatistics().total_heap_size };
}

/**
 * A memory-reducing collection through an in-process inspector session (V8's low-memory notification), or
 * undefined when this Node has no inspector. The session is opened for the one call and closed after it.
 */
export async function inspectorCollect(): Promise<(() => Promise<void>) | undefined> {
  let inspector: typeof import('node:inspector');
  try {
    inspector = await import('node:inspector');
  } catch {
    return undefined; // built without the inspector (ERR_INSPECTOR_NOT_AVAILABLE)
  }
  return () => new Promise<void>((resolve, reject) => {
    const session = new inspector.Session();
    session.connect();
    session.post('HeapProfiler.collectGarbage', (err) => {
      // Disconnecting inside the callback hangs the process (Node 20): do it on the next turn.
      setImmediate(() => {
        session.disconnect();
        if (err) reject(err);
        else resolve();
      });
    });
  });
}

/** The real process: V8's figures, the inspector's collection, the loop's utilisation, unref'd timers. */
export async function processTrimDeps(): Promise<MemoryTrimDeps | undefined> {
  const collect = await inspectorCollect();
  if (!collect) return undefined;
  let last = performance.eventLoopUtilization();
  return {
    heap: processHeapFigures,
    collect,
    busy() {
      const next = performance.eventLoopUtilization();
      const u = performance.eventLoopUtilization(next, last).utilization;
      last = next;
      return u;
    },
    now: () => performance.now(),
    schedule(ms, fn) {
      const t = setTimeout(fn, ms);
      t.unref();
      return () => clearTimeout(t);
    },
  };
}
