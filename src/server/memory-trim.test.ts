import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryTrim, processHeapFigures, processTrimDeps, type HeapFigures, type MemoryTrimConfig, type MemoryTrimDeps, type TrimReport } from './memory-trim.js';

const MB = 1024 * 1024;

/** A burst of sign-ons: the trim is told, and the young generation grows. */
function burst(trim: MemoryTrim, p: { grow(): void }): void {
  trim.activity();
  p.grow();
}

/** A trim's error callback that fails the test. */
const failOnError = (e: unknown): never => assert.fail(`collection failed: ${String(e)}`);

/** A process stand-in: a manual clock and timer queue, a settable heap and loop load, counted collections. */
function fakeProcess(heap: HeapFigures = { youngBytes: 1 * MB, heapBytes: 40 * MB }) {
  let now = 0;
  let lastBusyCall = 0;
  let timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  const p = {
    heap,
    busy: 0,
    busyUntil: undefined as number | undefined,
    collections: 0,
    /** Run inside each collection (a sign-on arriving while it runs). */
    during: undefined as (() => void) | undefined,
    pauseMs: 40,
    failWith: undefined as Error | undefined,
    get pendingTimers(): number {
      return timers.filter((t) => t.live).length;
    },
    /** Moves the clock to `to`, running due timers in order. */
    async advanceTo(to: number): Promise<void> {
      for (;;) {
        const due = timers.filter((t) => t.live && t.at <= to).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        now = due.at;
        due.live = false;
        due.fn();
        await new Promise((r) => setImmediate(r)); // let a started collection settle
      }
      now = to;
      timers = timers.filter((t) => t.live);
    },
    deps: undefined as unknown as MemoryTrimDeps,
    /** What a burst of sign-ons does to the young generation. */
    grow(): void {
      p.heap = { youngBytes: 32 * MB, heapBytes: 60 * MB };
    },
  };
  p.deps = {
    heap: () => ({ ...p.heap }),
    async collect() {
      if (p.failWith) throw p.failWith;
      p.collections++;
      p.during?.();
      now += p.pauseMs;
      p.heap = { youngBytes: 1 * MB, heapBytes: p.heap.heapBytes / 2 };
    },
    busy() {
      // Utilisation since the previous call: p.busy, or, when p.busyUntil is set, the share of that span before it.
      const from = lastBusyCall;
      lastBusyCall = now;
      if (p.busyUntil === undefined) return p.busy;
      return now > from ? Math.max(0, Math.min(now, p.busyUntil) - from) / (now - from) : 0;
    },
    now: () => now,
    schedule(ms, fn) {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return () => {
        t.live = false;
      };
    },
  };
  return p;
}

/** A trim over a fresh fakeProcess, its reports collected; a failed collection fails the test unless `onError` is given. */
function watched(config: Partial<MemoryTrimConfig> = {}, heap?: HeapFigures, onError: (e: unknown) => void = failOnError) {
  const p = fakeProcess(heap);
  const reports: TrimReport[] = [];
  const trim = new MemoryTrim(p.deps, (r) => reports.push(r), onError, config);
  return { p, trim, reports };
}

test('a burst of sign-ons is followed by one trim, quietMs after its last sign-on', async () => {
  const { p, trim, reports } = watched({ quietMs: 50 });
  for (let t = 0; t <= 1000; t += 10) {
    await p.advanceTo(t);
    trim.activity();
    if (t === 500) p.grow();
  }
  assert.equal(p.pendingTimers, 1, 'one timer however many sign-ons');
  await p.advanceTo(1049);
  assert.equal(p.collections, 0, 'not before the burst has been quiet for quietMs');
  await p.advanceTo(1050);
  assert.equal(p.collections, 1);
  assert.deepEqual(reports, [{ youngBefore: 32 * MB, youngAfter: 1 * MB, heapBefore: 60 * MB, heapAfter: 30 * MB, pauseMs: 40 }]);
  await p.advanceTo(100_000);
  assert.equal(p.collections, 1, 'nothing more without new sign-ons');
  trim.close();
});

test('no trim when the young generation is small or the heap too large; a later burst is looked at again', async () => {
  const { p, trim } = watched({ quietMs: 50, minYoungBytes: 12 * MB, maxHeapBytes: 256 * MB }, { youngBytes: 1 * MB, heapBytes: 60 * MB });
  trim.activity();
  p.heap = { youngBytes: 4 * MB, heapBytes: 60 * MB };
  await p.advanceTo(1000);
  assert.equal(p.collections, 0, 'young generation grew, but not past minYoungBytes');
  trim.activity();
  p.heap = { youngBytes: 32 * MB, heapBytes: 300 * MB };
  await p.advanceTo(2000);
  assert.equal(p.collections, 0, 'heap above maxHeapBytes: the pause would be too long');
  p.heap = { youngBytes: 16 * MB, heapBytes: 100 * MB };
  trim.activity();
  p.heap = { youngBytes: 32 * MB, heapBytes: 100 * MB };
  await p.advanceTo(3000);
  assert.equal(p.collections, 1);
  trim.close();
});

test('a young generation already grown when the burst began (by traffic) is left alone', async () => {
  const { p, trim } = watched({ quietMs: 50 }, { youngBytes: 32 * MB, heapBytes: 60 * MB });
  trim.activity();
  await p.advanceTo(1000);
  assert.equal(p.collections, 0);
  trim.close();
});

