/**
 * Several sessions of one user across three real `certim server --cluster` processes (docs/protocol.md §3.9.1):
 * a feedbag edit made in one session is pushed as the same 13/08, 13/09 or 13/0A to the user's other sessions on the
 * same node and on another node (never echoed to the editor; refused items are not pushed), and the other sessions'
 * nodes re-read the feedbag (they start watching the new buddy). The Locate profile and away text of a user signed
 * on at one node are served by another node (02/05 and 02/15), and follow changes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter } from '../src/wire/bytes.js';
import { writeFeedbagItem } from '../src/wire/families/feedbag.js';
import { decodeU16List } from '../src/wire/families/oservice.js';
import { InfoQueryFlag, LocateTlv, decodeUserInfoReply, encodeSetInfo, encodeUserInfoQuery2 } from '../src/wire/families/locate.js';
import { ByteWriter as W } from '../src/wire/bytes.js';
import { TestCluster } from './support/cluster-harness.js';
import { signOn, userInfoScreenName, type BosClient, type Endpoint } from './support/oscar-test-client.js';

let cluster: TestCluster;
let ep: Endpoint[];
const clients: BosClient[] = [];

before(async () => {
  cluster = await TestCluster.start(3);
  ep = cluster.nodes.map((n) => ({ port: n.ready.oscar }));
  for (const u of ['ivy', 'jack', 'kim']) await cluster.addUser(u, `${u}-pw`);
});
after(async () => {
  for (const c of clients) c.conn.close();
  await cluster?.stop();
});

const on = async (node: number, user: string): Promise<BosClient> => {
  const c = await signOn(ep[node]!, user, `${user}-pw`, 'md5-strong', { multiConn: 1 });
  clients.push(c);
  return c;
};
const items = (...list: Array<[string, number, number, number]>): Uint8Array =>
  Uint8Array.from(list.flatMap(([name, groupId, itemId, classId]) => [...writeFeedbagItem(new ByteWriter(), { name, groupId, itemId, classId, attributes: new Uint8Array(0) }).finish()]));

test('a feedbag edit in one session reaches the user\'s other sessions on the same node and on another node', async () => {
  const jack = await on(2, 'jack');
  const [a1, a2, b] = [await on(0, 'ivy'), await on(0, 'ivy'), await on(1, 'ivy')];
  for (const s of [a1, a2, b]) s.conn.sendSnac(0x0013, 0x0007); // use the feedbag

  const added = items(['', 0, 0, 1], ['Buddies', 1, 0, 1], ['jack', 1, 7, 0]);
  a1.conn.sendSnac(0x0013, 0x0008, added);
  assert.deepEqual(decodeU16List((await a1.conn.expectSnac(0x0013, 0x000e)).body), [0, 0, 0]);
  for (const other of [a2, b]) assert.deepEqual(Buffer.from((await other.conn.expectSnac(0x0013, 0x0008, 5000)).body), Buffer.from(added), 'the same items, pushed');
  assert.equal(await a1.conn.noSnac(0x0013, 0x0008, 300), true, 'no echo to the editing session');
  // The other sessions' nodes re-read the feedbag: they now watch jack (signed on at a third node).
  for (const s of [a1, a2, b]) assert.equal(userInfoScreenName((await s.conn.expectSnacWhere(0x0003, 0x000b, (x) => userInfoScreenName(x.body) === 'jack', 5000)).body), 'jack');

  // A refused item (already there) is not pushed; an update and a delete are.
  b.conn.sendSnac(0x0013, 0x0008, items(['jack', 1, 7, 0]));
  assert.deepEqual(decodeU16List((await b.conn.expectSnac(0x0013, 0x000e)).body), [0x0a]);
  const renamed = items(['Friends', 1, 0, 1]);
  b.conn.sendSnac(0x0013, 0x0009, renamed);
  assert.deepEqual(decodeU16List((await b.conn.expectSnac(0x0013, 0x000e)).body), [0]);
  for (const other of [a1, a2]) {
    assert.deepEqual(Buffer.from((await other.conn.expectSnac(0x0013, 0x0009, 5000)).body), Buffer.from(renamed), 'the update, not the refused insert');
    assert.equal(await other.conn.noSnac(0x0013, 0x0008, 100), true);
  }
  const removed = items(['jack', 1, 7, 0]);
  a2.conn.sendSnac(0x0013, 0x000a, removed);
  assert.deepEqual(decodeU16List((await a2.conn.expectSnac(0x0013, 0x000e)).body), [0]);
  for (const other of [a1, b]) assert.deepEqual(Buffer.from((await other.conn.expectSnac(0x0013, 0x000a, 5000)).body), Buffer.from(removed));
  void jack;
});

test('the profile and away text of a user signed on at one node are served at another (02/15 and 02/05)', async () => {
  const kim = await on(0, 'kim');
  const jack = clients.find((c) => c.screenName === 'jack') ?? (await on(2, 'jack'));
  const profile = Buffer.from('<HTML>kim at node A</HTML>');
  const away = Buffer.from('out to lunch');
  kim.conn.sendSnac(0x0002, 0x0004, encodeSetInfo({ profileMime: 'text/aolrtf; charset="us-ascii"', profile, awayMime: 'text/aolrtf; charset="us-ascii"', away }));
  const ask = async (flags: number) => {
    for (let i = 0; ; i++) {
      jack.conn.sendSnac(0x0002, 0x0015, encodeUserInfoQuery2({ flags, screenName: 'kim' }));
      const r = decodeUserInfoReply((await jack.conn.expectSnac(0x0002, 0x0006, 5000)).body);
      // The set-info reaches node C with kim's next presence snapshot: ask again until it has (bounded).
      if (r.tlvs.has(LocateTlv.PROFILE) || i >= 20) return r;
      await new Promise((res) => setTimeout(res, 100));
    }
  };
  const r = await ask(InfoQueryFlag.PROFILE | InfoQueryFlag.AWAY);
  assert.equal(r.user.screenName, 'kim');
  assert.deepEqual(Buffer.from(r.tlvs.bytes(LocateTlv.PROFILE)!), profile);
  assert.deepEqual(Buffer.from(r.tlvs.bytes(LocateTlv.AWAY)!), away);
  // 02/05 (type 1: profile) from node B.
  const ivyB = clients.find((c, i) => c.screenName === 'ivy' && i > 0)!;
  ivyB.conn.sendSnac(0x0002, 0x0005, new W().u16(1).string8('kim').finish());
  assert.deepEqual(Buffer.from(decodeUserInfoReply((await ivyB.conn.expectSnac(0x0002, 0x0006, 5000)).body).tlvs.bytes(LocateTlv.PROFILE)!), profile);
  // A new away text replaces the old one at other nodes; back from away, none is served.
  kim.conn.sendSnac(0x0002, 0x0004, encodeSetInfo({ away: Buffer.from('back at two') }));
  for (let i = 0; ; i++) {
    jack.conn.sendSnac(0x0002, 0x0015, encodeUserInfoQuery2({ flags: InfoQueryFlag.AWAY, screenName: 'kim' }));
    const t = decodeUserInfoReply((await jack.conn.expectSnac(0x0002, 0x0006, 5000)).body).tlvs.bytes(LocateTlv.AWAY);
    if (t && Buffer.from(t).toString() === 'back at two') break;
    assert.ok(i < 20, 'the new away text reached node C');
    await new Promise((res) => setTimeout(res, 100));
  }
  kim.conn.sendSnac(0x0002, 0x0004, encodeSetInfo({ away: new Uint8Array(0) }));
  for (let i = 0; ; i++) {
    jack.conn.sendSnac(0x0002, 0x0015, encodeUserInfoQuery2({ flags: InfoQueryFlag.AWAY, screenName: 'kim' }));
    if (!decodeUserInfoReply((await jack.conn.expectSnac(0x0002, 0x0006, 5000)).body).tlvs.has(LocateTlv.AWAY)) break;
    assert.ok(i < 20, 'no away text once back');
    await new Promise((res) => setTimeout(res, 100));
  }
});
