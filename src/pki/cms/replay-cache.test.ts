import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryReplayCache } from './replay-cache.js';

const id = (n: number): Uint8Array => Uint8Array.of(n);

test('an id is fresh once per sender, then replayed', async () => {
  const c = new MemoryReplayCache();
  const now = new Date('2026-01-01T00:00:00Z');
  assert.equal(await c.checkAndRemember('alice', id(1), now, now), 'fresh');
  assert.equal(await c.checkAndRemember('alice', id(1), now, now), 'replayed');
  assert.equal(await c.checkAndRemember('bob', id(1), now, now), 'fresh');
});

test('signing times outside the window or too far ahead are stale', async () => {
  const c = new MemoryReplayCache({ windowMs: 60_000, maxSkewMs: 1000 });
  const now = new Date('2026-01-01T00:00:00Z');
  assert.equal(await c.checkAndRemember('a', id(1), new Date(now.getTime() - 61_000), now), 'stale');
  assert.equal(await c.checkAndRemember('a', id(2), new Date(now.getTime() + 2000), now), 'stale');
  assert.equal(await c.checkAndRemember('a', id(3), new Date(now.getTime() - 59_000), now), 'fresh');
});

test('the memory bound evicts the oldest id and refuses anything signed no later than it', async () => {
  const c = new MemoryReplayCache({ maxEntries: 2 });
  const now = new Date('2026-01-01T00:00:00Z');
  const t = (s: number): Date => new Date(now.getTime() - 100_000 + s * 1000);
  assert.equal(await c.checkAndRemember('a', id(1), t(1), now), 'fresh');
  assert.equal(await c.checkAndRemember('a', id(2), t(2), now), 'fresh');
  assert.equal(await c.checkAndRemember('a', id(3), t(3), now), 'fresh'); // evicts id 1
  assert.equal(c.size, 2);
  assert.equal(await c.checkAndRemember('a', id(1), t(1), now), 'stale', 'evicted id cannot be replayed');
  assert.equal(await c.checkAndRemember('a', id(4), t(4), now), 'fresh');
});

test('one sender filling the cache with future-dated ids locks out only itself, not everyone', async () => {
  const c = new MemoryReplayCache({ maxEntries: 50, maxSkewMs: 10 * 60_000 });
  const now = new Date('2026-01-01T00:00:00Z');
  const ahead = new Date(now.getTime() + 9 * 60_000); // within the accepted skew
  assert.equal(await c.checkAndRemember('bob', id(200), new Date(now.getTime() - 5000), now), 'fresh');
  const at = (i: number): Date => new Date(ahead.getTime() + i);
  for (let i = 0; i < 120; i++) assert.equal(await c.checkAndRemember('mallory', Uint8Array.of(i), at(i), now), 'fresh');
  // Bob's id was evicted on the way: its replay is refused, and so is anything of Bob's signed no later.
  assert.equal(await c.checkAndRemember('bob', id(200), new Date(now.getTime() - 5000), now), 'stale');
  // New messages from everyone else, signed now, still get through.
  assert.equal(await c.checkAndRemember('bob', id(201), now, now), 'fresh');
  assert.equal(await c.checkAndRemember('carol', id(1), now, now), 'fresh');
  // Mallory's own evicted ids stay refused, and so does anything of hers signed before her floor.
  assert.equal(await c.checkAndRemember('mallory', Uint8Array.of(0), at(0), now), 'stale');
  assert.equal(await c.checkAndRemember('mallory', Uint8Array.of(250), now, now), 'stale');
  // The floors travel with the state: a copy that merges it refuses the same.
  const copy = new MemoryReplayCache({ maxEntries: 50, maxSkewMs: 10 * 60_000 });
  copy.merge(c.state());
  assert.equal(await copy.checkAndRemember('mallory', Uint8Array.of(0), at(0), now), 'stale');
  assert.equal(await copy.checkAndRemember('bob', id(200), new Date(now.getTime() - 5000), now), 'stale');
  assert.equal(await copy.checkAndRemember('dave', id(1), now, now), 'fresh');
});
