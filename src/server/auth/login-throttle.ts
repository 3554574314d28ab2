/**
 * Login throttling for every password check (BUCP 17/02 on both OSCAR ports, EST HTTP Basic; docs/protocol.md
 * §2.1). Designed so that it holds under concurrency and so that nobody can turn it against the account owner:
 *
 * 1. **Charge before checking.** {@link LoginThrottle.attempt} first records the attempt as a failure (one atomic
 *    read-modify-write in the {@link ThrottleStatePort}), then runs the password check, then refunds the charge if
 *    the password was right. Attempts already in flight therefore count: a burst of 500 parallel guesses sees the
 *    counters move one by one, and all but the first few are refused without hashing.
 * 2. **Keys.** Failures are counted per (account, address) pair with an exponential delay: `pairFreeFailures`
 *    free, then `pairBaseDelayMs` doubling up to `pairMaxDelayMs`. Above that, token buckets per account (all
 *    addresses) and per address (all accounts; spraying) form a higher ceiling. IPv6 addresses count per /64.
 * 3. **Proven-good clients pass the ceilings.** An address the account signed on from successfully within
 *    `provenTtlMs`, or a caller that proved itself otherwise (a valid client certificate on EST), skips the account
 *    and address buckets — strangers exhausting the account's budget cannot lock its owner out. The pair delay
 *    still applies (it only ever holds back guesses from that same address).
 * 4. **Global hash budget.** Checks that hash (scrypt) run through a {@link HashGate}: a bounded number at once, a
 *    bounded queue, the rest refused at once ("busy", retry in a second), proven-good callers queued first.
 * 5. **Rate-limit sign-off back-off.** A session disconnected for flooding gives its account a short block before
 *    the next sign-on ({@link LoginThrottle.penalize}), doubling for repeats. Only a signed-on session (someone
 *    who has the password) can trigger it.
 *
 * Every refusal says how long to wait (`retryAfterMs`); callers put it in the OSCAR login error URL or the EST
 * `Retry-After` header, and log it. Budgets: see {@link pairBudget} and the README's server section.
 */
import { isIPv6 } from 'node:net';
import { HashGate, HashGateBusyError, type HashGateOptions } from './hash-gate.js';
import { MemoryThrottleState, type ThrottleRecord, type ThrottleStatePort } from './throttle-state.js';

/** Limits of {@link LoginThrottle}. */
export interface LoginThrottleOptions {
  /** Failed checks per (account, address) before delays start. */
  pairFreeFailures: number;
  /** First delay after the free failures, ms; doubles with every further failure. */
  pairBaseDelayMs: number;
  /** Largest delay between two checks of one pair, ms. */
  pairMaxDelayMs: number;
  /** A pair's failures are forgotten this long after its last failure, ms. */
  pairForgetMs: number;
  /** Account-wide ceiling: checks from addresses not proven good, as a bucket of this size... */
  accountBurst: number;
  /** ...refilled at this many checks per hour. */
  accountRefillPerHour: number;
  /** Per-address ceiling over all accounts (password spraying): bucket size... */
  addressBurst: number;
  /** ...and refill per hour. */
  addressRefillPerHour: number;
  /** How long an address stays proven good for an account after a successful sign-on, ms. */
  provenTtlMs: number;
  /** Block after a rate-limit sign-off, ms; doubles for each repeat within `penaltyForgetMs`. */
  penaltyBaseMs: number;
  /** Largest sign-off block, ms. */
  penaltyMaxMs: number;
  /** Sign-off penalties are forgotten after this long, ms. */
  penaltyForgetMs: number;
  /** Global password-hash gate. */
  hashGate: Partial<HashGateOptions>;
}

/**
 * Defaults. One address guessing one account gets 3 checks at once, then one after 1 s, 2 s, 4 s ... up to one
 * every 15 min ({@link pairBudget}: 6 in the first 10 s, 8 in the first minute, 15 in the first hour, 107 in
 * the first day). All strangers together get at most 30 checks per account per hour beyond a burst of 30, and
 * one address at most 60 checks per hour over all accounts beyond a burst of 60.
 */
