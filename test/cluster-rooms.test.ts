/**
 * Chat rooms across three real `certim server --cluster` processes (one Postgres schema, one NATS cluster name):
 * a room created at node A is joined from B and C (the room registry is the cluster's, NATS KV); joins, every room
 * message (byte for byte) and leaves reach the members on every node; a secure-room member whose connection drops
 * and who rejoins at another node within the grace period is neither a leave nor a join; and when a node is killed
 * (`kill -9`), its members leave the room for everyone else within seconds (docs/protocol.md §3.6–3.8).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CONTENT_TYPE_SECURE, decodeRoomInfo, RoomTlv, type RoomInfo } from '../src/wire/families/chat-nav.js';
import { CHAT_FAMILY, ChatSubtype, ChatTlv, decodeChatMsgToClient } from '../src/wire/families/chat.js';
import { decodeUserInfoList } from '../src/wire/families/buddy.js';
import { TestCluster } from './support/cluster-harness.js';
import { signOn, type BosClient, type Endpoint, type TestConnection } from './support/oscar-test-client.js';
import { createRoom, joinRoom, messageBlock, openChatNav, roomTlvs, sendRoomMessage } from './support/oscar-rooms.js';

const names = (body: Uint8Array): string[] => decodeUserInfoList(body).map((u) => u.screenName);
const USERS = ['alice', 'bob', 'carol', 'dave'] as const;

let cluster: TestCluster;
let ep: Endpoint[];
const open: TestConnection[] = [];

before(async () => {
  cluster = await TestCluster.start(3);
  ep = cluster.nodes.map((n) => ({ port: n.ready.oscar }));
  for (const u of USERS) await cluster.addUser(u, `${u}-pw`);
});
after(async () => {
  for (const c of open) c.close();
  await cluster?.stop();
});

const on = async (node: number, user: string): Promise<BosClient> => {
  const c = await signOn(ep[node]!, user, `${user}-pw`, 'md5-strong', { multiConn: 1 });
  open.push(c.conn);
  return c;
};
const join = async (node: number, bos: BosClient, room: RoomInfo): Promise<TestConnection> => {
  const c = await joinRoom(ep[node]!, bos.conn, room);
  open.push(c);
  return c;
};
const joined = async (c: TestConnection): Promise<string[]> => names((await c.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED, 5000)).body).sort();
const left = async (c: TestConnection, timeoutMs = 5000): Promise<string[]> => names((await c.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_LEFT, timeoutMs)).body);

test('a room spans three nodes: joins, messages, a rejoin at another node within the grace, and a killed node\'s member leaving', async () => {
  const [alice, bob, carol, dave] = [await on(0, 'alice'), await on(1, 'bob'), await on(2, 'carol'), await on(1, 'dave')];
  const nav = await openChatNav(ep[0]!, alice.conn);
  open.push(nav);
  const room = await createRoom(nav, 4, roomTlvs('Across Nodes', CONTENT_TYPE_SECURE));
  assert.ok(typeof room !== 'number', `room created (${String(room)})`);

  const aChat = await join(0, alice, room);
  assert.deepEqual(await joined(aChat), ['alice']);
  const bChat = await join(1, bob, room); // node B finds the room created at node A
  assert.deepEqual(await joined(bChat), ['alice', 'bob']);
  assert.equal(decodeRoomInfo((await bChat.expectSnac(CHAT_FAMILY, ChatSubtype.ROOM_INFO_UPDATE)).body).tlvs.string(RoomTlv.CONTENT_TYPE), CONTENT_TYPE_SECURE);
  assert.deepEqual(await joined(aChat), ['bob'], 'a join at B reaches A');
  const cChat = await join(2, carol, room);
  assert.deepEqual(await joined(cChat), ['alice', 'bob', 'carol']);
  for (const x of [aChat, bChat]) assert.deepEqual(await joined(x), ['carol'], 'a join at C reaches A and B');

  // Every message from every node reaches every other member, byte for byte, in each sender's order (the ICBM
  // cookie names the sender here; senders at different nodes interleave).
  const chats = [aChat, bChat, cChat];
  const sent: Uint8Array[][] = [[], [], []];
  for (let i = 0; i < 5; i++) {
    chats.forEach((from, k) => {
      const block = messageBlock(CONTENT_TYPE_SECURE, randomBytes(200 + i));
      sent[k]!.push(block);
      sendRoomMessage(from, block, { cookie: Uint8Array.of(k, i, 0, 0, 0, 0, 0, 0) });
    });
  }
  for (const [me, member] of chats.entries()) {
    const got: Uint8Array[][] = [[], [], []];
    for (let n = 0; n < 10; n++) {
      const m = decodeChatMsgToClient((await member.expectSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT, 5000)).body);
      got[m.cookie[0]!]!.push(m.tlvs.bytes(ChatTlv.MESSAGE)!);
    }
    for (let k = 0; k < 3; k++) assert.deepEqual(got[k]!.map((b) => Buffer.from(b).toString('hex')), k === me ? [] : sent[k]!.map((b) => Buffer.from(b).toString('hex')));
  }

  // Bob's chat connection drops at B; he rejoins at C within the secure room's grace: nobody sees him leave or join.
  bChat.close();
  const bob2 = await on(2, 'bob');
  const bChat2 = await join(2, bob2, room);
  assert.deepEqual(await joined(bChat2), ['alice', 'bob', 'carol'], 'still listed while within the grace');
  for (const x of [aChat, cChat]) assert.equal(await x.noSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED, 300), true, 'no second join');
  const block = messageBlock(CONTENT_TYPE_SECURE, randomBytes(64));
  sendRoomMessage(aChat, block);
  assert.deepEqual(Buffer.from(decodeChatMsgToClient((await bChat2.expectSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT, 5000)).body).tlvs.bytes(ChatTlv.MESSAGE)!), Buffer.from(block));
  bob.conn.close();

  // Dave joins at B; node B is killed: Dave leaves the room for Alice (A) and Carol and Bob (C) within seconds.
  const dChat = await join(1, dave, room);
  assert.deepEqual(await joined(dChat), ['alice', 'bob', 'carol', 'dave']);
  for (const x of [aChat, cChat, bChat2]) assert.deepEqual(await joined(x), ['dave']);
  const killedAt = Date.now();
  await cluster.kill(1);
  for (const x of [aChat, cChat, bChat2]) assert.deepEqual(await left(x, 15_000), ['dave'], 'a killed node\'s member leaves');
  const seconds = (Date.now() - killedAt) / 1000;
  assert.ok(seconds < 12, `left within seconds (${seconds.toFixed(1)} s)`);
  // Bob was on B too (his first chat connection, already replaced): no leave for him while he is in the room at C.
  assert.equal(await aChat.noSnac(CHAT_FAMILY, ChatSubtype.USERS_LEFT, 500), true, 'bob is still in the room');

  // The room lives on at the remaining nodes: a message still reaches everyone.
  const last = messageBlock(CONTENT_TYPE_SECURE, randomBytes(32));
  sendRoomMessage(cChat, last);
  for (const x of [aChat, bChat2]) assert.deepEqual(Buffer.from(decodeChatMsgToClient((await x.expectSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT, 5000)).body).tlvs.bytes(ChatTlv.MESSAGE)!), Buffer.from(last));
  void dave;
});
