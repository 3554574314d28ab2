/**
 * The per-account EST issuance limit: at most `max` certificates per sliding window, per account, with a
 * Retry-After that says when the oldest one leaves the window.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IssuanceLimiter } from './est-routes.js';

test('issuance is limited per account over a sliding window', () => {
  const l = new IssuanceLimiter(3, 60_000);
  const t0 = 1_000_000;
  for (let i = 0; i < 3; i++) {
    assert.equal(l.retryAfter('alice', t0 + i * 1000), 0);
    l.record('alice', t0 + i * 1000);
  }
  assert.equal(l.retryAfter('alice', t0 + 5000), 55, 'the first issuance leaves the window after 55 s');
  assert.equal(l.retryAfter('bob', t0 + 5000), 0, 'other accounts are not affected');
  assert.equal(l.retryAfter('alice', t0 + 60_001), 0, 'the window slides');
});

test('the default allows five key generations (ten certificates) an hour', () => {
  const l = new IssuanceLimiter();
  assert.deepEqual([l.max, l.windowMs], [10, 3_600_000]);
  for (let i = 0; i < 10; i++) l.record('carol', i);
  assert.ok(l.retryAfter('carol', 10) > 3500);
});