export const DEFAULT_LOGIN_THROTTLE: Readonly<LoginThrottleOptions> = {
  pairFreeFailures: 3,
  pairBaseDelayMs: 1_000,
  pairMaxDelayMs: 15 * 60_000,
  pairForgetMs: 24 * 3_600_000,
  accountBurst: 30,
  accountRefillPerHour: 30,
  addressBurst: 60,
  addressRefillPerHour: 60,
  provenTtlMs: 30 * 24 * 3_600_000,
  penaltyBaseMs: 10_000,
  penaltyMaxMs: 5 * 60_000,
  penaltyForgetMs: 30 * 60_000,
  hashGate: {},
};

/** Which limit refused an attempt. */
export type ThrottleScope = 'pair' | 'account' | 'address' | 'penalty';

/** Result of {@link LoginThrottle.attempt}. */
export type LoginAttemptOutcome =
  | { status: 'ok'; proven: boolean }
  | { status: 'bad' }
  | { status: 'throttled'; scope: ThrottleScope; retryAfterMs: number }
  | { status: 'busy'; retryAfterMs: number };

/** Who is trying. */
export interface LoginAttempt {
  /** Normalized screen name (the account key). */
  account: string;
  /** Remote address as the socket reports it. */
  address: string;
  /** The caller already proved itself (a valid client certificate for this account). */
  proven?: boolean;
  /** The check runs a password hash and must go through the hash gate (default true). */
  hashes?: boolean;
}

/** One throttle record as the admin sees it (`certim admin` throttle list). */
export interface ThrottleEntry {
  /** `pair` (key = "address account"), `account`, `address`, or `penalty` (a rate-limit sign-off back-off). */
  kind: 'pair' | 'account' | 'address' | 'penalty';
  /** The account, address, or "address account". */
  key: string;
  /** Failures counted (pairs), checks spent from the bucket (account, address), or the penalty level. */
  failures: number;
  /** True when attempts for this key are refused now. */
  locked: boolean;
  /** Seconds until it stops refusing (0 when not locked). */
  retryAfterSeconds: number;
}

/** Counters for /metrics. */
export interface LoginThrottleStats {
  /** Password checks actually run. */
  checks: number;
  /** Attempts refused by a limit, without a check. */
  throttled: number;
  /** Attempts refused because the hash gate was full. */
  busy: number;
}

/** The record keys of one attempt. */
interface ThrottleKeys {
  pair: string;
  account: string;
  address: string;
  proven: string;
  penalty: string;
}

const BUSY_RETRY_MS = 1_000;
const TOKEN = 1000;
const HOUR = 3_600_000;

/** The address as a throttle key: IPv4-mapped IPv6 as IPv4, other IPv6 by /64 (one host holds a whole /64). */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** Delay after the n-th charged failure of a pair (0 while failures are free). */
export function pairDelayMs(failures: number, o: LoginThrottleOptions = DEFAULT_LOGIN_THROTTLE): number {
  if (failures < o.pairFreeFailures) return 0;
  return Math.min(o.pairMaxDelayMs, o.pairBaseDelayMs * 2 ** Math.min(40, failures - o.pairFreeFailures));
}

/**
 * The documented budget: the most password checks one address can have run against one account within
 * `elapsedMs` of its first guess, all wrong (attempts timed perfectly; the account and address buckets may cut it
 * lower).
 */
export function pairBudget(elapsedMs: number, o: LoginThrottleOptions = DEFAULT_LOGIN_THROTTLE): number {
  let n = 0;
  let t = 0;
  while (t <= elapsedMs) {
    n++;
    t += pairDelayMs(n, o);
    if (n > 1e6) break;
  }
  return n;
}

function refill(r: ThrottleRecord | undefined, burst: number, perHour: number, now: number): number {
  if (!r) return burst * TOKEN;
  // max(0, ...): a record written by a node whose clock runs ahead must not drain the bucket here.
  return Math.min(burst * TOKEN, r.milliTokens + Math.floor((Math.max(0, now - r.at) * perHour * TOKEN) / HOUR));
}

/** A bucket's record at `milliTokens`, or null (delete) when it is full: a full bucket and no record read the same. */
function bucket(milliTokens: number, now: number, burst: number, perHour: number): ThrottleRecord | null {
  if (milliTokens >= burst * TOKEN) return null;
  // Forget the record once it would have refilled completely.
  const full = Math.ceil(((burst * TOKEN - milliTokens) * HOUR) / (perHour * TOKEN));
  return { count: 0, milliTokens, until: 0, at: now, expiresAt: now + Math.max(1, full) };
}

