/**
 * Three real `certim server --cluster` processes on one machine (one Postgres schema, one NATS cluster name):
 * presence and IMs between users on different nodes, an IM to a user online nowhere stored and delivered at a later
 * sign-on on a third node, several sessions of one user on two nodes, classic takeover across nodes, a block set in
 * one session holding in the user's session on another node, and `kill -9` of a node: its users vanish from the
 * others within seconds.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlapChannel, decodeFlapSignOff } from '../src/wire/flap.js';
import { encodeScreenNameList } from '../src/wire/families/buddy.js';
import { tlv } from '../src/wire/tlv.js';
import { TestCluster } from './support/cluster-harness.js';
import { imBody, parseIncomingIm, signOn, userInfoScreenName, type BosClient, type Endpoint } from './support/oscar-test-client.js';

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina'] as const;
const text = (body: Uint8Array): string => Buffer.from(parseIncomingIm(body).text!).toString();
/** Waits for an arrival (0x0B) or departure (0x0C) about `name`, skipping others (updated arrivals are normal). */
const buddy = (c: BosClient, subtype: 0x0b | 0x0c, name: string, timeoutMs = 5000): Promise<unknown> =>
  c.conn.expectSnacWhere(0x0003, subtype, (s) => userInfoScreenName(s.body) === name, timeoutMs);