test('a busy loop defers the trim, and after giveUpMs of traffic the burst is left to V8', async () => {
  const { p, trim } = watched({ quietMs: 50, maxBusy: 0.2, busyRetryMs: 250, giveUpMs: 1000 });
  p.busy = 0.9;
  burst(trim, p);
  await p.advanceTo(560);
  assert.equal(p.collections, 0, 'busy at 50, 300 and 550 ms');
  p.busy = 0.1;
  await p.advanceTo(800);
  assert.equal(p.collections, 1, 'calm at the look at 800 ms: trimmed');

  const { p: q, trim: late } = watched({ quietMs: 50, maxBusy: 0.2, busyRetryMs: 250, giveUpMs: 1000 });
  q.busy = 0.9;
  burst(late, q);
  await q.advanceTo(1000);
  q.busy = 0;
  await q.advanceTo(60_000);
  assert.equal(q.collections, 0, 'busy until giveUpMs: no trim later, in the middle of traffic');
  assert.equal(q.pendingTimers, 0);
  trim.close();
  late.close();
});

test('trims take at most maxPauseShare of the time; a burst the budget would push past giveUpMs is left to V8', async () => {
  const { p, trim } = watched({ quietMs: 50, giveUpMs: 1000, maxPauseShare: 0.05 });
  burst(trim, p);
  await p.advanceTo(50);
  assert.equal(p.collections, 1);
  // That trim paused 40 ms (ending at 90), so the next may start 40 / 0.05 = 800 ms later, at 890.
  await p.advanceTo(100);
  burst(trim, p);
  await p.advanceTo(889);
  assert.equal(p.collections, 1, 'within the pause budget');
  await p.advanceTo(890);
  assert.equal(p.collections, 2);

  // That one ended at 930: the next may start at 1730. A 100 ms pause then puts the one after 2 s out, and a burst
  // right after it would wait past giveUpMs, so it is not trimmed.
  p.pauseMs = 100;
  burst(trim, p);
  await p.advanceTo(1729);
  assert.equal(p.collections, 2);
  await p.advanceTo(1730);
  assert.equal(p.collections, 3, 'the budget after the second 40 ms trim has passed');
  burst(trim, p);
  await p.advanceTo(60_000);
  assert.equal(p.collections, 3, 'within the budget of the 100 ms trim and past giveUpMs');
  assert.equal(p.pendingTimers, 0);
  trim.close();
});

test('trimNow trims at once when grown; close stops a pending look; a failed collection turns the trim off', async () => {
  const errors: unknown[] = [];
  const { p, trim } = watched({ quietMs: 50 }, undefined, (e) => errors.push(e));
  p.grow();
  await trim.trimNow();
  assert.equal(p.collections, 1);
  await p.advanceTo(10_000);
  burst(trim, p);
  trim.close();
  await p.advanceTo(20_000);
  assert.equal(p.collections, 1, 'closed: the pending look does not run');

  const { p: q, trim: failing } = watched({ quietMs: 50 }, undefined, (e) => errors.push(e));
  q.failWith = new Error('no inspector session');
  burst(failing, q);
  await q.advanceTo(100);
  assert.equal(errors.length, 1);
  q.failWith = undefined;
  burst(failing, q);
  await q.advanceTo(10_000);
  assert.equal(q.collections, 0, 'off after a failure: no retry storm');
});

test('busy is judged over the time since the last sign-on, not over what is left of the quiet time', async () => {
  const { p, trim } = watched({ quietMs: 50, maxBusy: 0.2, busyRetryMs: 250, giveUpMs: 1000 });
  trim.activity(); // arms the look at 50
  await p.advanceTo(1);
  trim.activity(); // the burst's last sign-on: at 50 the look waits until 51
  p.grow();
  p.busyUntil = 50; // the loop works on that sign-on until 50, then idles
  await p.advanceTo(51);
  assert.equal(p.collections, 0, '49 of the 50 ms since the last sign-on were busy');
  await p.advanceTo(301);
  assert.equal(p.collections, 1, 'idle since: trimmed at the next look');
  trim.close();
});

test('sign-ons that come while a collection runs are looked at after it', async () => {
  const { p, trim, reports } = watched({ quietMs: 50, maxPauseShare: 1 });
  p.during = () => {
    p.during = undefined;
    trim.activity(); // a burst begins during the first collection's pause
  };
  burst(trim, p);
  await p.advanceTo(50);
  assert.equal(p.collections, 1);
  p.grow(); // that burst grows the young generation again
  await p.advanceTo(1000);
  assert.equal(p.collections, 2, 'the burst that began during the collection was trimmed too');
  assert.equal(reports.length, 2);
  trim.close();
});

test('a trim that finishes after close is not reported', async () => {
  const { p, trim, reports } = watched();
  p.grow();
  p.during = () => trim.close();
  await trim.trimNow();
  assert.equal(p.collections, 1);
  assert.equal(reports.length, 0);
});

test('the real collection gives back a grown young generation (V8 in this process)', async () => {
  const deps = await processTrimDeps();
  assert.ok(deps, 'this Node has the inspector');
  // Grow the young generation the way a sign-on burst does: objects that survive scavenges, in quantity.
  const kept: Array<{ i: number; s: string; a: number[] }> = [];
  for (let i = 0; i < 400_000; i++) kept.push({ i, s: `session-${i}`, a: [i, i + 1] });
  const grown = processHeapFigures();
  assert.ok(grown.youngBytes >= 8 * MB, `young generation grew (${grown.youngBytes} bytes)`);
  const reports: TrimReport[] = [];
  const trim = new MemoryTrim(deps, (r) => reports.push(r), failOnError, { minYoungBytes: 8 * MB });
  await trim.trimNow();
  assert.equal(reports.length, 1);
  const after = processHeapFigures();
  assert.ok(after.youngBytes <= 2 * MB, `young generation shrank: ${grown.youngBytes} -> ${after.youngBytes} bytes`);
  assert.equal(kept.length, 400_000, 'live objects are kept');
  trim.close();
});
