/**
 * The directory's revision waiters (revision-waiters.ts): released lowest revision first, each exactly once,
 * cancelled ones never; checked against a plain list under a seeded random mix of adds, cancels and releases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RevisionWaiters } from './revision-waiters.js';

test('releases every waiter up to the revision, lowest first, and leaves the rest', () => {
  const w = new RevisionWaiters();
  const order: number[] = [];
  for (const r of [7, 3, 9, 3, 5, 12]) w.add(r, () => order.push(r));
  w.releaseThrough(2);
  assert.deepEqual(order, []);
  w.releaseThrough(7);
  assert.deepEqual(order, [3, 3, 5, 7]);
  assert.equal(w.size, 2);
  w.releaseThrough(7);
  assert.deepEqual(order, [3, 3, 5, 7], 'released once');
  w.releaseAll();
  assert.deepEqual(order, [3, 3, 5, 7, 9, 12]);
  assert.equal(w.size, 0);
});

test('a cancelled waiter is never released, and cancelling twice or after release changes nothing', () => {
  const w = new RevisionWaiters();
  const got: string[] = [];
  const cancelA = w.add(1, () => got.push('a'));
  const cancelB = w.add(2, () => got.push('b'));
  w.add(3, () => got.push('c'));
  cancelA();
  cancelA();
  assert.equal(w.size, 2);
  w.releaseThrough(2);
  cancelB();
  assert.equal(w.size, 1);
  w.releaseAll();
  assert.deepEqual(got, ['b', 'c']);
});

test('waiters that give up while the revision never comes do not pile up', () => {
  const w = new RevisionWaiters();
  let released = 0;
  const keep = w.add(1_000_000, () => released++);
  for (let i = 0; i < 100_000; i++) w.add(1_000_000 + i, () => released++)();
  assert.equal(w.size, 1);
  // Tombstones are dropped once they are most of the heap: it holds at most about twice the live waiters, or the
  // small floor below which it is not rebuilt. Keeping every cancelled waiter would hold 100,001.
  assert.ok(w.slots <= 33, `${w.slots} entries held for 1 live waiter`);
  w.releaseThrough(2_000_000);
  assert.equal(released, 1);
  keep();
  assert.equal(w.size, 0);
});

test('matches a plain list under a random mix of adds, cancels and releases', () => {
  let seed = 0x2545f491;
  const rand = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  for (let round = 0; round < 50; round++) {
    const w = new RevisionWaiters();
    const model: { id: number; revision: number; live: boolean }[] = [];
    const cancels: (() => void)[] = [];
    const got: number[] = [];
    let seen = 0;
    for (let step = 0; step < 400; step++) {
      const op = rand(10);
      if (op < 6) {
        const id = model.length;
        const revision = seen + 1 + rand(20);
        model.push({ id, revision, live: true });
        cancels.push(w.add(revision, () => got.push(id)));
      } else if (op < 8 && model.length > 0) {
        const id = rand(model.length);
        cancels[id]!();
        model[id]!.live = false;
      } else {
        seen += rand(8);
        const due = model.filter((m) => m.live && m.revision <= seen);
        due.sort((a, b) => a.revision - b.revision);
        for (const m of due) m.live = false;
        const before = got.length;
        w.releaseThrough(seen);
        const released = got.slice(before);
        assert.deepEqual([...released].sort((a, b) => a - b), due.map((m) => m.id).sort((a, b) => a - b), `round ${round} step ${step}`);
        const revisions = released.map((id) => model[id]!.revision);
        assert.deepEqual(revisions, [...revisions].sort((a, b) => a - b), 'lowest revision first');
      }
      assert.equal(w.size, model.filter((m) => m.live).length);
    }
  }
});
