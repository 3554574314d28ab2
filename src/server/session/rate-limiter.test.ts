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

test('a class first used late starts from the connection start state (lazy state, same averages)', () => {
  const rl = new RateLimiter(DEFAULT_RATE_CLASSES, 1_000);
  // Before use: the start state (average = max, last = the connection's start).
  assert.deepEqual({ current: rl.state(3)!.current, last: rl.state(3)!.last }, { current: 6000, last: 1_000 });
  // First SNAC 100 ms after the start: (6000*19 + 100)/20 = 5705, as if the state had existed from the start.
  rl.check(3, 1_100);
  assert.equal(rl.state(3)!.current, 5705);
  assert.equal(rl.state(3)!.last, 1_100);
  // Class 4 was never used: still its start state.
  assert.equal(rl.state(4)!.current, 8000);
});

test('an unknown class id counts against the first class, sharing its state', () => {
  const rl = new RateLimiter(DEFAULT_RATE_CLASSES, 0);
  rl.check(99, 0);
  rl.check(0x12345, 0);
  assert.equal(rl.state(99), undefined);
  // Two SNACs at elapsed 0 in class 1 (window 80): 6000 -> 5925 -> 5850.
  assert.equal(rl.state(1)!.current, 5850);
});

test('limiters built from one class list share nothing mutable', () => {
  const a = new RateLimiter(DEFAULT_RATE_CLASSES, 0);
  const b = new RateLimiter(DEFAULT_RATE_CLASSES, 0);
  for (let i = 0; i < 8; i++) a.check(3, 0);
  assert.equal(a.state(3)!.limited, true);
  assert.equal(b.check(3, 0).verdict, 'ok');
  assert.equal(b.state(3)!.limited, false);
});
