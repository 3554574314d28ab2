/** Test helper: a deadline on a promise, so a regression that hangs fails its test and the test's cleanup still runs. */

/** Settles as `p`, or rejects after `ms` (node:test's own timeout cancels a test without running its `finally`). */
export function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(t));
}
