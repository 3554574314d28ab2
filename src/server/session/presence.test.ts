import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bosService } from '../services/bos.js';
import { decodeUserInfo } from '../../wire/user-info.js';
import { locateFamily } from '../families/locate.js';
import { oserviceFamily } from '../families/oservice.js';
import { fakeEngine, readySession } from '../testing/fakes.js';
import { endSession } from './lifecycle.js';
import { visibleTo } from './presence.js';
import { privacyFrom } from './privacy.js';
import { permitDenyFamily } from '../families/permit-deny.js';
import { buddyFamily } from '../families/buddy.js';
import { decodeSnacError } from '../../wire/snac.js';
import { encodeScreenNameList } from '../../wire/families/buddy.js';
import type { UserInfo } from '../../wire/user-info.js';

const SECURE_IM = Uint8Array.from([0x09, 0x46, 0x00, 0x01, 0x4c, 0x7f, 0x11, 0xd1, 0x82, 0x22, 0x44, 0x45, 0x53, 0x54, 0x00, 0x00]);

const cases: Array<{ name: string; family: typeof oserviceFamily; subtype: number; body: Uint8Array; check: (u: UserInfo) => boolean }> = [
  { name: 'idle 01/11', family: oserviceFamily, subtype: 0x11, body: Uint8Array.from([0, 0, 0x0e, 0x10]), check: (u) => u.idleMinutes === 60 },
  { name: 'status 01/1E', family: oserviceFamily, subtype: 0x1e, body: Uint8Array.from([0, 6, 0, 4, 0, 0, 0, 2]), check: (u) => u.status === 2 },
  { name: 'away 02/04', family: locateFamily, subtype: 0x04, body: Uint8Array.from([0, 4, 0, 2, 0x68, 0x69]), check: (u) => u.isAway },
  { name: 'caps 02/04', family: locateFamily, subtype: 0x04, body: Uint8Array.from([0, 5, 0, 16, ...SECURE_IM]), check: (u) => u.capabilities.length === 1 },
];

for (const c of cases) {
  test(`watchers get a fresh arrival after ${c.name} (cached block invalidated)`, async () => {
    const { engine } = fakeEngine(['bob', 'alice']);
    const bob = readySession(engine, 'bob');
    const alice = readySession(engine, 'alice');
    alice.session.clientBuddies.add('bob');
    engine.presence.reindex(alice.session);
    engine.presence.broadcast(bob.session); // warms the cache with the old state
    const before = decodeUserInfo(alice.link.of(3, 0x0b)[0]!.body);
    assert.equal(c.check(before), false);
    await c.family.handlers[c.subtype]!({ engine, session: bob.session, service: bosService }, c.body);
    const arrivals = alice.link.of(3, 0x0b);
    assert.equal(arrivals.length, 2);
    const after = decodeUserInfo(arrivals[1]!.body);
    assert.equal(c.check(after), true);
    assert.ok(after.tlvs.has(0x000d), 'capabilities TLV always present');
  });
}

test('departure goes only to watchers allowed to see the user; blocking is symmetric', async () => {
  const { engine } = fakeEngine(['bob', 'alice', 'carol']);
  const bob = readySession(engine, 'bob');
  const alice = readySession(engine, 'alice');
  const carol = readySession(engine, 'carol');
  for (const w of [alice, carol]) {
    w.session.clientBuddies.add('bob');
    engine.presence.reindex(w.session);
  }
  carol.session.privacy = { mode: 4, permit: new Set(), deny: new Set(['bob']) };
  await engine.presence.arrivalsFor(carol.session);
  assert.equal(carol.link.of(3, 0x0b).length, 0, 'carol blocks bob: no arrival');
  await engine.presence.arrivalsFor(alice.session);
  assert.equal(alice.link.of(3, 0x0b).length, 1);
  endSession(engine, bob.session);
  assert.equal(alice.link.of(3, 0x0c).length, 1);
  assert.equal(carol.link.of(3, 0x0c).length, 0);
});

test('several sessions: watchers see the active one, and a departure only when the last one leaves', async () => {
  const { engine, clock } = fakeEngine(['carol', 'dave']);
  const dave = readySession(engine, 'dave');
  dave.session.clientBuddies.add('carol');
  engine.presence.reindex(dave.session);
  const phone = readySession(engine, 'carol', 1);
  const desk = readySession(engine, 'carol', 1);
  clock.t += 120_000;
  desk.session.idleSince = clock.t - 600_000;
  await engine.presence.broadcast(desk.session);
  const last = () => decodeUserInfo(dave.link.of(3, 0x0b).at(-1)!.body);
  assert.equal(last().idleMinutes, undefined, 'the phone is active, so carol is shown active');
  assert.equal(engine.presence.readySessionCount('carol'), 2);
  endSession(engine, phone.session);
  assert.equal(last().idleMinutes, 10, 'only the idle desk is left');
  assert.equal(dave.link.of(3, 0x0c).length, 0);
  endSession(engine, desk.session);
  assert.equal(dave.link.of(3, 0x0c).length, 1);
});

test('a privacy edit in one session applies to the user\'s other sessions: a blocked sender reaches none of them', async () => {
  const { engine, clock } = fakeEngine(['carol', 'dave']);
  const a = readySession(engine, 'carol', 1);
  const b = readySession(engine, 'carol', 1);
  const dave = readySession(engine, 'dave');
  clock.t += 1000;
  // carol blocks dave in session a (PermitDeny 09/07 add deny).
  await permitDenyFamily.handlers[0x07]!({ engine, session: a.session, service: bosService }, encodeScreenNameList(['dave']));
  assert.equal(b.session.privacy.mode, 4);
  assert.ok(b.session.privacy.deny.has('dave'));
  const r = await engine.directory.sendToUser('carol', { delivery: { kind: 'snac', family: 4, subtype: 7, body: Uint8Array.of(0) }, from: dave.session.key });
  assert.deepEqual(r, { targeted: 2, accepted: 0 });
  // An older snapshot (session b's idle change) does not undo it.
  b.session.idleSince = clock.t;
  await engine.presence.broadcast(b.session);
  assert.ok(a.session.privacy.deny.has('dave'));
});