/** The login throttle: policy over a {@link ThrottleStatePort}, plus the global {@link HashGate}. */
export class LoginThrottle {
  /** Effective limits. */
  readonly options: LoginThrottleOptions;
  /** The hash gate (shared by every password check of this process). */
  readonly gate: HashGate;
  /** Counters. */
  readonly stats: LoginThrottleStats = { checks: 0, throttled: 0, busy: 0 };
  readonly #state: ThrottleStatePort;
  readonly #now: () => number;

  /**
   * @param options limits
   * @param state where records live (default: in memory; pass the store's SQL table to share it in a cluster)
   * @param now clock, ms since the epoch
   */
  constructor(options: Partial<LoginThrottleOptions> = {}, state: ThrottleStatePort = new MemoryThrottleState(), now: () => number = Date.now) {
    this.options = { ...DEFAULT_LOGIN_THROTTLE, ...options };
    this.gate = new HashGate(this.options.hashGate);
    this.#state = state;
    this.#now = now;
  }

  /**
   * Charges an attempt, runs `check` (true = the password matched) unless a limit refuses it, and settles: a right
   * password refunds the charge, resets the pair's failures and marks the address proven good for the account.
   */
  async attempt(who: LoginAttempt, check: () => Promise<boolean>): Promise<LoginAttemptOutcome> {
    const keys = this.#keys(who);
    const all = [keys.pair, keys.account, keys.address, keys.proven, keys.penalty];
    let now = this.#now();
    const verdict = await this.#state.update(all, now, (cur) => this.#reserve(who, keys, cur, now));
    if (!verdict.allowed) {
      this.stats.throttled++;
      return { status: 'throttled', scope: verdict.scope, retryAfterMs: verdict.retryAfterMs };
    }
    let ok: boolean;
    try {
      ok = who.hashes === false ? await this.#counted(check) : await this.gate.run(() => this.#counted(check), verdict.proven);
    } catch (e) {
      if (!HashGateBusyError.is(e)) throw e; // a store failure mid-check: the charge stands
      this.stats.busy++;
      now = this.#now();
      await this.#state.update(all, now, (cur) => this.#refund(keys, cur, now, verdict.proven, false));
      return { status: 'busy', retryAfterMs: BUSY_RETRY_MS };
    }
    if (!ok) return { status: 'bad' };
    now = this.#now();
    await this.#state.update(all, now, (cur) => this.#refund(keys, cur, now, verdict.proven, true));
    return { status: 'ok', proven: verdict.proven };
  }

