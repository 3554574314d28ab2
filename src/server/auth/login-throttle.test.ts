import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../store/index.js';
import { LoginThrottle, addressKey, pairBudget, pairDelayMs, type LoginAttemptOutcome } from './login-throttle.js';
import { HashGate, HashGateBusyError } from './hash-gate.js';
import { MemoryThrottleState } from './throttle-state.js';

/** A throttle on a fake clock, and a check that counts how often it really ran. */
function setup(options: ConstructorParameters<typeof LoginThrottle>[0] = {}) {
  const clock = { t: 1_000_000 };
  const throttle = new LoginThrottle(options, new MemoryThrottleState(), () => clock.t);
  const runs = { n: 0 };
  const guess = (account: string, address: string, right = false, proven = false): Promise<LoginAttemptOutcome> =>
    throttle.attempt({ account, address, proven }, async () => {
      runs.n++;
      await new Promise((r) => setImmediate(r));
      return right;
    });
  return { clock, throttle, runs, guess };
}

test('charge before check: 200 parallel guesses from one address run only the free checks', async () => {
  const { throttle, runs, guess } = setup();
  const results = await Promise.all(Array.from({ length: 200 }, () => guess('bob', '10.0.0.1')));
  assert.equal(runs.n, 3, 'only pairFreeFailures checks ran');
  assert.equal(results.filter((r) => r.status === 'bad').length, 3);
  const refused = results.filter((r) => r.status === 'throttled');
  assert.equal(refused.length, 197);
  assert.ok(refused.every((r) => r.status === 'throttled' && r.scope === 'pair' && r.retryAfterMs === 1000));
  assert.equal(throttle.stats.checks, 3);
  assert.equal(throttle.stats.throttled, 197);
});

test('exponential delay per (account, address); the budget function matches what actually ran', async () => {
  const { clock, runs, guess } = setup();
  const start = clock.t;
  // Hammer every 250 ms for 40 s.
  for (let t = 0; t <= 40_000; t += 250) {
    clock.t = start + t;
    await guess('bob', '10.0.0.1');
  }
  assert.equal(runs.n, pairBudget(40_000));
  assert.equal(pairBudget(10_000), 6);
  assert.equal(pairBudget(60_000), 8);
  assert.equal(pairBudget(3_600_000), 15);
  assert.equal(pairBudget(86_400_000), 107);
  assert.equal(pairDelayMs(2), 0);
  assert.equal(pairDelayMs(3), 1000);
  assert.equal(pairDelayMs(4), 2000);
  assert.equal(pairDelayMs(60), 15 * 60_000, 'capped');
});

test('the real user signs on from another address while one address hammers the account', async () => {
  const { guess } = setup();
  await Promise.all(Array.from({ length: 50 }, () => guess('bob', '10.0.0.66')));
  assert.deepEqual(await guess('bob', '192.0.2.7', true), { status: 'ok', proven: false });
});

test('account ceiling: many addresses exhaust it; a proven address still gets in, a new one waits (told how long)', async () => {
  const { clock, runs, guess } = setup({ accountBurst: 10, accountRefillPerHour: 10 });
  assert.equal((await guess('bob', '192.0.2.7', true)).status, 'ok'); // the owner signed on from here before
  runs.n = 0;
  for (let i = 0; i < 40; i++) await guess('bob', `10.0.1.${i}`);
  assert.equal(runs.n, 10, 'all strangers together got the account burst');
  const stranger = await guess('bob', '10.9.9.9', true);
  assert.equal(stranger.status, 'throttled');
  assert.ok(stranger.status === 'throttled' && stranger.scope === 'account' && stranger.retryAfterMs === 360_000, JSON.stringify(stranger));
  assert.deepEqual(await guess('bob', '192.0.2.7', true), { status: 'ok', proven: true });
  assert.deepEqual(await guess('bob', '10.9.9.9', true, true), { status: 'ok', proven: true }, 'a caller proven otherwise (client certificate)');
  clock.t += 360_000;
  assert.equal((await guess('bob', '10.9.9.9', true)).status, 'ok', 'one token refilled');
});

test('address ceiling limits spraying over many accounts; success refunds and resets', async () => {
  const { runs, guess } = setup({ addressBurst: 5, addressRefillPerHour: 5 });
  for (let i = 0; i < 20; i++) await guess(`user${i}`, '10.0.0.9');
  assert.equal(runs.n, 5);
  const r = await guess('other', '10.0.0.9');
  assert.ok(r.status === 'throttled' && r.scope === 'address');
});

