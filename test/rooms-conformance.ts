/**
 * The one room-registry conformance suite: every implementation (in-process, NATS) runs exactly these tests. A
 * harness makes a fresh, isolated registry seen from two nodes (in-process: one instance twice; NATS: two
 * connections), so concurrency is tested the way a cluster sees it: creators and joiners at different nodes at once.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomError, type RoomLimits, type RoomRegistry, type RoomSpec } from '../src/server/cluster/rooms.js';

/** Two views of one fresh registry. */
export interface RoomsCluster {
  /** The registry as node 0 and node 1 see it. */
  nodes: [RoomRegistry, RoomRegistry];
  /** Ends what the harness started. */
  close(): Promise<void>;
}

/** Makes a fresh registry with `limits`. */
export type RoomsHarness = (limits: RoomLimits) => Promise<RoomsCluster>;

/** A user-room spec as ChatNav makes it. */
export const roomSpec = (name: string, creator = 'alice'): RoomSpec => ({
  exchange: 4, name, creator, tlvs: Uint8Array.of(0, 0xdb, 0, 1, 0x78), cookie: `!aol://2719:10-4-${encodeURIComponent(name)}`,
});

const limits: RoomLimits = { maxRooms: 3, maxRoomsPerCreator: 2, maxOccupancy: 3, maxPerMember: 2, emptyTtlMs: 1000 };
const is = (code: RoomError['code']) => (e: unknown) => RoomError.is(e, code);

/** Runs the suite against one implementation. */
export function roomsConformance(name: string, harness: RoomsHarness): void {
  describe(`room registry conformance: ${name}`, () => {
    const withRooms = async (l: RoomLimits, fn: (a: RoomRegistry, b: RoomRegistry) => Promise<void>): Promise<void> => {
      const c = await harness(l);
      try {
        await fn(c.nodes[0], c.nodes[1]);
      } finally {
        await c.close();
      }
    };

    test('create-or-get across nodes, room limits, occupancy, and the empty-room lifetime', () => withRooms(limits, async (a, b) => {
      const r = await a.createOrGet(roomSpec('Secret Plans'), 0);
      assert.equal(r.created, true);
      const again = await b.createOrGet(roomSpec('secret plans', 'bob'), 10);
      assert.deepEqual([again.created, again.room.cookie, again.room.creator, again.room.key], [false, r.room.cookie, 'alice', r.room.key]);
      assert.deepEqual([...again.room.tlvs], [0, 0xdb, 0, 1, 0x78]);
      await b.createOrGet(roomSpec('Two'), 0);
      await assert.rejects(a.createOrGet(roomSpec('Three'), 0), is('ROOM_CREATOR_LIMIT'));
      await a.createOrGet(roomSpec('Bobs', 'bob'), 0);
      await assert.rejects(b.createOrGet(roomSpec('Four', 'carol'), 0), is('ROOM_LIMIT'));

      await a.enter(r.room.cookie, 'alice', 500);
      await b.enter(r.room.cookie, 'alice', 500);
      await assert.rejects(a.enter(r.room.cookie, 'alice', 500), is('ROOM_MEMBER_LIMIT'));
      await b.enter(r.room.cookie, 'bob', 500);
      await assert.rejects(a.enter(r.room.cookie, 'carol', 500), is('ROOM_FULL'));
      assert.equal((await b.get(r.room.cookie, 5000))?.occupants, 3);
      await a.leave(r.room.cookie, 'carol', 5000); // never entered: no effect
      assert.equal((await a.get(r.room.cookie, 5000))?.occupants, 3);
      assert.equal(await a.get(roomSpec('Two').cookie, 5000), undefined, 'never joined: gone after the lifetime');
      await a.leave(r.room.cookie, 'alice', 6000);
      await b.leave(r.room.cookie, 'alice', 6000);
      await b.leave(r.room.cookie, 'bob', 6000);
      assert.ok(await a.get(r.room.cookie, 6999), 'a reconnecting member finds the room');
      assert.equal(await b.get(r.room.cookie, 7000), undefined);
      await assert.rejects(a.enter(r.room.cookie, 'alice', 7000), is('ROOM_NOT_FOUND'));
      assert.equal(await a.get('!aol://2719:10-4-No%20Such%20Room', 0), undefined);
      for (const junk of ['x', '', 'aol://2719:10-4-Secret%20Plans', r.room.key]) {
        assert.equal(await b.get(junk, 5000), undefined, `cookie ${JSON.stringify(junk)} names no room`);
        await assert.rejects(b.enter(junk, 'alice', 5000), is('ROOM_NOT_FOUND'));
      }
      // Expired rooms no longer count against the limits.
      assert.equal((await b.createOrGet(roomSpec('Four', 'carol'), 7000)).created, true);
    }));

    test('joiners racing at two nodes never exceed the occupancy limit', () => withRooms({ ...limits, maxOccupancy: 5, maxPerMember: 1 }, async (a, b) => {
      const { room } = await a.createOrGet(roomSpec('Crowded'), 0);
      const users = Array.from({ length: 16 }, (_, i) => `u${i}`);
      const results = await Promise.allSettled(users.map((u, i) => (i % 2 ? a : b).enter(room.cookie, u, 1)));
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      assert.equal(ok, 5, 'exactly the limit got in');
      for (const r of results) if (r.status === 'rejected') assert.ok(RoomError.is(r.reason, 'ROOM_FULL'), String(r.reason));
      assert.equal((await b.get(room.cookie, 2))?.occupants, 5);
      // One user's connections racing at both nodes: never more than maxPerMember.
      const { room: solo } = await b.createOrGet(roomSpec('Solo'), 0);
      const mine = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).enter(solo.cookie, 'dave', 1)));
      assert.equal(mine.filter((r) => r.status === 'fulfilled').length, 1);
    }));

    test('creators racing at two nodes: one room per name, and the room limit holds', () => withRooms({ ...limits, maxRooms: 4, maxRoomsPerCreator: 100 }, async (a, b) => {
      const same = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).createOrGet(roomSpec('Lobby', `c${i}`), 0)));
      assert.equal(same.filter((r) => r.created).length, 1, 'one creator won');
      assert.equal(new Set(same.map((r) => r.room.creator)).size, 1, 'everyone got the winner\'s room');
      const many = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).createOrGet(roomSpec(`Room ${i}`, `c${i}`), 0)));
      assert.equal(many.filter((r) => r.status === 'fulfilled').length, 3, 'the limit of 4 rooms (Lobby is one)');
      for (const r of many) if (r.status === 'rejected') assert.ok(RoomError.is(r.reason, 'ROOM_LIMIT'), String(r.reason));
    }));
  });
}
