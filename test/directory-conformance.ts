/**
 * The one delivery-directory conformance suite: every implementation (in-process, NATS) runs exactly these tests.
 * An implementation file supplies a harness that starts a fresh cluster of named nodes, one directory each.
 *
 * Deliveries and presence events may arrive asynchronously (a network in between), so the tests wait for what they
 * expect with a deadline (`RecordingEndpoint.waitFor`) instead of sleeping, and assert absence only after a later
 * event on the same path has arrived (order per user and per caller is part of the contract).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DirectoryError, representative, type DeliveryDirectory, type Envelope, type NodeEndpoint, type PresenceEvent,
  type PresenceSnapshot, type SessionEntry,
} from '../src/server/cluster/directory.js';

/** A fresh cluster: one started-or-not directory per node name, all on one shared backend. */
export interface DirectoryCluster {
  /** One directory per requested node, in order (not started). */
  directories: DeliveryDirectory[];
  /** Ends everything the harness started (directories not closed yet are closed). */
  close(): Promise<void>;
  /**
   * Resolves once the started nodes know each other, where the implementation needs that (a write waits only for
   * the nodes it knows to be live; NATS: each node has heard every other's heartbeat).
   */
  ready?(): Promise<void>;
}

/** Makes fresh, isolated clusters. */
export type DirectoryHarness = (nodes: readonly string[]) => Promise<DirectoryCluster>;

/** Waiting budget for asynchronous implementations (a generous bound, not a sleep). */
const WAIT_MS = 5000;

/** An endpoint that records everything and lets tests wait for it; sessions can be marked ready / filtered. */
export class RecordingEndpoint implements NodeEndpoint {
  /** Deliveries accepted, in arrival order. */
  readonly deliveries: Array<{ sessionId: string; envelope: Envelope }> = [];
  /** Presence events, in arrival order. */
  readonly events: PresenceEvent[] = [];
  /** Sessions that refuse every delivery (as a closed or filtering session would). */
  readonly refusing = new Set<string>();
  private waiters: Array<() => void> = [];

  /** {@inheritDoc NodeEndpoint.deliver} */
  deliver(sessionId: string, envelope: Envelope): boolean {
    if (this.refusing.has(sessionId)) return false;
    this.deliveries.push({ sessionId, envelope });
    this.wake();
    return true;
  }

  /** {@inheritDoc NodeEndpoint.presenceChanged} */
  presenceChanged(event: PresenceEvent): void {
    this.events.push(event);
    this.wake();
  }

