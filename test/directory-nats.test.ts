// The directory conformance suite on the NATS implementation: every node its own NATS connection (as separate
// processes would have), one fresh cluster name (subjects and KV bucket) per test cluster, buckets deleted
// afterwards. NATS unreachable at CERTIM_TEST_NATS (default nats://127.0.0.1:4222) FAILS the suite loudly.
import { randomBytes } from 'node:crypto';
import { Kvm } from '@nats-io/kv';
import { connectCluster } from '../src/server/cluster/nats-connection.js';
import { NatsDirectory } from '../src/server/cluster/nats-directory.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { directoryConformance, RecordingEndpoint, snapshot } from './directory-conformance.js';
import { closeNatsNodes } from './support/nats-directories.js';

const NATS_URL = process.env.CERTIM_TEST_NATS ?? 'nats://127.0.0.1:4222';
const run = randomBytes(3).toString('hex');
let n = 0;

directoryConformance('nats', async (nodes) => {
  const name = `t${run}c${++n}`;
  const url = `${NATS_URL}?name=${name}`;
  const conns = await Promise.all(nodes.map((node) => connectCluster(url, { clientName: node }).catch((e: unknown) => {
    throw new Error(`\n\n*** NATS UNREACHABLE at ${NATS_URL}: ${(e as Error).message}\n*** start it (see .ci/run) or set CERTIM_TEST_NATS. ***\n`);
  })));
  // Production timings: a shorter dead-after makes a node stalled by a loaded host look dead (and be reaped).
  const directories = nodes.map((node, i) => new NatsDirectory({ connection: conns[i]!, node }));
  return {
    directories,
    async ready() {
      const deadline = Date.now() + 10_000;
      for (const [i, d] of directories.entries()) {
        const others = nodes.filter((_, j) => j !== i);
        while (!others.every((o) => d.liveNodes().includes(o))) {
          assert.ok(Date.now() < deadline, `${nodes[i]} hears ${others.join(', ')} within 10 s`);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    },
    async close() {
      for (const d of directories) await d.close().catch(() => undefined);
      try {
        await (await new Kvm(conns[0]!.nc).open(conns[0]!.bucket('sessions'))).destroy();
      } finally {
        for (const c of conns) await c.close();
      }
    },
  };
});

test('nats directory: a record left empty is purged from the bucket; signing on again afterwards works', async () => {
  const url = `${NATS_URL}?name=t${run}purge`;
  const conn = await connectCluster(url, { clientName: 'p1' });
  const d = new NatsDirectory({ connection: conn, node: 'p1', purgeEmptyAfterMs: 0, heartbeatMs: 200 });
  const ep = new RecordingEndpoint();
  const kv = await new Kvm(conn.nc).create(conn.bucket('sessions'));
  try {
    await d.start(ep);
    const entry = { address: { node: 'p1', sessionId: 's1' }, user: 'alice', service: 'bos', exclusive: false, presence: snapshot('Alice') };
    await d.register(entry);
    await d.unregister(entry.address);
    await ep.waitFor('departure', () => ep.lastEvent('alice')?.sessions.length === 0);
    const deadline = Date.now() + 5000;
    while ((await kv.get('u.alice'))?.operation !== 'PURGE') {
      assert.ok(Date.now() < deadline, 'record purged within 5 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(await d.sessionsOf('alice'), []);
    await d.register({ ...entry, address: { node: 'p1', sessionId: 's2' } });
    await ep.waitFor('arrival after the purge', () => ep.lastEvent('alice')?.sessions.length === 1);
    assert.equal((await d.sessionsOf('alice')).length, 1);
  } finally {
    await d.close();
    await kv.destroy().catch(() => undefined);
    await conn.close();
  }
});

test('nats directory: a watch that ends is resumed from the next revision, and changes made meanwhile still arrive', async () => {
  const url = `${NATS_URL}?name=t${run}rewatch`;
  const [c1, c2] = await Promise.all([connectCluster(url, { clientName: 'w1' }), connectCluster(url, { clientName: 'w2' })]);
  const logged: string[] = [];
  const d1 = new NatsDirectory({ connection: c1, node: 'w1', log: (_l, event, fields) => logged.push(`${event} ${String(fields?.operation ?? '')}`) });
  const d2 = new NatsDirectory({ connection: c2, node: 'w2' });
  const [e1, e2] = [new RecordingEndpoint(), new RecordingEndpoint()];
  try {
    await d1.start(e1);
    await d2.start(e2);
    // Unit edge case: end d1's watch from outside (as a deleted consumer or a server error would).
    (d1 as unknown as { watcher: { stop(): void } }).watcher.stop();
    await d2.register({ address: { node: 'w2', sessionId: 'b' }, user: 'bob', service: 'bos', exclusive: false, presence: snapshot('Bob') });
    await e1.waitFor('bob arrives at w1 after the watch resumed', () => e1.lastEvent('bob')?.sessions.length === 1);
    assert.equal(e1.events.filter((e) => e.user === 'bob').length, 1, 'exactly once');
    assert.ok(logged.some((m) => m.includes('watching again')), 'it came through a resumed watch');
    assert.equal((await d1.lookup(['bob'])).get('bob')?.length, 1, 'the replica caught up too');
  } finally {
    await closeNatsNodes([d1, d2], [c1, c2]);
  }
});

test('nats directory: a write resolves only once every live node\'s replica holds it, so a send there right after sees it', async () => {
  const url = `${NATS_URL}?name=t${run}seen`;
  const [c1, c2] = await Promise.all([connectCluster(url, { clientName: 'r1' }), connectCluster(url, { clientName: 'r2' })]);
  const d1 = new NatsDirectory({ connection: c1, node: 'r1' });
  const d2 = new NatsDirectory({ connection: c2, node: 'r2' });
  const [e1, e2] = [new RecordingEndpoint(), new RecordingEndpoint()];
  try {
    await d1.start(e1);
    await d2.start(e2);
    const deadline = Date.now() + 5000;
    while (!d2.liveNodes().includes('r1')) {
      assert.ok(Date.now() < deadline, 'r2 hears r1 within 5 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    const snac = { delivery: { kind: 'snac' as const, family: 4, subtype: 7, body: new Uint8Array([1]) } };
    for (let i = 0; i < 25; i++) {
      const address = { node: 'r2', sessionId: `s${i}` };
      await d2.register({ address, user: `u${i}`, service: 'bos', exclusive: false, presence: snapshot(`U${i}`) });
      assert.deepEqual(await d1.sendToUser(`u${i}`, snac), { targeted: 1, accepted: 1 }, `u${i} reached right after signing on`);
      await d2.unregister(address);
      assert.deepEqual(await d1.sendToUser(`u${i}`, snac), { targeted: 0, accepted: 0 }, `u${i} offline right after signing off`);
    }
  } finally {
    await closeNatsNodes([d1, d2], [c1, c2]);
  }
});
