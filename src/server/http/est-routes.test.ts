/**
 * The per-account EST issuance limit: at most `max` certificates per sliding window, per account, with a
 * Retry-After that says when the oldest one leaves the window; a refund frees exactly the slot taken.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IssuanceLimiter } from './est-routes.js';

test('issuance is limited per account over a sliding window', async () => {
  const l = new IssuanceLimiter(3, 60_000);
  const t0 = 1_000_000;
  for (let i = 0; i < 3; i++) {
    assert.equal(await l.retryAfter('alice', t0 + i * 1000), 0);
    assert.equal((await l.reserve('alice', t0 + i * 1000)).wait, 0);
  }
  assert.equal(await l.retryAfter('alice', t0 + 5000), 55, 'the first issuance leaves the window after 55 s');
  assert.equal((await l.reserve('alice', t0 + 5000)).wait, 55, 'nothing taken when full');
  assert.equal(await l.retryAfter('bob', t0 + 5000), 0, 'other accounts are not affected');
  assert.equal(await l.retryAfter('alice', t0 + 60_001), 0, 'the window slides');
});

test('a refund frees the slot it took; parallel reservations take distinct slots', async () => {
  const l = new IssuanceLimiter(4, 60_000);
  const tickets = await Promise.all(Array.from({ length: 6 }, () => l.reserve('dave', 1000)));
  assert.equal(tickets.filter((t) => t.wait === 0).length, 4);
  assert.equal(new Set(tickets.map((t) => t.slot).filter(Boolean)).size, 4);
  await l.release(tickets[0]!);
  assert.equal((await l.reserve('dave', 2000)).wait, 0, 'the refunded slot is free again');
  assert.ok((await l.reserve('dave', 2000)).wait > 0);
});

test('the default allows five key generations (ten certificates) an hour', async () => {
  const l = new IssuanceLimiter();
  assert.deepEqual([l.max, l.windowMs], [10, 3_600_000]);
  for (let i = 0; i < 10; i++) assert.equal((await l.reserve('carol', i)).wait, 0);
  assert.ok((await l.retryAfter('carol', 10)) > 3500);
});