test('success resets the pair; IPv6 counts per /64, IPv4-mapped as IPv4', async () => {
  const { runs, guess } = setup();
  for (let i = 0; i < 3; i++) await guess('bob', '2001:db8:1:2::1');
  assert.equal((await guess('bob', '2001:db8:1:2:ffff::9')).status, 'throttled', 'same /64');
  assert.equal((await guess('bob', '2001:db8:1:3::1')).status, 'bad', 'another /64');
  assert.equal(addressKey('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressKey('fe80:0:0:0:1:2:3:4'), 'fe80:0:0:0::/64');
  runs.n = 0;
  const { guess: g2, runs: r2 } = setup();
  await g2('bob', '10.0.0.1');
  await g2('bob', '10.0.0.1');
  assert.equal((await g2('bob', '10.0.0.1', true)).status, 'ok');
  for (let i = 0; i < 3; i++) assert.equal((await g2('bob', '10.0.0.1')).status, 'bad', 'failures were reset by the success');
  assert.equal(r2.n, 6);
});

test('rate-limit sign-off: the account waits before its next sign-on, doubling for repeats', async () => {
  const { clock, throttle, runs, guess } = setup();
  assert.equal(await throttle.penalize('bob'), 10_000);
  const r = await guess('bob', '192.0.2.7', true);
  assert.ok(r.status === 'throttled' && r.scope === 'penalty' && r.retryAfterMs === 10_000);
  assert.equal(runs.n, 0);
  clock.t += 10_000;
  assert.equal((await guess('bob', '192.0.2.7', true)).status, 'ok');
  assert.equal(await throttle.penalize('bob'), 20_000);
  assert.equal((await guess('carol', '192.0.2.7', true)).status, 'ok', 'other accounts are not affected');
});

test('hash gate: bounded concurrency and queue, refuses beyond, proven callers first', async () => {
  const gate = new HashGate({ concurrency: 2, maxQueued: 3, maxPriorityQueued: 1 });
  let running = 0;
  let peak = 0;
  const order: string[] = [];
  const releases: Array<() => void> = [];
  const job = (name: string) => async () => {
    running++;
    peak = Math.max(peak, running);
    order.push(name);
    await new Promise<void>((r) => releases.push(r));
    running--;
    return name;
  };
  const p = [gate.run(job('a')), gate.run(job('b')), gate.run(job('c')), gate.run(job('d')), gate.run(job('e'))];
  await assert.rejects(gate.run(job('f')), (e) => HashGateBusyError.is(e) && e.code === 'HASH_GATE_BUSY');
  const vip = gate.run(job('vip'), true);
  await assert.rejects(gate.run(job('vip2'), true), HashGateBusyError);
  assert.equal(gate.queued, 4);
  while (order.length < 6 || releases.length > 0) {
    releases.shift()?.();
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(await Promise.all([...p, vip]), ['a', 'b', 'c', 'd', 'e', 'vip']);
  assert.equal(peak, 2);
  assert.equal(order[2], 'vip', 'the proven caller went first');
  assert.equal(gate.refused, 2);
});

test('a busy gate refunds the charge: the guess did not run and costs nothing', async () => {
  const clock = { t: 0 };
  const throttle = new LoginThrottle({ hashGate: { concurrency: 1, maxQueued: 0, maxPriorityQueued: 0 } }, new MemoryThrottleState(), () => clock.t);
  let release: () => void = () => {};
  const slow = throttle.attempt({ account: 'x', address: '10.0.0.1' }, () => new Promise<boolean>((r) => { release = () => r(false); }));
  await new Promise((r) => setImmediate(r));
  const busy = await throttle.attempt({ account: 'bob', address: '10.0.0.2' }, async () => true);
  assert.deepEqual(busy, { status: 'busy', retryAfterMs: 1000 });
  release();
  await slow;
  for (let i = 0; i < 2; i++) assert.equal((await throttle.attempt({ account: 'bob', address: '10.0.0.2' }, async () => false)).status, 'bad');
  assert.equal((await throttle.attempt({ account: 'bob', address: '10.0.0.2' }, async () => false)).status, 'bad', 'still 3 free after the refund');
});

test('memory state stays bounded under a flood of distinct keys', async () => {
  const state = new MemoryThrottleState({ maxRecords: 1000 });
  const throttle = new LoginThrottle({}, state, () => 5);
  for (let i = 0; i < 3000; i++) await throttle.attempt({ account: `u${i}`, address: `10.1.${i >> 8}.${i & 255}` }, async () => false);
  assert.ok(state.size <= 1000, String(state.size));
});

test('admin view and unlock: entries name the locked keys with their wait; unlock clears an account (not others)', async () => {
  const { clock, throttle, guess } = setup({ accountBurst: 3, accountRefillPerHour: 3 });
  for (let i = 0; i < 3; i++) await guess('bob', '10.0.0.1');
  await guess('carol', '10.0.0.2');
  await throttle.penalize('dave');
  const e = await throttle.entries();
  assert.deepEqual(e.find((x) => x.kind === 'pair' && x.key === '10.0.0.1 bob'), { kind: 'pair', key: '10.0.0.1 bob', failures: 3, locked: true, retryAfterSeconds: 1 });
  assert.deepEqual(e.find((x) => x.kind === 'account' && x.key === 'bob'), { kind: 'account', key: 'bob', failures: 3, locked: true, retryAfterSeconds: 1200 });
  assert.deepEqual(e.find((x) => x.kind === 'penalty'), { kind: 'penalty', key: 'dave', failures: 1, locked: true, retryAfterSeconds: 10 });
  assert.ok(!e.some((x) => x.key.includes('proven')));
  assert.equal(await throttle.unlock('bob'), true);
  assert.equal(await throttle.unlock('bob'), false);
  assert.equal((await guess('bob', '10.0.0.1', true)).status, 'ok', 'the owner gets in at once after the unlock');
  assert.ok((await throttle.entries()).some((x) => x.key === '10.0.0.2 carol'), 'other accounts keep their records');
  clock.t += 1;
});

test('the same policy over the SQL state (SQLite): 100 parallel guesses run only the free checks; unlock works', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certim-throttle-sql-'));
  const store = await openStore(`sqlite:${join(dir, 'certim.db')}`);
  try {
    const throttle = new LoginThrottle({}, store.loginThrottle, () => 5_000);
    let runs = 0;
    const results = await Promise.all(Array.from({ length: 100 }, () => throttle.attempt({ account: 'bob', address: '10.0.0.1' }, async () => {
      runs++;
      return false;
    })));
    assert.equal(runs, 3);
    assert.equal(results.filter((r) => r.status === 'throttled').length, 97);
    assert.ok((await throttle.entries()).some((e) => e.kind === 'pair' && e.locked));
    assert.equal(await throttle.unlock('bob'), true);
    assert.equal((await throttle.attempt({ account: 'bob', address: '10.0.0.1' }, async () => true)).status, 'ok');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
