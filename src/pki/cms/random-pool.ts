/**
 * Random bytes for content keys, IVs, nonces and message ids, drawn from a pooled CSPRNG buffer: one
 * `randomFillSync` per 1,000 or so messages instead of one native call each (each call costs about as much as the
 * rest of the symmetric work for a short IM). Bytes are handed out once and zeroed in the pool as they leave.
 */
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 64 * 1024;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;

/** Returns `n` fresh random bytes (n <= 1024) in a new buffer. */
export function randomBytesPooled(n: number): Buffer {
  if (n > 1024) return randomFillSync(Buffer.allocUnsafe(n));
  if (offset + n > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + n));
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}
