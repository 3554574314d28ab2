/**
 * A global bound on password-hash work (scrypt: ~32 MiB and tens of milliseconds of a core each). Without it a
 * burst of guesses — even ones the throttle allows, spread over many accounts and addresses — queues hundreds of
 * hashes on libuv's pool and a real login waits seconds behind them. The gate runs at most `concurrency` checks
 * at once, queues at most `maxQueued` more, and refuses the rest at once ("busy": the caller answers "try again in
 * a second" without hashing). Proven-good clients (an address the account recently signed on from, a valid client
 * certificate) have their own small queue that is served first, so strangers filling the normal queue cannot
 * starve the account owner.
 */

/** Stable error code thrown when the gate is full. */
export const HASH_GATE_BUSY = 'HASH_GATE_BUSY';

/** Thrown by {@link HashGate.run} when both the running slots and the queue are full. */
export class HashGateBusyError extends Error {
  /** {@link HASH_GATE_BUSY}. */
  readonly code = HASH_GATE_BUSY;
  /** @param message reason */
  constructor(message = 'password checks are saturated; try again shortly') {
    super(message);
    this.name = 'HashGateBusyError';
  }

  /** True when `e` is a gate-busy refusal. */
  static is(e: unknown): e is HashGateBusyError {
    return e instanceof HashGateBusyError;
  }
}

/** Limits of {@link HashGate}. */
export interface HashGateOptions {
  /** Checks running at once (default 2: one per core of the hosts this runs on; libuv has 4 threads). */
  concurrency: number;
  /** Checks waiting in the normal queue (default 16: at ~60 ms a hash, under half a second of work). */
  maxQueued: number;
  /** Checks waiting in the priority queue of proven-good clients (default 16). */
  maxPriorityQueued: number;
}

/** Default gate limits. */
export const DEFAULT_HASH_GATE: Readonly<HashGateOptions> = { concurrency: 2, maxQueued: 16, maxPriorityQueued: 16 };

/** Bounded concurrency with a bounded two-class queue. */
export class HashGate {
  readonly #o: HashGateOptions;
  #running = 0;
  readonly #normal: Array<() => void> = [];
  readonly #priority: Array<() => void> = [];
  /** Refusals so far (for metrics). */
  refused = 0;

  /** @param options limits */
  constructor(options: Partial<HashGateOptions> = {}) {
    this.#o = { ...DEFAULT_HASH_GATE, ...options };
  }

  /** Checks running now. */
  get running(): number {
    return this.#running;
  }

  /** Checks waiting now. */
  get queued(): number {
    return this.#normal.length + this.#priority.length;
  }

  /**
   * Runs `work` when a slot is free. Rejects at once with {@link HashGateBusyError} (without calling `work`) when
   * all slots are busy and the caller's queue is full.
   */
  async run<T>(work: () => Promise<T>, priority = false): Promise<T> {
    if (this.#running >= this.#o.concurrency) {
      const queue = priority ? this.#priority : this.#normal;
      if (queue.length >= (priority ? this.#o.maxPriorityQueued : this.#o.maxQueued)) {
        this.refused++;
        throw new HashGateBusyError();
      }
      await new Promise<void>((resolve) => queue.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next waiter (priority first); otherwise free it.
      const next = this.#priority.shift() ?? this.#normal.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
