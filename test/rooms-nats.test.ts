// The room-registry conformance suite on JetStream KV: two nodes, each its own NATS connection (as two processes
// would have), one fresh cluster name per registry, the bucket destroyed afterwards. Plus what only a cluster has:
// a node that died holds no place in a room. NATS unreachable at CERTIM_TEST_NATS FAILS loudly.
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kvm, type KV } from '@nats-io/kv';
import { connectCluster, type ClusterConnection } from '../src/server/cluster/nats-connection.js';
import { NatsRooms } from '../src/server/cluster/nats-rooms.js';
import { RoomError, type RoomLimits } from '../src/server/cluster/rooms.js';
import { roomSpec, roomsConformance } from './rooms-conformance.js';

const NATS_URL = process.env.CERTIM_TEST_NATS ?? 'nats://127.0.0.1:4222';
const run = randomBytes(3).toString('hex');
let n = 0;

async function twoNodes(limits: RoomLimits, alive: (node: string) => boolean = () => true, reads?: { count: number }) {
  const url = `${NATS_URL}?name=t${run}r${++n}`;
  const conns: ClusterConnection[] = await Promise.all(['n1', 'n2'].map((node) => connectCluster(url, { clientName: node }).catch((e: unknown) => {
    throw new Error(`\n\n*** NATS UNREACHABLE at ${NATS_URL}: ${(e as Error).message}\n*** start it (see .ci/run) or set CERTIM_TEST_NATS. ***\n`);
  })));
  const opened = await Promise.all(conns.map((c) => NatsRooms.openBucket(c)));
  // Counting the record reads of node n1, when asked: what a request costs the node and nats-server.
  const buckets = reads ? [countingReads(opened[0]!, reads), opened[1]!] : opened;
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

function countingReads(kv: KV, reads: { count: number }): KV {
  return new Proxy(kv, {
    get(target, prop, receiver) {
      if (prop === 'get') return (...args: Parameters<KV['get']>) => (reads.count++, target.get(...args));
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

roomsConformance('nats', (limits) => twoNodes(limits));

test('nats rooms: a create refused at a limit reads only what it must, however often it is asked', async () => {
  const reads = { count: 0 };
  const c = await twoNodes({ maxRooms: 30, maxRoomsPerCreator: 3, maxOccupancy: 2, maxPerMember: 2, emptyTtlMs: 60_000 }, () => true, reads);
  const [a] = c.nodes;
  try {
    // 27 live rooms of others, 3 of alice's: alice is at her own limit, the cluster at its.
    for (let i = 0; i < 27; i++) await a.createOrGet(roomSpec(`Other ${i}`, `user${i}`), 0);
    for (let i = 0; i < 3; i++) await a.createOrGet(roomSpec(`Mine ${i}`), 0);
    const cost = async (spec: ReturnType<typeof roomSpec>, code: RoomError['code'], at: number): Promise<number> => {
      const before = reads.count;
      await assert.rejects(a.createOrGet(spec, at), (e: unknown) => RoomError.is(e, code));
      return reads.count - before;
    };
    // The cluster's limit: the first refusal sweeps every room (30 records); the next ones, within the sweep
    // interval, read only the room's own record and the index.
    assert.ok((await cost(roomSpec('New', 'zed'), 'ROOM_LIMIT', 1000)) >= 30);
    for (let i = 0; i < 10; i++) assert.equal(await cost(roomSpec(`New ${i}`, 'zed'), 'ROOM_LIMIT', 1000 + i), 2);
    // Past the interval, one sweep again.
    assert.ok((await cost(roomSpec('Later', 'zed'), 'ROOM_LIMIT', 7000)) >= 30);
  } finally {
    await c.close();
  }
  // Under the cluster's limit, a creator at their own limit: only their own rooms are looked at.
  const reads2 = { count: 0 };
  const c2 = await twoNodes({ maxRooms: 100, maxRoomsPerCreator: 3, maxOccupancy: 2, maxPerMember: 2, emptyTtlMs: 60_000 }, () => true, reads2);
  try {
    const [a2] = c2.nodes;
    for (let i = 0; i < 27; i++) await a2.createOrGet(roomSpec(`Other ${i}`, `user${i}`), 0);
    for (let i = 0; i < 3; i++) await a2.createOrGet(roomSpec(`Mine ${i}`), 0);
    for (let i = 0; i < 5; i++) {
      const before = reads2.count;
      await assert.rejects(a2.createOrGet(roomSpec(`More ${i}`), 100 + i), (e: unknown) => RoomError.is(e, 'ROOM_CREATOR_LIMIT'));
      assert.equal(reads2.count - before, 2 + 3, 'the room, the index and her three rooms');
    }
  } finally {
    await c2.close();
  }
});

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
