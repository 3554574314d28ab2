import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RATE_CLASSES } from './rate-classes.js';
import { RateLimiter } from './rate-limiter.js';

test('class 3 burst: ok, alert, limited (dropped), then disconnect', () => {
  const rl = new RateLimiter(DEFAULT_RATE_CLASSES, 0);
  const seen: string[] = [];
  for (let i = 0; i < 30; i++) {
    const r = rl.check(3, 0);
    seen.push(r.notice ? `${r.verdict}:${r.notice}` : r.verdict);
    if (r.verdict === 'disconnect') break;
  }
  // avg: 6000*(19/20)^n -> <5000 at n=4, <4000 at n=8, <3000 at n=14.
  assert.deepEqual(seen.slice(0, 4), ['ok', 'ok', 'ok', 'ok:alert']);
  assert.equal(seen.indexOf('drop:limited'), 7);
  assert.equal(seen.at(-1), 'disconnect');
  assert.equal(seen.length, 14);
});

test('a limited class is released (clear) once the average climbs back above clear', () => {
  const rl = new RateLimiter(DEFAULT_RATE_CLASSES, 0);
  let t = 0;
  for (let i = 0; i < 8; i++) rl.check(3, t);
  assert.equal(rl.state(3)!.limited, true);
  // Spaced-out SNACs raise the average; while below clear they are still dropped.
  const verdicts: string[] = [];
  for (let i = 0; i < 40; i++) {
    t += 10_000;
    const r = rl.check(3, t);
    verdicts.push(r.notice ?? r.verdict);
    if (r.notice === 'clear') break;
  }
  assert.equal(verdicts[0], 'drop');
  assert.equal(verdicts.at(-1), 'clear');
});

test('normal pacing never trips class 1', () => {
  const rl = new RateLimiter(DEFAULT_RATE_CLASSES, 0);
  for (let i = 1; i <= 1000; i++) assert.equal(rl.check(1, i * 3000).verdict, 'ok');
});

test('classes are independent', () => {
  const rl = new RateLimiter(DEFAULT_RATE_CLASSES, 0);
  for (let i = 0; i < 10; i++) rl.check(3, 0);
  assert.equal(rl.check(1, 0).verdict, 'ok');
});