describe('a cluster of three server processes', () => {
  let cluster: TestCluster;
  let ep: Endpoint[];
  const clients: BosClient[] = [];
  const on = async (node: number, user: string, opts: { buddies?: string[]; multiConn?: number } = {}): Promise<BosClient> => {
    const c = await signOn(ep[node]!, user, `${user}-pw`, 'md5-strong', opts);
    clients.push(c);
    return c;
  };

  before(async () => {
    cluster = await TestCluster.start(3);
    ep = cluster.nodes.map((n) => ({ port: n.ready.oscar }));
    for (const u of USERS) await cluster.addUser(u, `${u}-pw`);
  });
  after(async () => {
    for (const c of clients) c.conn.close();
    await cluster?.stop();
  });

  test('users on different nodes see each other arrive and exchange IMs', async () => {
    const alice = await on(0, 'alice', { buddies: ['bob'] });
    const bob = await on(1, 'bob', { buddies: ['alice'] });
    await buddy(alice, 0x0b, 'bob');
    await buddy(bob, 0x0b, 'alice');

    const payload = new Uint8Array(3000).map((_, i) => (i * 31 + 7) & 0xff);
    alice.conn.sendSnac(0x0004, 0x0006, imBody('bob', payload, [tlv(0x0003)]));
    await alice.conn.expectSnac(0x0004, 0x000c);
    const got = parseIncomingIm((await bob.conn.expectSnac(0x0004, 0x0007)).body);
    assert.equal(got.sender, 'alice');
    assert.deepEqual(new Uint8Array(got.text!), payload, 'the bytes cross nodes unchanged');

    bob.conn.sendSnac(0x0004, 0x0006, imBody('alice', 'hi from node 1', [tlv(0x0003)]));
    await bob.conn.expectSnac(0x0004, 0x000c);
    assert.equal(text((await alice.conn.expectSnac(0x0004, 0x0007)).body), 'hi from node 1');

    // A burst in one write: the IMs overlap on node 0 (none waits for the last one's answer from node 1), yet bob
    // reads them, and alice gets their acks, in the order sent.
    for (let i = 1; i <= 5; i++) alice.conn.sendSnac(0x0004, 0x0006, imBody('bob', `burst ${i}`, [tlv(0x0003)], Uint8Array.of(0, 0, 0, 0, 0, 0, 0, i)));
    const acks: number[] = [];
    for (let i = 1; i <= 5; i++) acks.push((await alice.conn.expectSnac(0x0004, 0x000c)).body[7]!);
    assert.deepEqual(acks, [1, 2, 3, 4, 5]);
    const burst: string[] = [];
    for (let i = 1; i <= 5; i++) burst.push(text((await bob.conn.expectSnac(0x0004, 0x0007)).body));
    assert.deepEqual(burst, [1, 2, 3, 4, 5].map((i) => `burst ${i}`));

    bob.conn.close();
    await buddy(alice, 0x0c, 'bob', 5000);
  });

  test('an IM to a user online nowhere is stored, then delivered when they sign on at another node', async () => {
    const alice = clients[0]!;
    alice.conn.sendSnac(0x0004, 0x0006, imBody('carol', 'while you were out', [tlv(0x0003), tlv(0x0006)]));
    await alice.conn.expectSnac(0x0004, 0x000c);
    const store = await cluster.sharedStore();
    assert.equal(await store.offline.count('carol'), 1);
    const carol = await on(2, 'carol');
    const im = parseIncomingIm((await carol.conn.expectSnac(0x0004, 0x0007)).body);
    assert.equal(im.sender, 'alice');
    assert.equal(Buffer.from(im.text!).toString(), 'while you were out');
    assert.ok(im.tlvs.has(0x0016), 'offline timestamp');
    for (let i = 0; i < 50 && (await store.offline.count('carol')) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await store.offline.count('carol'), 0, 'acknowledged once delivered');
  });

  test('one user signed on at two nodes: IMs reach both sessions, presence is the union', async () => {
    const alice = clients[0]!;
    const d0 = await on(0, 'dave', { multiConn: 1, buddies: ['alice'] });
    const d2 = await on(2, 'dave', { multiConn: 1 });
    assert.equal(await d0.conn.noSnac(0x0001, 0x0001, 300), true);
    assert.equal(d0.conn.isClosed, false, 'the session on node 0 stays');

    alice.conn.sendSnac(0x0004, 0x0006, imBody('dave', 'to every dave', [tlv(0x0003)]));
    await alice.conn.expectSnac(0x0004, 0x000c);
    assert.equal(text((await d0.conn.expectSnac(0x0004, 0x0007)).body), 'to every dave');
    assert.equal(text((await d2.conn.expectSnac(0x0004, 0x0007)).body), 'to every dave');

    // alice adds dave as a buddy now: dave is online (on two nodes) from her point of view.
    alice.conn.sendSnac(0x0003, 0x0004, encodeScreenNameList(['dave']));
    await buddy(alice, 0x0b, 'dave');
    d2.conn.close();
    await d2.conn.closed;
    assert.equal(await alice.conn.noSnac(0x0003, 0x000c, 1000), true, 'one session left: no departure');
    d0.conn.close();
    await buddy(alice, 0x0c, 'dave', 5000);
  });

  test('classic takeover across nodes: the older exclusive session is signed off wherever it is', async () => {
    const e1 = await on(1, 'erin'); // no multi-conn flag: a pre-multi-conn client
    const e0 = await on(0, 'erin', { multiConn: 3 }); // flag 3: single session wanted
    const bare = await e1.conn.nextFrame((fr) => fr.channel === FlapChannel.SignOff, 5000);
    assert.equal(bare.payload.length, 0, 'a pre-multi-conn client gets the bare ch-4 frame');
    await e1.conn.closed;
    const e2 = await on(2, 'erin');
    const f = await e0.conn.nextFrame((fr) => fr.channel === FlapChannel.SignOff, 5000);
    assert.equal(decodeFlapSignOff(f.payload).reason, 1, 'signed on elsewhere');
    await e0.conn.closed;
    assert.equal(e2.conn.isClosed, false);
    e2.conn.close();
  });

  test('blocking someone in a session on one node blocks them in the user\'s session on another node', async () => {
    const bob = await on(1, 'bob');
    const g0 = await on(0, 'gina', { multiConn: 1 });
    const g2 = await on(2, 'gina', { multiConn: 1 });
    g0.conn.sendSnac(0x0009, 0x0007, encodeScreenNameList(['bob'])); // PermitDeny: add deny
    const q = g0.conn.sendSnac(0x0001, 0x000e);
    await g0.conn.expectSnacWhere(0x0001, 0x000f, (x) => x.requestId === q);
    bob.conn.sendSnac(0x0004, 0x0006, imBody('gina', 'blocked?', [tlv(0x0003)]));
    assert.equal((await bob.conn.expectSnac(0x0004, 0x0001)).body[1], 0x04, 'refused: no session of gina takes it');
    assert.equal(await g2.conn.noSnac(0x0004, 0x0007, 300), true);
    for (const c of [bob, g0, g2]) c.conn.close();
  });

  test('kill -9 of a node: its users vanish from the other nodes within seconds', async () => {
    const alice = clients[0]!;
    const frank = await on(2, 'frank', { buddies: ['alice'] });
    alice.conn.sendSnac(0x0003, 0x0004, encodeScreenNameList(['frank']));
    await buddy(alice, 0x0b, 'frank');
    void frank;

    const killedAt = Date.now();
    await cluster.kill(2);
    await buddy(alice, 0x0c, 'frank', 15_000);
    const took = Date.now() - killedAt;
    assert.ok(took < 10_000, `departure after ${took} ms`);

    // frank is online nowhere now: an IM with store-if-offline is stored, not lost on the dead node.
    alice.conn.sendSnac(0x0004, 0x0006, imBody('frank', 'you were killed', [tlv(0x0003), tlv(0x0006)]));
    await alice.conn.expectSnac(0x0004, 0x000c);
    assert.equal(await (await cluster.sharedStore()).offline.count('frank'), 1);
  });
});
