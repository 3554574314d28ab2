/**
 * Login-throttle records, shared by every node that uses this database (the policy is server/auth/login-throttle.ts,
 * whose `ThrottleStatePort` this satisfies). Only counters and times, keyed by address and screen name; no secrets.
 */

/** One record (see server/auth/throttle-state.ts for the meaning of each field). */
export interface LoginThrottleRecord {
  /** A counter. */
  count: number;
  /** Token-bucket level in thousandths. */
  milliTokens: number;
  /** Blocked / valid until, ms since the epoch (0 = none). */
  until: number;
  /** Last change, ms since the epoch. */
  at: number;
  /** Dead after this time, ms since the epoch. */
  expiresAt: number;
}

/** Atomic read-modify-write over a few records. */
export interface LoginThrottleStore {
  /**
   * Locks the records for `keys`, passes the live ones (expiresAt > now) to `decide`, stores its writes (null
   * deletes) and commits; `decide` is synchronous and may be called again if the transaction is retried.
   */
  update<T>(
    keys: readonly string[],
    now: number,
    decide: (current: ReadonlyMap<string, LoginThrottleRecord>) => { result: T; writes: ReadonlyMap<string, LoginThrottleRecord | null> },
  ): Promise<T>;
  /** The live records (expiresAt > now), at most `limit`, for the admin's view. */
  entries(now: number, limit: number): Promise<Array<[string, LoginThrottleRecord]>>;
  /** Deletes the account's records (`a:NAME`, `s:NAME`, every `p:ADDRESS NAME`); resolves to how many. */
  deleteAccount(account: string): Promise<number>;
}
