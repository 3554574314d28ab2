/**
 * Bytes per user per hour through the rendezvous proxy (docs/protocol.md §8.3): a token bucket per user holding
 * at most one hour's allowance and refilled continuously, so a user can move `perHour` bytes in any hour and a
 * burst never exceeds one hour's worth.
 */
import type { Clock } from '../ports.js';

interface Bucket {
  tokens: number;
  at: number;
}

/** Per-user byte allowance. */
export class ByteBudget {
  private readonly buckets = new Map<string, Bucket>();

  /** @param perHour bytes per user per hour; @param clock time source */
  constructor(
    private readonly perHour: number,
    private readonly clock: Clock,
  ) {}

  /** Bytes `user` may still move now. */
  remaining(user: string): number {
    return this.refill(user).tokens;
  }

  /** Takes `n` bytes from `user`'s allowance; false (nothing taken) when fewer are left. */
  take(user: string, n: number): boolean {
    const b = this.refill(user);
    if (b.tokens < n) return false;
    b.tokens -= n;
    return true;
  }

  /** Forgets users whose bucket is full again (their state equals a fresh one); call now and then. */
  prune(): void {
    for (const [user, b] of this.buckets) if (this.refilled(b) >= this.perHour) this.buckets.delete(user);
  }

  private refilled(b: Bucket): number {
    const elapsed = Math.max(0, this.clock.now() - b.at);
    return Math.min(this.perHour, b.tokens + (elapsed * this.perHour) / 3_600_000);
  }

  private refill(user: string): Bucket {
    let b = this.buckets.get(user);
    if (!b) {
      if (this.buckets.size >= 10_000) this.prune();
      b = { tokens: this.perHour, at: this.clock.now() };
      this.buckets.set(user, b);
      return b;
    }
    b.tokens = this.refilled(b);
    b.at = this.clock.now();
    return b;
  }
}