  /** Resolves when `pred` holds (checked now and after every arrival); rejects after the deadline. */
  waitFor(what: string, pred: () => boolean): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out waiting for ${what}`));
      }, WAIT_MS);
      const check = () => {
        if (!pred()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  /** Deliveries to one session. */
  to(sessionId: string): Envelope[] {
    return this.deliveries.filter((d) => d.sessionId === sessionId).map((d) => d.envelope);
  }

  /** The last presence event about `user`. */
  lastEvent(user: string): PresenceEvent | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i]!.user === user) return this.events[i];
    return undefined;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** A presence snapshot for tests. */
export function snapshot(screenName: string, extra: Partial<PresenceSnapshot> = {}): PresenceSnapshot {
  return {
    screenName, info: new Uint8Array([0, 1, 2, 0xff, 0x80]), at: 1_700_000_000_000, signedOnAt: 1_700_000_000_000,
    idle: false, away: false, privacy: { mode: 1, permit: [], deny: [], buddies: [], changedAt: 0 }, ...extra,
  };
}

const snac = (n: number): Envelope => ({ delivery: { kind: 'snac', family: 4, subtype: 7, body: new Uint8Array([n, 0, 255, 128]) } });
const bodyOf = (e: Envelope): number[] => (e.delivery.kind === 'snac' ? [...e.delivery.body] : []);

/** Registers the whole suite for one implementation. */
export function directoryConformance(name: string, harness: DirectoryHarness): void {
  describe(`directory conformance: ${name}`, () => {
    const clusters: DirectoryCluster[] = [];
    after(async () => {
      for (const c of clusters) await c.close().catch(() => undefined);
    });

    /** A started cluster with recording endpoints. */
    const cluster = async (nodes: readonly string[]) => {
      const c = await harness(nodes);
      clusters.push(c);
      const eps = c.directories.map(() => new RecordingEndpoint());
      await Promise.all(c.directories.map((d, i) => d.start(eps[i]!)));
      await c.ready?.();
      return { dirs: c.directories, eps, cluster: c };
    };
    const entry = (d: DeliveryDirectory, sessionId: string, user: string, opts: Partial<SessionEntry> = {}): SessionEntry =>
      ({ address: { node: d.node, sessionId }, user, service: 'bos', exclusive: false, ...opts });

    test('node names are as requested; a session of another node is refused', async () => {
      const { dirs } = await cluster(['n1', 'n2']);
      assert.deepEqual(dirs.map((d) => d.node), ['n1', 'n2']);
      await assert.rejects(dirs[0]!.register(entry(dirs[1]!, 's1', 'alice')), (e: unknown) => DirectoryError.is(e, 'DIRECTORY_FOREIGN_SESSION'));
    });

    test('sessions of one user on several nodes are all listed, from every node', async () => {
      const { dirs } = await cluster(['n1', 'n2']);
      await dirs[0]!.register(entry(dirs[0]!, 'a1', 'alice'));
      await dirs[1]!.register(entry(dirs[1]!, 'a2', 'alice', { presence: snapshot('Alice') }));
      for (const d of dirs) {
        const list = await d.sessionsOf('alice');
        assert.deepEqual(list.map((e) => `${e.address.node}/${e.address.sessionId}`).sort(), ['n1/a1', 'n2/a2']);
        assert.deepEqual([...(list.find((e) => e.address.node === 'n2')!.presence!.info)], [0, 1, 2, 0xff, 0x80]);
      }
      assert.deepEqual(await dirs[0]!.sessionsOf('nobody'), []);
      const found = await dirs[1]!.lookup(['alice', 'nobody', 'alice']);
      assert.deepEqual([...found.keys()], ['alice']);
      assert.equal(found.get('alice')!.length, 2);
    });

    test('an exclusive sign-on displaces every other session of the user, on every node, with a sign-off', async () => {
      const { dirs, eps } = await cluster(['n1', 'n2']);
      await dirs[0]!.register(entry(dirs[0]!, 'a1', 'alice', { presence: snapshot('Alice') }));
      await dirs[1]!.register(entry(dirs[1]!, 'a2', 'alice'));
      await dirs[0]!.register(entry(dirs[0]!, 'b1', 'bob'));
      const displaced = await dirs[1]!.register(entry(dirs[1]!, 'a3', 'alice', { exclusive: true }), { reason: 1 });
      assert.deepEqual(displaced.map((e) => e.address.sessionId).sort(), ['a1', 'a2']);
      await eps[0]!.waitFor('sign-off of a1', () => eps[0]!.to('a1').some((e) => e.delivery.kind === 'sign-off'));
      await eps[1]!.waitFor('sign-off of a2', () => eps[1]!.to('a2').some((e) => e.delivery.kind === 'sign-off'));
      assert.deepEqual(eps[0]!.to('a1').map((e) => e.delivery), [{ kind: 'sign-off', reason: 1 }]);
      assert.deepEqual((await dirs[0]!.sessionsOf('alice')).map((e) => e.address.sessionId), ['a3']);
      assert.equal((await dirs[0]!.sessionsOf('bob')).length, 1, 'other users are untouched');
      assert.equal(eps[0]!.to('b1').length, 0);
    });

    test('multi-session sign-ons coexist; a multi-session newcomer displaces only exclusive sessions', async () => {
      const { dirs, eps } = await cluster(['n1', 'n2']);
      await dirs[0]!.register(entry(dirs[0]!, 'x', 'alice', { exclusive: true }));
      assert.deepEqual((await dirs[1]!.register(entry(dirs[1]!, 'm1', 'alice'))).map((e) => e.address.sessionId), ['x']);
      await eps[0]!.waitFor('sign-off of x', () => eps[0]!.to('x').length === 1);
      assert.deepEqual(await dirs[0]!.register(entry(dirs[0]!, 'm2', 'alice')), []);
      assert.deepEqual(await dirs[1]!.register(entry(dirs[1]!, 'm3', 'alice')), []);
      assert.deepEqual((await dirs[0]!.sessionsOf('alice')).map((e) => e.address.sessionId).sort(), ['m1', 'm2', 'm3']);
    });

    test('takeover is per service: another service\'s sessions neither displace nor are displaced', async () => {
      const { dirs, eps } = await cluster(['n1', 'n2']);
      await dirs[0]!.register(entry(dirs[0]!, 'bos1', 'alice', { exclusive: true }));
      assert.deepEqual(await dirs[1]!.register(entry(dirs[1]!, 'chat1', 'alice', { exclusive: true, service: 'chat' })), []);
      const displaced = await dirs[1]!.register(entry(dirs[1]!, 'bos2', 'alice', { exclusive: true }));
      assert.deepEqual(displaced.map((e) => e.address.sessionId), ['bos1']);
      await eps[0]!.waitFor('sign-off of bos1', () => eps[0]!.to('bos1').length === 1);
      assert.deepEqual((await dirs[0]!.sessionsOf('alice')).map((e) => e.address.sessionId).sort(), ['bos2', 'chat1']);
      assert.equal(eps[1]!.to('chat1').length, 0);
    });

    test('concurrent exclusive sign-ons on two nodes leave exactly one session', async () => {
      const { dirs } = await cluster(['n1', 'n2']);
      for (let round = 0; round < 5; round++) {
        await Promise.all([
          dirs[0]!.register(entry(dirs[0]!, `p${round}`, 'carol', { exclusive: true })),
          dirs[1]!.register(entry(dirs[1]!, `q${round}`, 'carol', { exclusive: true })),
        ]);
        assert.equal((await dirs[0]!.sessionsOf('carol')).length, 1, `round ${round}`);
      }
      await Promise.all([
        dirs[0]!.register(entry(dirs[0]!, 'm1', 'dave')),
        dirs[1]!.register(entry(dirs[1]!, 'm2', 'dave')),
        dirs[0]!.register(entry(dirs[0]!, 'm3', 'dave')),
      ]);
      assert.equal((await dirs[1]!.sessionsOf('dave')).length, 3, 'concurrent multi-session sign-ons all stay');
    });

    test('a session limit holds across nodes, even for sign-ons racing at all of them, and counts one service', async () => {
      const { dirs } = await cluster(['n1', 'n2']);
      const limit = { maxSessions: 3 };
      // Twelve multi-session sign-ons of one user at once, six per node: exactly three stay, the rest are refused.
      const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => dirs[i % 2]!.register(entry(dirs[i % 2]!, `m${i}`, 'erin'), limit)));
      const refused = results.filter((r) => r.status === 'rejected');
      assert.equal(results.length - refused.length, 3);
      for (const r of refused) assert.ok(DirectoryError.is((r as PromiseRejectedResult).reason, 'DIRECTORY_SESSION_LIMIT'), String((r as PromiseRejectedResult).reason));
      for (const d of dirs) assert.equal((await d.sessionsOf('erin')).length, 3, 'a refused register changes nothing');
      // Another service does not count, and is not counted.
      await dirs[0]!.register(entry(dirs[0]!, 'c1', 'erin', { service: 'chat' }), limit);
      // An exclusive sign-on displaces the others first, so it always fits.
      const displaced = await dirs[1]!.register(entry(dirs[1]!, 'x', 'erin', { exclusive: true }), limit);
      assert.equal(displaced.length, 3);
      assert.deepEqual((await dirs[0]!.sessionsOf('erin')).map((e) => e.address.sessionId).sort(), ['c1', 'x']);
      // Without the option there is no limit.
      await dirs[0]!.register(entry(dirs[0]!, 'y', 'erin'));
      await dirs[0]!.register(entry(dirs[0]!, 'z', 'erin'));
      await dirs[1]!.register(entry(dirs[1]!, 'w', 'erin'));
      assert.equal((await dirs[1]!.sessionsOf('erin')).filter((e) => e.service === 'bos').length, 3);
      await assert.rejects(dirs[1]!.register(entry(dirs[1]!, 'v', 'erin'), limit), (e: unknown) => DirectoryError.is(e, 'DIRECTORY_SESSION_LIMIT'));
    });

    test('presence changes reach every node with all of the user\'s sessions, in order', async () => {
      const { dirs, eps } = await cluster(['n1', 'n2', 'n3']);
      const a1 = entry(dirs[0]!, 'a1', 'alice');
      await dirs[0]!.register(a1);
      await dirs[0]!.update(a1.address, snapshot('Alice'));
      const a2 = entry(dirs[2]!, 'a2', 'alice');
      await dirs[2]!.register(a2);
      await dirs[2]!.update(a2.address, snapshot('Alice', { idle: true, signedOnAt: 1_700_000_100_000 }));
      await dirs[0]!.update(a1.address, snapshot('Alice', { away: true }));
      for (const ep of eps) {
        await ep.waitFor('third alice event', () => ep.events.filter((e) => e.user === 'alice').length >= 3);
        const evs = ep.events.filter((e) => e.user === 'alice');
        assert.deepEqual(evs.map((e) => e.sessions.length), [1, 2, 2]);
        assert.deepEqual(evs.map((e) => e.changed.address.sessionId), ['a1', 'a2', 'a1']);
        assert.ok(evs.every((e) => !e.removed));
        const last = evs[2]!;
        assert.equal(last.changed.presence!.away, true);
        assert.equal(representative(last.sessions)!.address.sessionId, 'a1', 'away beats idle');
      }
      await dirs[0]!.unregister(a1.address);
      await dirs[0]!.unregister(a1.address); // idempotent: no second event
      await dirs[2]!.unregister(a2.address);
      for (const ep of eps) {
        await ep.waitFor('alice gone', () => ep.lastEvent('alice')?.sessions.length === 0);
        const evs = ep.events.filter((e) => e.user === 'alice');
        assert.equal(evs.length, 5);
        assert.deepEqual(evs.slice(3).map((e) => [e.changed.address.sessionId, e.removed, e.sessions.length]), [['a1', true, 1], ['a2', true, 0]]);
        assert.equal(evs[4]!.changed.presence!.screenName, 'Alice', 'a removed entry keeps its last presence');
      }
    });

    test('a never-ready session produces an event only when it leaves as the user\'s last entry', async () => {
      const { dirs, eps } = await cluster(['n1', 'n2']);
      await dirs[0]!.register(entry(dirs[0]!, 'y1', 'yan', { presence: snapshot('Yan') }));
      await dirs[0]!.register(entry(dirs[0]!, 'y2', 'yan'));
      await dirs[0]!.unregister({ node: 'n1', sessionId: 'y2' }); // not ready, not last: no event
      await dirs[0]!.register(entry(dirs[0]!, 'z', 'zed'));
      await dirs[0]!.unregister({ node: 'n1', sessionId: 'z' }); // not ready, last: an event
      await eps[1]!.waitFor('zed event', () => eps[1]!.lastEvent('zed') !== undefined);
      assert.deepEqual(eps[1]!.events.filter((e) => e.user === 'yan').length, 1);
      const z = eps[1]!.lastEvent('zed')!;
      assert.deepEqual([z.sessions.length, z.removed, z.changed.presence], [0, true, undefined]);
    });

    test('a takeover shows the user as still signed on (no empty session list) until the newcomer leaves', async () => {
      const { dirs, eps } = await cluster(['n1', 'n2']);
      await dirs[0]!.register(entry(dirs[0]!, 'old', 'amy', { exclusive: true, presence: snapshot('Amy') }));
      await dirs[1]!.register(entry(dirs[1]!, 'new', 'amy', { exclusive: true }));
      await eps[0]!.waitFor('displacement event', () => eps[0]!.lastEvent('amy')?.removed === true);
      assert.deepEqual(eps[0]!.lastEvent('amy')!.sessions.map((e) => e.address.sessionId), ['new']);
      await dirs[1]!.update({ node: 'n2', sessionId: 'new' }, snapshot('Amy'));
      await eps[0]!.waitFor('newcomer present', () => eps[0]!.lastEvent('amy')?.sessions[0]?.presence !== undefined);
    });

    test('sendToUser reaches every ready session on every node; counts targeted and accepted', async () => {
      const { dirs, eps } = await cluster(['n1', 'n2']);
      await dirs[0]!.register(entry(dirs[0]!, 'b1', 'bob', { presence: snapshot('Bob') }));
      await dirs[1]!.register(entry(dirs[1]!, 'b2', 'bob', { presence: snapshot('Bob') }));
      await dirs[1]!.register(entry(dirs[1]!, 'b3', 'bob')); // not ready
      const r = await dirs[0]!.sendToUser('bob', snac(1));
      assert.deepEqual(r, { targeted: 2, accepted: 2 });
      await eps[1]!.waitFor('b2 got it', () => eps[1]!.to('b2').length === 1);
      assert.deepEqual(bodyOf(eps[0]!.to('b1')[0]!), [1, 0, 255, 128], 'bytes arrive intact');
      const got = eps[1]!.to('b2')[0]!.delivery;
      assert.ok(got.kind === 'snac' && got.body instanceof Uint8Array, 'bytes arrive as a Uint8Array');
      assert.equal(eps[1]!.to('b3').length, 0);
      assert.deepEqual(await dirs[1]!.sendToUser('bob', { ...snac(2), includeNotReady: true }), { targeted: 3, accepted: 3 });
      assert.deepEqual(await dirs[1]!.sendToUser('bob', { ...snac(3), except: { node: 'n1', sessionId: 'b1' } }), { targeted: 1, accepted: 1 });
      assert.deepEqual(await dirs[1]!.sendToUser('bob', { ...snac(4), service: 'chat' }), { targeted: 0, accepted: 0 });
      assert.deepEqual(await dirs[1]!.sendToUser('nobody', snac(5)), { targeted: 0, accepted: 0 });
      eps[1]!.refusing.add('b2');
      assert.deepEqual(await dirs[0]!.sendToUser('bob', snac(6)), { targeted: 2, accepted: 1 });
      await eps[0]!.waitFor('b1 got 6', () => eps[0]!.to('b1').length === 3);
      assert.deepEqual(eps[0]!.to('b1').map((e) => bodyOf(e)[0]), [1, 2, 6]);
    });

    test('sendToUserNow, when offered, delivers like sendToUser before returning', async (t) => {
      const { dirs, eps } = await cluster(['n1', 'n2']);
      const now = dirs[0]!.sendToUserNow?.bind(dirs[0]);
      if (!now) {
        t.diagnostic(`${name} offers no synchronous delivery (optional)`);
        return;
      }
      await dirs[0]!.register(entry(dirs[0]!, 'b1', 'bob', { presence: snapshot('Bob') }));
      await dirs[1]!.register(entry(dirs[1]!, 'b2', 'bob', { presence: snapshot('Bob') }));
      assert.deepEqual(now('bob', { ...snac(1), except: { node: 'n2', sessionId: 'b2' } }), { targeted: 1, accepted: 1 });
      assert.equal(eps[0]!.to('b1').length, 1, 'delivered before returning');
      assert.deepEqual(now('nobody', snac(2)), { targeted: 0, accepted: 0 });
    });

    test('the receiving node sees the whole envelope (filters travel with it)', async () => {
      const { dirs, eps } = await cluster(['n1', 'n2']);
      await dirs[1]!.register(entry(dirs[1]!, 'b1', 'bob', { presence: snapshot('Bob') }));
      const env: Envelope = { delivery: { kind: 'snac', family: 4, subtype: 0x14, body: new Uint8Array(300).fill(7), flags: 0x8000, requestId: 0x80000001 }, from: 'alice', capability: '0123456789abcdef0123456789abcdef' };
      await dirs[0]!.sendToUser('bob', env);
      await eps[1]!.waitFor('delivery', () => eps[1]!.deliveries.length === 1);
      assert.deepEqual(eps[1]!.deliveries[0], { sessionId: 'b1', envelope: env });
    });

    test('deliveries from one caller to one session keep their order', async () => {
      const { dirs, eps } = await cluster(['n1', 'n2']);
      await dirs[1]!.register(entry(dirs[1]!, 'b1', 'bob', { presence: snapshot('Bob') }));
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < 100; i++) sends.push(i % 2 === 0 ? dirs[0]!.sendToUser('bob', snac(i)) : dirs[0]!.sendTo({ node: 'n2', sessionId: 'b1' }, snac(i)));
      await Promise.all(sends);
      await eps[1]!.waitFor('100 deliveries', () => eps[1]!.deliveries.length === 100);
      assert.deepEqual(eps[1]!.deliveries.map((d) => bodyOf(d.envelope)[0]), Array.from({ length: 100 }, (_, i) => i));
    });

    test('sendTo addresses one session; unknown sessions are not delivered', async () => {
      const { dirs, eps } = await cluster(['n1', 'n2']);
      await dirs[1]!.register(entry(dirs[1]!, 'b1', 'bob', { presence: snapshot('Bob') }));
      await dirs[1]!.register(entry(dirs[1]!, 'b2', 'bob', { presence: snapshot('Bob') }));
      assert.equal(await dirs[0]!.sendTo({ node: 'n2', sessionId: 'b2' }, snac(9)), true);
      assert.equal(await dirs[0]!.sendTo({ node: 'n2', sessionId: 'nope' }, snac(9)), false);
      assert.equal(await dirs[0]!.sendTo({ node: 'n9', sessionId: 'b2' }, snac(9)), false);
      await eps[1]!.waitFor('b2 delivery', () => eps[1]!.to('b2').length === 1);
      assert.equal(eps[1]!.to('b1').length, 0);
      await dirs[1]!.unregister({ node: 'n2', sessionId: 'b2' });
      assert.equal(await dirs[0]!.sendTo({ node: 'n2', sessionId: 'b2' }, snac(9)), false);
    });

    test('sendToUsers fans out to a set of users once each, across nodes', async () => {
      const { dirs, eps } = await cluster(['n1', 'n2']);
      await dirs[0]!.register(entry(dirs[0]!, 'a1', 'alice', { presence: snapshot('Alice') }));
      await dirs[1]!.register(entry(dirs[1]!, 'b1', 'bob', { presence: snapshot('Bob') }));
      await dirs[1]!.register(entry(dirs[1]!, 'b2', 'bob', { presence: snapshot('Bob') }));
      const r = await dirs[0]!.sendToUsers(['alice', 'bob', 'alice', 'carol'], { ...snac(3), except: { node: 'n1', sessionId: 'a1' } });
      assert.deepEqual(r, { targeted: 2, accepted: 2 });
      await eps[1]!.waitFor('both bob sessions', () => eps[1]!.deliveries.length === 2);
      assert.equal(eps[0]!.deliveries.length, 0);
    });

    test('a room key (rooms register chat connections under it) works like a user key across nodes', async () => {
      // server/cluster/rooms.ts roomDirectoryKey: `room_<exchange>_<hex>`, never a screen name.
      const { dirs, eps } = await cluster(['n1', 'n2']);
      const room = 'room_4_7365637265742070616e73';
      await dirs[0]!.register(entry(dirs[0]!, 'c1', room, { service: 'chat', presence: snapshot('Alice') }));
      await dirs[1]!.register(entry(dirs[1]!, 'c2', room, { service: 'chat', presence: snapshot('Bob') }));
      await dirs[1]!.register(entry(dirs[1]!, 'c3', room, { service: 'chat', presence: snapshot('Bob') }));
      assert.deepEqual((await dirs[0]!.sessionsOf(room)).map((e) => e.presence?.screenName).sort(), ['Alice', 'Bob', 'Bob']);
      const r = await dirs[0]!.sendToUser(room, { ...snac(7), except: { node: 'n1', sessionId: 'c1' }, service: 'chat' });
      assert.deepEqual(r, { targeted: 2, accepted: 2 });
      await eps[1]!.waitFor('both members on n2', () => eps[1]!.deliveries.length === 2);
      assert.equal(eps[0]!.deliveries.length, 0);
      await dirs[1]!.unregister({ node: 'n2', sessionId: 'c2' });
      assert.deepEqual((await dirs[0]!.sessionsOf(room)).map((e) => e.address.sessionId).sort(), ['c1', 'c3']);
    });

    test('a node that leaves takes its sessions with it: other nodes see them go', async () => {
      const { dirs, eps } = await cluster(['n1', 'n2']);
      await dirs[0]!.register(entry(dirs[0]!, 'a1', 'alice', { presence: snapshot('Alice') }));
      await dirs[1]!.register(entry(dirs[1]!, 'b1', 'bob', { presence: snapshot('Bob') }));
      await eps[1]!.waitFor('alice online', () => eps[1]!.lastEvent('alice')?.sessions.length === 1);
      await dirs[0]!.close();
      await eps[1]!.waitFor('alice gone', () => eps[1]!.lastEvent('alice')?.sessions.length === 0);
      assert.equal(eps[1]!.lastEvent('alice')!.removed, true);
      assert.deepEqual(await dirs[1]!.sessionsOf('alice'), []);
      assert.deepEqual(await dirs[1]!.sendToUser('alice', snac(1)), { targeted: 0, accepted: 0 });
      await assert.rejects(dirs[0]!.sendToUser('bob', snac(1)), (e: unknown) => DirectoryError.is(e, 'DIRECTORY_CLOSED'));
      await dirs[0]!.close(); // idempotent
    });

    test('calls before start are refused; start runs once', async () => {
      const c = await harness(['n1']);
      clusters.push(c);
      const d = c.directories[0]!;
      await assert.rejects(d.sessionsOf('x'), (e: unknown) => DirectoryError.is(e, 'DIRECTORY_NOT_STARTED'));
      await d.start(new RecordingEndpoint());
      await assert.rejects(d.start(new RecordingEndpoint()), (e: unknown) => DirectoryError.is(e));
      assert.deepEqual(await d.lookup([]), new Map());
      assert.deepEqual(await d.sendToUsers([], snac(1)), { targeted: 0, accepted: 0 });
    });

    test('many concurrent sign-ons and sign-offs of one user leave exactly the sessions still registered', async () => {
      const { dirs, eps } = await cluster(['n1', 'n2']);
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 40; i++) {
        const d = dirs[i % 2]!;
        const e = entry(d, `s${i}`, 'fred', { presence: snapshot('Fred') });
        ops.push(d.register(e).then(() => (i % 3 === 0 ? d.unregister(e.address) : undefined)));
      }
      await Promise.all(ops);
      const left = (await dirs[0]!.sessionsOf('fred')).map((e) => e.address.sessionId).sort();
      const expected = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 3 !== 0).map((i) => `s${i}`).sort();
      assert.deepEqual(left, expected);
      for (const ep of eps) await ep.waitFor('final fred event', () => ep.lastEvent('fred')?.sessions.length === expected.length);
    });

    test('update of an unknown session is a no-op', async () => {
      const { dirs, eps } = await cluster(['n1']);
      await dirs[0]!.update({ node: 'n1', sessionId: 'ghost' }, snapshot('Ghost'));
      await dirs[0]!.register(entry(dirs[0]!, 'r', 'real', { presence: snapshot('Real') }));
      await eps[0]!.waitFor('real event', () => eps[0]!.lastEvent('real') !== undefined);
      assert.equal(eps[0]!.events.length, 1);
    });
  });
}
