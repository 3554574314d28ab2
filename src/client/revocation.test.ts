/**
 * CrlCache freshness policy with an injected clock: fresh -> grace -> unavailable (fail closed), refresh when stale
 * or old, signature and rollback checks; the profile replay cache across "restarts"; the reconnect backoff bounds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCrl } from '../pki/crl.js';
import { generateRsaKeyPair } from '../pki/keys.js';
import { makeTestCa, type TestCa } from '../pki/test-ca.test-support.js';
import { CrlCache, CRL_GRACE_MS, CRL_RETRY_MS, describeCrlState } from './revocation.js';
import { ProfileReplayCache } from './node/replay-store.js';
import { CertimClient } from './client.js';
import { MemoryBuddyStore } from './trust.js';

const H = 3_600_000;
let ca: TestCa | undefined;
async function testCa(): Promise<TestCa> {
  ca ??= await makeTestCa('Crl');
  return ca;
}

function crlOf(c: TestCa, thisUpdate: Date, nextUpdate: Date, revoked: string[] = [], key = c.issuingKeys.privateKey): Uint8Array {
  return buildCrl({
    issuer: c.issuing, issuerKey: key, thisUpdate, nextUpdate, crlNumber: BigInt(thisUpdate.getTime()),
    revoked: revoked.map((serial) => ({ serial, revokedAt: thisUpdate, reason: 'keyCompromise' as const })),
  });
}

test('fresh until nextUpdate, grace for 24 h after it, then unavailable (fail closed)', async () => {
  const c = await testCa();
  const t0 = Date.UTC(2026, 10, 1);
  let now = t0;
  let served = crlOf(c, new Date(t0), new Date(t0 + 24 * H));
  let fetches = 0;
  let failing = false;
  const cache = new CrlCache({
    caCerts: [c.root.der, c.issuing.der],
    now: () => new Date(now),
    source: {
      fetch: async () => {
        fetches++;
        if (failing) throw new Error('server unreachable');
        return served;
      },
      load: () => undefined,
      save: () => undefined,
    },
  });
  assert.equal((await cache.state()).status, 'fresh');
  assert.equal(fetches, 1);
  now += 60_000;
  await cache.state();
  assert.equal(fetches, 1, 'no refetch within the refresh interval');
  failing = true;
  now = t0 + 25 * H;
  const grace = await cache.state();
  assert.equal(grace.status, 'grace');
  assert.match(describeCrlState(grace), /STALE .* still honoured until .*server unreachable/);
  now = t0 + 24 * H + CRL_GRACE_MS + 1;
  const gone = await cache.state();
  assert.equal(gone.status, 'unavailable');
  assert.match(describeCrlState(gone), /grace period ended/);
  failing = false;
  served = crlOf(c, new Date(now), new Date(now + 24 * H));
  const before = fetches;
  now += 30_000;
  assert.equal((await cache.state()).status, 'unavailable', 'no retry within a minute of a failed download');
  assert.equal(fetches, before);
  now += CRL_RETRY_MS;
  assert.equal((await cache.state()).status, 'fresh', 'a new CRL restores service');
});

test('refuses a CRL not signed by the pinned CA, one from the future, and a rollback to an older CRL', async () => {
  const c = await testCa();
  const other = await generateRsaKeyPair(2048);
  const t0 = Date.UTC(2026, 10, 1);
  let served: Uint8Array = crlOf(c, new Date(t0), new Date(t0 + 24 * H), [], other.privateKey);
  const cache = new CrlCache({ caCerts: [c.root.der, c.issuing.der], now: () => new Date(t0), refreshMs: 0, source: { fetch: async () => served, load: () => undefined, save: () => undefined } });
  const forged = await cache.state(true);
  assert.equal(forged.status, 'unavailable');
  assert.match(forged.lastError ?? '', /not signed by the pinned CA/);
  served = crlOf(c, new Date(t0 + 2 * H), new Date(t0 + 24 * H));
  assert.match((await cache.state(true)).lastError ?? '', /issued in the future/);
  served = crlOf(c, new Date(t0), new Date(t0 + 24 * H), ['7a']);
  assert.equal((await cache.state(true)).status, 'fresh');
  served = crlOf(c, new Date(t0 - H), new Date(t0 + 24 * H));
  const rolled = await cache.state(true);
  assert.match(rolled.lastError ?? '', /older than the one we hold/);
  assert.equal(rolled.crl?.entries.has('7a'), true, 'the newer CRL (with the revocation) stays in use');
});

test('a CRL kept from an earlier run is used when the server cannot be reached', async () => {
  const c = await testCa();
  const t0 = Date.UTC(2026, 10, 1);
  const kept = crlOf(c, new Date(t0), new Date(t0 + 24 * H), ['5b']);
  const cache = new CrlCache({
    caCerts: [c.root.der, c.issuing.der], now: () => new Date(t0 + H),
    source: { fetch: async () => Promise.reject(new Error('offline')), load: () => kept, save: () => undefined },
  });
  const s = await cache.state();
  assert.equal(s.status, 'fresh');
  assert.equal(s.lastError, 'offline');
  assert.equal(s.crl?.entries.get('5b')?.reason, 'keyCompromise');
});

test('the profile replay cache refuses a replay after a restart and stays bounded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certim-replay-'));
  try {
    const file = join(dir, 'replay.json');
    const now = new Date();
    const id = new Uint8Array([1, 2, 3]);
    assert.equal(await new ProfileReplayCache(file).checkAndRemember('alice', id, now, now), 'fresh');
    const restarted = new ProfileReplayCache(file);
    assert.equal(await restarted.checkAndRemember('alice', id, now, now), 'replayed');
    assert.equal(await restarted.checkAndRemember('bob', id, now, now), 'fresh');
    const small = new ProfileReplayCache(join(dir, 'small.json'), { maxEntries: 3 });
    for (let i = 0; i < 10; i++) assert.equal(await small.checkAndRemember('a', new Uint8Array([i]), new Date(now.getTime() + i), now), 'fresh');
    assert.equal(small.size, 3);
    // An evicted id cannot come back: its signing time is below the floor.
    assert.equal(await new ProfileReplayCache(join(dir, 'small.json'), { maxEntries: 3 }).checkAndRemember('a', new Uint8Array([0]), now, now), 'stale');
    writeFileSync(join(dir, 'corrupt.json'), '{not json');
    assert.equal(await new ProfileReplayCache(join(dir, 'corrupt.json')).checkAndRemember('a', id, new Date(now.getTime() - 3_600_000), now), 'stale', 'a corrupt file fails closed for older messages');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reconnect delays grow exponentially, stay capped, and are jittered within [base/2, base]', () => {
  const mk = (random: () => number): CertimClient => new CertimClient({
    screenName: 'x', password: 'p', server: { host: '127.0.0.1', port: 1 }, transport: () => { throw new Error('unused'); },
    caCerts: [], buddyStore: new MemoryBuddyStore(), reconnect: { initialDelayMs: 1000, maxDelayMs: 60_000, random },
    revocation: { state: async () => ({ status: 'unavailable' }), current: () => ({ status: 'unavailable' }), lookup: () => undefined },
  });
  const high = mk(() => 1);
  const low = mk(() => 0);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 50].map((a) => high.reconnectDelay(a)), [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  assert.deepEqual([1, 2, 7, 50].map((a) => low.reconnectDelay(a)), [500, 1000, 30000, 30000]);
  // Sum over the first minute of retries: a handful of attempts, never a loop.
  let t = 0;
  let n = 0;
  while (t < 60_000) t += low.reconnectDelay(++n);
  assert.ok(n <= 8, `${n} attempts in a minute`);
});
