/**
 * Random bytes for content keys, IVs, nonces and message ids, drawn from a pooled CSPRNG buffer: one
 * `randomFillSync` per ~1,000 messages instead of one native call each (each call costs about as much as the rest
 * of the symmetric work for a short IM). Each pool is filled once and handed out as non-overlapping views, never
 * refilled, so no two callers ever share bytes; a spent pool is dropped and garbage-collected.
 */
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 64 * 1024;
let pool = Buffer.alloc(0);
let offset = 0;

/** Returns `n` fresh random bytes (a view no one else receives). */
export function randomBytesPooled(n: number): Buffer {
  if (n > 1024) return randomFillSync(Buffer.allocUnsafeSlow(n));
  if (offset + n > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafeSlow(POOL_SIZE));
    offset = 0;
  }
  const out = pool.subarray(offset, offset + n);
  offset += n;
  return out;
}
