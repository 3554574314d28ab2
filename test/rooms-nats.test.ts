// The room-registry conformance suite on JetStream KV: two nodes, each its own NATS connection (as two processes
// would have), one fresh cluster name per registry, the bucket destroyed afterwards. Plus what only a cluster has:
// a node that died holds no place in a room. NATS unreachable at CERTIM_TEST_NATS FAILS loudly.
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kvm } from '@nats-io/kv';
import { connectCluster, type ClusterConnection } from '../src/server/cluster/nats-connection.js';
import { NatsRooms } from '../src/server/cluster/nats-rooms.js';
import type { RoomLimits } from '../src/server/cluster/rooms.js';
import { roomSpec, roomsConformance } from './rooms-conformance.js';

const NATS_URL = process.env.CERTIM_TEST_NATS ?? 'nats://127.0.0.1:4222';
const run = randomBytes(3).toString('hex');
let n = 0;

async function twoNodes(limits: RoomLimits, alive: (node: string) => boolean = () => true) {
  const url = `${NATS_URL}?name=t${run}r${++n}`;
  const conns: ClusterConnection[] = await Promise.all(['n1', 'n2'].map((node) => connectCluster(url, { clientName: node }).catch((e: unknown) => {
    throw new Error(`\n\n*** NATS UNREACHABLE at ${NATS_URL}: ${(e as Error).message}\n*** start it (see .ci/run) or set CERTIM_TEST_NATS. ***\n`);
  })));
  const buckets = await Promise.all(conns.map((c) => NatsRooms.openBucket(c)));
  const nodes: [NatsRooms, NatsRooms] = [new NatsRooms(buckets[0]!, 'n1', limits, alive), new NatsRooms(buckets[1]!, 'n2', limits, alive)];
  return {
    nodes,
    async close() {
      try {
        await (await new Kvm(conns[0]!.nc).open(conns[0]!.bucket('rooms'))).destroy();
      } finally {
        for (const c of conns) await c.close();
      }
    },
  };
}

roomsConformance('nats', (limits) => twoNodes(limits));

test('nats rooms: the places held by a node that died are freed; the room then lives its empty lifetime', async () => {
  const dead = new Set<string>();
  const c = await twoNodes({ maxRooms: 10, maxRoomsPerCreator: 10, maxOccupancy: 2, maxPerMember: 2, emptyTtlMs: 1000 }, (node) => !dead.has(node));
  const [a, b] = c.nodes;
  try {
    const { room } = await a.createOrGet(roomSpec('Fragile'), 0);
    await a.enter(room.cookie, 'alice', 1);
    await a.enter(room.cookie, 'bob', 1);
    await assert.rejects(b.enter(room.cookie, 'carol', 1), /ROOM_FULL|occupants/);
    dead.add('n1');
    assert.equal((await b.get(room.cookie, 5000))?.occupants, 0, 'a dead node\'s holds are not counted');
    await b.enter(room.cookie, 'carol', 5000);
    await b.enter(room.cookie, 'alice', 5000);
    assert.equal((await b.get(room.cookie, 5000))?.occupants, 2);
    await b.leave(room.cookie, 'carol', 6000);
    await b.leave(room.cookie, 'alice', 6000);
    assert.ok(await b.get(room.cookie, 6999));
    assert.equal(await b.get(room.cookie, 7000), undefined);
  } finally {
    await c.close();
  }
});