  /** After a rate-limit sign-off: blocks the account's next sign-on for a short, doubling time; resolves to it (ms). */
  penalize(account: string): Promise<number> {
    const now = this.#now();
    const key = `s:${account}`;
    const o = this.options;
    return this.#state.update([key], now, (cur) => {
      const prev = cur.get(key);
      const level = prev ? prev.count + 1 : 1;
      const ms = Math.min(o.penaltyMaxMs, o.penaltyBaseMs * 2 ** Math.min(30, level - 1));
      const rec: ThrottleRecord = { count: level, milliTokens: 0, until: now + ms, at: now, expiresAt: now + ms + o.penaltyForgetMs };
      return { result: ms, writes: new Map([[key, rec]]) };
    });
  }

  /** The live records as the admin sees them, most failures first (at most 1,000). */
  async entries(now: number = this.#now()): Promise<ThrottleEntry[]> {
    const o = this.options;
    const out: ThrottleEntry[] = [];
    for (const [k, r] of await this.#state.entries(now, 1000)) {
      const kind = ({ p: 'pair', a: 'account', i: 'address', s: 'penalty' } as const)[k[0] as 'p' | 'a' | 'i' | 's'];
      if (!kind) continue; // proven-good marks are not limits
      const key = k.slice(2);
      if (kind === 'account' || kind === 'address') {
        const [burst, perHour] = kind === 'account' ? [o.accountBurst, o.accountRefillPerHour] : [o.addressBurst, o.addressRefillPerHour];
        const level = refill(r, burst, perHour, now);
        const wait = level < TOKEN ? ((TOKEN - level) * HOUR) / (perHour * TOKEN) : 0;
        out.push({ kind, key, failures: Math.round(burst - level / TOKEN), locked: wait > 0, retryAfterSeconds: Math.ceil(wait / 1000) });
      } else {
        const wait = Math.max(0, r.until - now);
        out.push({ kind, key, failures: r.count, locked: wait > 0, retryAfterSeconds: Math.ceil(wait / 1000) });
      }
    }
    return out.sort((a, b) => b.failures - a.failures);
  }

  /** Forgets an account's failures, ceiling and sign-off back-off (`certim admin user unlock`); true when it had any. */
  async unlock(accountKey: string): Promise<boolean> {
    return (await this.#state.deleteAccount(accountKey)) > 0;
  }

  async #counted(check: () => Promise<boolean>): Promise<boolean> {
    this.stats.checks++;
    return check();
  }

  #keys(who: LoginAttempt): ThrottleKeys {
    const addr = addressKey(who.address);
    return { pair: `p:${addr} ${who.account}`, account: `a:${who.account}`, address: `i:${addr}`, proven: `g:${addr} ${who.account}`, penalty: `s:${who.account}` };
  }

  #reserve(
    who: LoginAttempt,
    keys: ThrottleKeys,
    cur: ReadonlyMap<string, ThrottleRecord>,
    now: number,
  ): { result: { allowed: true; proven: boolean } | { allowed: false; scope: ThrottleScope; retryAfterMs: number }; writes: Map<string, ThrottleRecord | null> } {
    const o = this.options;
    const none = new Map<string, ThrottleRecord | null>();
    const refuse = (scope: ThrottleScope, retryAfterMs: number) => ({ result: { allowed: false as const, scope, retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)) }, writes: none });
    const penalty = cur.get(keys.penalty);
    if (penalty && penalty.until > now) return refuse('penalty', penalty.until - now);
    const pair = cur.get(keys.pair);
    if (pair && pair.until > now) return refuse('pair', pair.until - now);
    const proven = who.proven === true || (cur.get(keys.proven)?.until ?? 0) > now;
    const writes = new Map<string, ThrottleRecord | null>();
    if (!proven) {
      const acc = refill(cur.get(keys.account), o.accountBurst, o.accountRefillPerHour, now);
      if (acc < TOKEN) return refuse('account', ((TOKEN - acc) * HOUR) / (o.accountRefillPerHour * TOKEN));
      const adr = refill(cur.get(keys.address), o.addressBurst, o.addressRefillPerHour, now);
      if (adr < TOKEN) return refuse('address', ((TOKEN - adr) * HOUR) / (o.addressRefillPerHour * TOKEN));
      writes.set(keys.account, bucket(acc - TOKEN, now, o.accountBurst, o.accountRefillPerHour));
      writes.set(keys.address, bucket(adr - TOKEN, now, o.addressBurst, o.addressRefillPerHour));
    }
    const failures = (pair?.count ?? 0) + 1;
    const delay = pairDelayMs(failures, o);
    writes.set(keys.pair, { count: failures, milliTokens: 0, until: delay > 0 ? now + delay : 0, at: now, expiresAt: now + delay + o.pairForgetMs });
    return { result: { allowed: true, proven }, writes };
  }

  #refund(
    keys: ThrottleKeys,
    cur: ReadonlyMap<string, ThrottleRecord>,
    now: number,
    proven: boolean,
    success: boolean,
  ): { result: undefined; writes: Map<string, ThrottleRecord | null> } {
    const o = this.options;
    const writes = new Map<string, ThrottleRecord | null>();
    if (!proven) {
      const acc = refill(cur.get(keys.account), o.accountBurst, o.accountRefillPerHour, now);
      writes.set(keys.account, bucket(Math.min(o.accountBurst * TOKEN, acc + TOKEN), now, o.accountBurst, o.accountRefillPerHour));
      const adr = refill(cur.get(keys.address), o.addressBurst, o.addressRefillPerHour, now);
      writes.set(keys.address, bucket(Math.min(o.addressBurst * TOKEN, adr + TOKEN), now, o.addressBurst, o.addressRefillPerHour));
    }
    if (success) {
      writes.set(keys.pair, null);
      writes.set(keys.proven, { count: 0, milliTokens: 0, until: now + o.provenTtlMs, at: now, expiresAt: now + o.provenTtlMs });
    } else {
      // The check never ran (gate full): give the failure back, keep any delay already set.
      const pair = cur.get(keys.pair);
      if (pair) writes.set(keys.pair, pair.count <= 1 && pair.until <= now ? null : { ...pair, count: Math.max(0, pair.count - 1) });
    }
    return { result: undefined, writes };
  }
}
