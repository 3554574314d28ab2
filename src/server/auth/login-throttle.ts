/**
 * Failed-login throttling per account and per client address: a sliding window of failure times. Once either
 * key exceeds its budget, logins are refused with "connecting too often" (PROTOCOL §2.1: 0x0018 / 0x001D)
 * before any password check runs, so guessing costs the attacker time and us no hashing.
 */

/** Limits for {@link LoginThrottle}. */
export interface LoginThrottleOptions {
  /** Failures allowed per account within the window. */
  perAccount: number;
  /** Failures allowed per address within the window. */
  perAddress: number;
  /** Window length in milliseconds. */
  windowMs: number;
}

/** Default limits: 5 per account, 20 per address, per 5 minutes. */
export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = { perAccount: 5, perAddress: 20, windowMs: 5 * 60_000 };

/** Which key is over budget. */
export type ThrottleState = 'ok' | 'account' | 'address';

/** Sliding-window failure counters. */
export class LoginThrottle {
  private readonly accounts = new Map<string, number[]>();
  private readonly addresses = new Map<string, number[]>();

  /** @param options limits */
  constructor(private readonly options: LoginThrottleOptions = DEFAULT_LOGIN_THROTTLE) {}

  /** Whether a login attempt for (account key, address) may proceed at `now`. */
  check(accountKey: string, address: string, now: number): ThrottleState {
    if (this.count(this.addresses, address, now) >= this.options.perAddress) return 'address';
    if (this.count(this.accounts, accountKey, now) >= this.options.perAccount) return 'account';
    return 'ok';
  }

  /** Records a failed attempt. */
  fail(accountKey: string, address: string, now: number): void {
    push(this.accounts, accountKey, now);
    push(this.addresses, address, now);
    if (this.accounts.size + this.addresses.size > 100_000) this.prune(now);
  }

  /** Clears the account's failures after a success (the address keeps its record). */
  succeed(accountKey: string): void {
    this.accounts.delete(accountKey);
  }

  /** Every account and address with failures in the window at `now`, most failures first (admin listing). */
  entries(now: number): Array<{ kind: 'account' | 'address'; key: string; failures: number; locked: boolean; retryAfterSeconds: number }> {
    const out = [];
    for (const [kind, map, limit] of [['account', this.accounts, this.options.perAccount], ['address', this.addresses, this.options.perAddress]] as const) {
      for (const key of [...map.keys()]) {
        const failures = this.count(map, key, now);
        if (failures === 0) continue;
        const oldest = map.get(key)![0]!;
        out.push({ kind, key, failures, locked: failures >= limit, retryAfterSeconds: Math.max(0, Math.ceil((oldest + this.options.windowMs - now) / 1000)) });
      }
    }
    return out.sort((a, b) => b.failures - a.failures);
  }

  /** Forgets an account's failures (`certim admin user unlock`); true when it had any. */
  unlock(accountKey: string): boolean {
    return this.accounts.delete(accountKey);
  }

  private count(map: Map<string, number[]>, key: string, now: number): number {
    const list = map.get(key);
    if (!list) return 0;
    const from = now - this.options.windowMs;
    while (list.length > 0 && list[0]! < from) list.shift();
    if (list.length === 0) map.delete(key);
    return list.length;
  }

  private prune(now: number): void {
    for (const map of [this.accounts, this.addresses]) for (const key of [...map.keys()]) this.count(map, key, now);
  }
}

function push(map: Map<string, number[]>, key: string, now: number): void {
  const list = map.get(key);
  if (list) {
    list.push(now);
    if (list.length > 1000) list.shift();
  } else map.set(key, [now]);
}
