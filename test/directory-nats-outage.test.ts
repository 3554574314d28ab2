/**
 * The NATS directory's failure model with a real NATS server and a real network cut: node n2 reaches NATS through
 * a TCP relay this test can cut. While n2 is cut off, the other node declares it dead and removes its sessions (the
 * departure reaches n1); when n2 comes back, it signs off the sessions the cluster no longer lists, exactly once,
 * and works again for new sessions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connectCluster } from '../src/server/cluster/nats-connection.js';
import { NatsDirectory, NODE_LOST_REASON } from '../src/server/cluster/nats-directory.js';
import { RecordingEndpoint, snapshot } from './directory-conformance.js';
import { closeNatsNodes } from './support/nats-directories.js';
import { cuttableRelay } from './support/cuttable-relay.js';

const NATS = (process.env.CERTIM_TEST_NATS ?? 'nats://127.0.0.1:4222').replace(/^nats:\/\//, '').replace(/\/.*$/, '');

test('a node cut off from NATS is reaped by the others, and signs its orphaned sessions off when it returns', async () => {
  const name = `t${randomBytes(3).toString('hex')}outage`;
  const relay = await cuttableRelay(NATS);
  const c1 = await connectCluster(`nats://${NATS}?name=${name}`, { clientName: 'n1' });
  const c2 = await connectCluster(`nats://127.0.0.1:${relay.port}?name=${name}`, { clientName: 'n2' });
  const timing = { heartbeatMs: 200, deadAfterMs: 1000 };
  const d1 = new NatsDirectory({ connection: c1, node: 'n1', ...timing });
  const d2 = new NatsDirectory({ connection: c2, node: 'n2', ...timing });
  const [e1, e2] = [new RecordingEndpoint(), new RecordingEndpoint()];
  try {
    await d1.start(e1);
    await d2.start(e2);
    await d2.register({ address: { node: 'n2', sessionId: 's1' }, user: 'bob', service: 'bos', exclusive: false, presence: snapshot('Bob') });
    await e1.waitFor('bob online at n1', () => e1.lastEvent('bob')?.sessions.length === 1);

    await relay.cut();
    await e1.waitFor('bob reaped', () => e1.lastEvent('bob')?.sessions.length === 0);
    assert.equal(e1.lastEvent('bob')!.removed, true);
    assert.deepEqual(await d1.sessionsOf('bob'), []);
    assert.equal(e2.to('s1').length, 0, 'nothing reaches n2 while it is cut off');

    await relay.restore();
    await e2.waitFor('orphaned session signed off', () => e2.to('s1').length > 0);
    // Give a second path (the watched change) time to arrive too: still exactly one sign-off.
    await d2.register({ address: { node: 'n2', sessionId: 's2' }, user: 'carl', service: 'bos', exclusive: false, presence: snapshot('Carl') });
    await e1.waitFor('n2 works again', () => e1.lastEvent('carl')?.sessions.length === 1);
    assert.deepEqual(e2.to('s1').map((e) => e.delivery), [{ kind: 'sign-off', reason: NODE_LOST_REASON }]);
    assert.deepEqual(await d1.sendToUser('carl', { delivery: { kind: 'snac', family: 4, subtype: 7, body: new Uint8Array([1]) } }), { targeted: 1, accepted: 1 });
  } finally {
    await closeNatsNodes([d1, d2], [c1, c2]);
    await relay.close();
  }
});
