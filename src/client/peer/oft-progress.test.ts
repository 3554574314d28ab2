import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressMeter, type TransferProgress } from './oft-progress.js';

test('progress: rate over the recent window, ETA at that rate, at most one report per interval (injected clock)', () => {
  let now = 0;
  const seen: TransferProgress[] = [];
  const m = new ProgressMeter((p) => seen.push(p), () => now, 250, 3000);
  const at = (ms: number, bytes: number, force = false): void => {
    now = ms;
    m.update({ file: 'f', fileIndex: 1, fileCount: 1, fileBytes: bytes, fileSize: 10_000_000, bytes, totalSize: 10_000_000 }, force);
  };
  at(0, 0);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.etaSeconds, undefined, 'no rate yet');
  at(100, 100_000);
  assert.equal(seen.length, 1, 'throttled');
  at(1000, 1_000_000);
  assert.equal(seen.length, 2);
  assert.equal(seen[1]!.rate, 1_000_000);
  assert.equal(seen[1]!.etaSeconds, 9);
  // The window forgets old samples: a slow-down shows within 3 s.
  for (let t = 1100; t <= 6000; t += 100) at(t, 1_000_000 + (t - 1000) * 100);
  const last = seen.at(-1)!;
  assert.ok(Math.abs(last.rate - 100_000) < 1, `rate ${last.rate}`);
  at(6010, 1_500_000, true);
  assert.equal(seen.at(-1)!.bytes, 1_500_000, 'forced reports are not throttled');
});
