/**
 * Several sessions of one user across three real `certim server --cluster` processes (docs/protocol.md §3.9.1):
 * a feedbag edit made in one session is pushed as the same 13/08, 13/09 or 13/0A to the user's other sessions on the
 * same node and on another node (never echoed to the editor; refused items are not pushed), and the other sessions'
 * nodes re-read the feedbag (they start watching the new buddy).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter } from '../src/wire/bytes.js';
import { writeFeedbagItem } from '../src/wire/families/feedbag.js';
import { decodeU16List } from '../src/wire/families/oservice.js';
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
