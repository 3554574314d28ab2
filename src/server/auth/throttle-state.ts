/**
 * Where login-throttle state lives (docs/protocol.md §2.1 login; the policy is in login-throttle.ts). The policy
 * needs one thing from storage: an atomic read-modify-write over a handful of small records, so that two logins
 * racing for the same account (on one node or on several nodes of a cluster) cannot both read "3 failures" and
 * both run a password check. The in-memory implementation below serves one process; the SQL one in
 * src/store/sql/throttle-sql.ts (table `login_throttle`) lets a cluster share the state through its database.
 *
 * Record keys are opaque strings built by the policy (`p:` pair, `a:` account, `i:` address, `g:` proven-good,
 * `s:` sign-off penalty); no secret ever goes into a key or a record.
 */

/** One throttle record: a counter, a token bucket level, a block-until time and the last update. */
export interface ThrottleRecord {
  /** A counter (failures of a pair, penalty level). */
  count: number;
  /** Token-bucket level in thousandths of a token (integers keep SQL dialects out of it). */
  milliTokens: number;
  /** Blocked (or, for proven-good records, valid) until this time, ms since the epoch; 0 = none. */
  until: number;
  /** Last change, ms since the epoch. */
  at: number;
  /** The record may be forgotten after this time, ms since the epoch. */
  expiresAt: number;
}

/** What a decision returns: its result and the records to write back (null deletes). */
export interface ThrottleDecision<T> {
  /** Passed through to the caller of {@link ThrottleStatePort.update}. */
  result: T;
  /** Records to store (replacing the old) or delete (null); keys not listed are left alone. */
  writes: ReadonlyMap<string, ThrottleRecord | null>;
}

/** Storage port of the login throttle: an atomic read-modify-write over a few records. */
export interface ThrottleStatePort {
  /**
   * Reads the live (unexpired at `now`) records for `keys`, calls `decide` with them, and stores its writes — all
   * atomically with respect to every other `update` touching any of those keys. `decide` must be synchronous and
   * free of side effects (an SQL implementation may retry it).
   */
  update<T>(keys: readonly string[], now: number, decide: (current: ReadonlyMap<string, ThrottleRecord>) => ThrottleDecision<T>): Promise<T>;
  /** The live records, at most `limit` of them (for the admin's view). */
  entries(now: number, limit: number): Promise<Array<[string, ThrottleRecord]>>;
  /** Deletes the records of one account (`a:`, `s:` and every `p:` pair ending in it); resolves to how many. */
  deleteAccount(account: string): Promise<number>;
}

/** Options of {@link MemoryThrottleState}. */
export interface MemoryThrottleOptions {
  /** Records kept at most; past it, expired ones are purged, then the least recently written (default 200,000). */
  maxRecords?: number;
}

/**
 * The single-process implementation: a Map. `update` runs `decide` and the writes without an await in between,
 * which makes it atomic on Node's one JavaScript thread. Memory is bounded (about 150 bytes per record).
 */
export class MemoryThrottleState implements ThrottleStatePort {
  readonly #records = new Map<string, ThrottleRecord>();
  readonly #max: number;

  /** @param options bounds */
  constructor(options: MemoryThrottleOptions = {}) {
    this.#max = options.maxRecords ?? 200_000;
  }

  /** Number of records held (for tests and metrics). */
  get size(): number {
    return this.#records.size;
  }

  /** {@inheritDoc ThrottleStatePort.update} */
  update<T>(keys: readonly string[], now: number, decide: (current: ReadonlyMap<string, ThrottleRecord>) => ThrottleDecision<T>): Promise<T> {
    const current = new Map<string, ThrottleRecord>();
    for (const k of keys) {
      const r = this.#records.get(k);
      if (r && r.expiresAt > now) current.set(k, r);
      else if (r) this.#records.delete(k);
    }
    let decision: ThrottleDecision<T>;
    try {
      decision = decide(current);
    } catch (e) {
      return Promise.reject(e);
    }
    for (const [k, r] of decision.writes) {
      this.#records.delete(k); // re-insert: Map order is then least recently written first
      if (r) this.#records.set(k, r);
    }
    if (this.#records.size > this.#max) this.#shrink(now);
    return Promise.resolve(decision.result);
  }

  /** {@inheritDoc ThrottleStatePort.entries} */
  entries(now: number, limit: number): Promise<Array<[string, ThrottleRecord]>> {
    const out: Array<[string, ThrottleRecord]> = [];
    for (const [k, r] of this.#records) {
      if (out.length >= limit) break;
      if (r.expiresAt > now) out.push([k, r]);
    }
    return Promise.resolve(out);
  }

  /** {@inheritDoc ThrottleStatePort.deleteAccount} */
  deleteAccount(account: string): Promise<number> {
    let n = 0;
    for (const k of [...this.#records.keys()]) {
      if (k === `a:${account}` || k === `s:${account}` || (k.startsWith('p:') && k.endsWith(` ${account}`))) {
        this.#records.delete(k);
        n++;
      }
    }
    return Promise.resolve(n);
  }

  #shrink(now: number): void {
    for (const [k, r] of this.#records) if (r.expiresAt <= now) this.#records.delete(k);
    // Still full (a flood of distinct keys): drop the least recently written tenth.
    let drop = this.#records.size > this.#max ? Math.ceil(this.#max / 10) : 0;
    for (const k of this.#records.keys()) {
      if (drop-- <= 0) break;
      this.#records.delete(k);
    }
  }
}
