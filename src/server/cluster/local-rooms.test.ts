/**
 * The in-process room registry: create-or-get by normalized name, limits (rooms, rooms per creator, occupancy, connections per member),
 * and the empty-room lifetime that lets a creator join and a member reconnect (cluster/rooms.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalRooms } from './local-rooms.js';
import { RoomError, normalizeRoomName, roomDirectoryKey } from './rooms.js';

const limits = { maxRooms: 3, maxRoomsPerCreator: 2, maxOccupancy: 3, maxPerMember: 2, emptyTtlMs: 1000 };
const spec = (name: string, creator = 'alice') => ({ exchange: 4, name, creator, tlvs: Uint8Array.of(0, 0xdb, 0, 1, 0x78), cookie: `!aol://2719:10-4-${encodeURIComponent(name)}` });

test('room names compare case-insensitively with white space folded; directory keys are never screen names', () => {
  assert.equal(normalizeRoomName('  Secret\t\tPlans '), 'secret plans');
  assert.equal(roomDirectoryKey(4, 'Secret Plans'), roomDirectoryKey(4, 'secret  plans'));
  assert.notEqual(roomDirectoryKey(4, 'a'), roomDirectoryKey(5, 'a'));
  assert.match(roomDirectoryKey(4, 'café'), /^room_4_[0-9a-f]+$/);
});

test('create-or-get, limits, occupancy, and the empty-room lifetime', async () => {
  const rooms = new LocalRooms(limits);
  const a = await rooms.createOrGet(spec('Secret Plans'), 0);
  assert.equal(a.created, true);
  const again = await rooms.createOrGet(spec('secret plans', 'bob'), 10);
  assert.deepEqual([again.created, again.room.cookie, again.room.creator], [false, a.room.cookie, 'alice']);
  assert.deepEqual([...again.room.tlvs], [0, 0xdb, 0, 1, 0x78]);
  await rooms.createOrGet(spec('Two'), 0);
  await assert.rejects(rooms.createOrGet(spec('Three'), 0), (e: unknown) => RoomError.is(e, 'ROOM_CREATOR_LIMIT'));
  await rooms.createOrGet(spec('Bobs', 'bob'), 0);
  await assert.rejects(rooms.createOrGet(spec('Four', 'carol'), 0), (e: unknown) => RoomError.is(e, 'ROOM_LIMIT'));

  // Occupied rooms live on; empty ones expire emptyTtlMs after creation or after the last leave.
  await rooms.enter(a.room.cookie, 'alice', 500);
  await rooms.enter(a.room.cookie, 'alice', 500);
  await assert.rejects(rooms.enter(a.room.cookie, 'alice', 500), (e: unknown) => RoomError.is(e, 'ROOM_MEMBER_LIMIT'));
  await rooms.enter(a.room.cookie, 'bob', 500);
  await assert.rejects(rooms.enter(a.room.cookie, 'carol', 500), (e: unknown) => RoomError.is(e, 'ROOM_FULL'));
  assert.equal((await rooms.get(a.room.cookie, 5000))?.occupants, 3);
  await rooms.leave(a.room.cookie, 'carol', 5000); // never entered: no effect
  assert.equal((await rooms.get(a.room.cookie, 5000))?.occupants, 3);
  assert.equal(await rooms.get(spec('Two').cookie, 5000), undefined, 'never joined: gone after the lifetime');
  for (const u of ['alice', 'alice', 'bob']) await rooms.leave(a.room.cookie, u, 6000);
  assert.ok(await rooms.get(a.room.cookie, 6999), 'a reconnecting member finds the room');
  assert.equal(await rooms.get(a.room.cookie, 7000), undefined);
  await assert.rejects(rooms.enter(a.room.cookie, 'alice', 7000), (e: unknown) => RoomError.is(e, 'ROOM_NOT_FOUND'));
  // Expired rooms no longer count against the limits.
  assert.equal((await rooms.createOrGet(spec('Four', 'carol'), 7000)).created, true);
  assert.ok(rooms.size <= limits.maxRooms);
});