test('users who never set privacy share the frozen default, and one user\'s edit leaves the others open', async () => {
  const { engine } = fakeEngine(['carol', 'dave', 'erin']);
  const carol = readySession(engine, 'carol');
  const dave = readySession(engine, 'dave');
  const erin = readySession(engine, 'erin');
  assert.equal(carol.session.privacy, dave.session.privacy);
  assert.ok(Object.isFrozen(carol.session.privacy));
  // carol blocks erin (PermitDeny 09/07 add deny): only carol's settings change.
  await permitDenyFamily.handlers[0x07]!({ engine, session: carol.session, service: bosService }, encodeScreenNameList(['erin']));
  assert.equal(carol.session.privacy.mode, 4);
  assert.ok(carol.session.privacy.deny.has('erin'));
  assert.equal(dave.session.privacy.mode, 1);
  assert.equal(dave.session.privacy.deny.size, 0);
  assert.equal(erin.session.privacy.deny.size, 0);
});

test('a session keeps no buddy Set until it has a buddy list', () => {
  const { engine } = fakeEngine(['carol']);
  const s = readySession(engine, 'carol').session;
  assert.equal(s.buddies().size, 0);
  assert.equal((s as unknown as { ownBuddies?: Set<string> }).ownBuddies, undefined);
  s.clientBuddies.add('dave');
  assert.deepEqual([...s.buddies()], ['dave']);
});

test('a permit/deny edit that changes nothing is not re-announced (each announcement is a presence event per session)', async () => {
  const { engine } = fakeEngine(['carol', 'dave']);
  const a = readySession(engine, 'carol', 1);
  readySession(engine, 'carol', 1);
  const updates: string[] = [];
  const update = engine.directory.update.bind(engine.directory);
  engine.directory.update = (address, presence) => {
    updates.push(address.sessionId);
    return update(address, presence);
  };
  const edit = (subtype: number, names: string[]) =>
    permitDenyFamily.handlers[subtype]!({ engine, session: a.session, service: bosService }, encodeScreenNameList(names));
  await edit(0x07, ['dave']); // add deny: a change, announced by both sessions
  assert.equal(updates.length, 2);
  await edit(0x07, ['dave']); // dave is already denied, mode already "deny some"
  await edit(0x08, ['nobody']); // remove a deny that is not there
  await edit(0x06, ['nobody']); // remove a permit that is not there
  assert.equal(updates.length, 2, 'no-op edits publish nothing');
  await edit(0x08, ['dave']); // a real removal is announced again
  assert.equal(updates.length, 4);
  assert.equal(a.session.privacy.deny.has('dave'), false);
});

test('mode 5 (only my buddies): a name on either buddy list is let in, nobody else, and edits count at once', async () => {
  const { engine } = fakeEngine(['carol', 'dave', 'erin', 'fred']);
  const carol = readySession(engine, 'carol').session;
  carol.privacy = privacyFrom(5, [], []);
  carol.clientBuddies.add('dave');
  carol.feedbagBuddies = new Set(['erin']);
  assert.deepEqual(['dave', 'erin', 'fred'].map((k) => visibleTo(carol, k)), [true, true, false]);
  carol.clientBuddies.delete('dave');
  carol.clientBuddies.add('fred');
  carol.feedbagBuddies = new Set();
  assert.deepEqual(['dave', 'erin', 'fred'].map((k) => visibleTo(carol, k)), [false, false, true]);
  // Other modes never consult the buddy lists.
  carol.privacy = privacyFrom(4, [], ['fred']);
  assert.deepEqual(['dave', 'fred'].map((k) => visibleTo(carol, k)), [true, false]);
});

test('03/04: names added before the list overflows are watched (arrivals sent), then error 0x15 list overflow; no-op edits re-index nothing', async () => {
  const { engine } = fakeEngine(['carol', 'dave', 'erin', 'fred'], { maxBuddies: 2 });
  const carol = readySession(engine, 'carol');
  readySession(engine, 'dave');
  readySession(engine, 'erin');
  readySession(engine, 'fred');
  const add = (names: string[]) => buddyFamily.handlers[0x04]!({ engine, session: carol.session, service: bosService }, encodeScreenNameList(names));
  const del = (names: string[]) => buddyFamily.handlers[0x05]!({ engine, session: carol.session, service: bosService }, encodeScreenNameList(names));
  let reindexed = 0;
  const reindex = engine.presence.reindex.bind(engine.presence);
  engine.presence.reindex = (s) => {
    reindexed++;
    reindex(s);
  };
  assert.equal(await add(['dave']), undefined);
  const replies = await add(['erin', 'fred']);
  assert.ok(Array.isArray(replies) && replies.length === 1, 'one error reply');
  assert.equal(decodeSnacError(replies[0]!.body).code, 0x15);
  assert.deepEqual([...carol.session.clientBuddies].sort(), ['dave', 'erin']);
  assert.deepEqual(carol.link.of(3, 0x0b).map((a) => decodeUserInfo(a.body).screenName).sort(), ['dave', 'erin'], 'arrivals of the two that fit');
  assert.equal(reindexed, 2);
  await add(['dave']); // already there
  await del(['nobody']); // not there
  assert.equal(reindexed, 2, 'no-op edits re-index nothing');
  await del(['dave']);
  assert.equal(reindexed, 3);
});
