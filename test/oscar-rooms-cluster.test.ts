/**
 * A room across two server nodes in one process (one in-process directory hub, one shared room registry, one
 * SQLite store, real sockets): the room is created on one node and joined on both; joins, messages (byte for
 * byte), whispers and leaves cross nodes through the delivery directory, where members are keyed by room
 * (docs/protocol.md §3.7, §3.8). A multi-session user in the room from both nodes leaves only with their last
 * connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CONTENT_TYPE_SECURE, RoomTlv, decodeRoomInfo } from '../src/wire/families/chat-nav.js';
import { CHAT_FAMILY, ChatSubtype, ChatTlv, decodeChatMsgToClient } from '../src/wire/families/chat.js';
import { decodeUserInfoList } from '../src/wire/families/buddy.js';
import { LocalDirectoryHub } from '../src/server/cluster/local-directory.js';
import { LocalRooms } from '../src/server/cluster/local-rooms.js';
import { defaultEngineConfig } from '../src/server/config.js';
import { startOscarFixture, startSecondNode } from './support/oscar-server-fixture.js';
import { signOn } from './support/oscar-test-client.js';
import { createRoom, joinRoom, messageBlock, openChatNav, roomTlvs, sendRoomMessage } from './support/oscar-rooms.js';

const names = (body: Uint8Array): string[] => decodeUserInfoList(body).map((u) => u.screenName);

test('a room spans two nodes: create on one, join on both, messages and leaves cross nodes', async () => {
  const hub = new LocalDirectoryHub();
  const c = defaultEngineConfig();
  const rooms = new LocalRooms({ maxRooms: c.maxRooms, maxRoomsPerCreator: c.maxRoomsPerCreator, maxOccupancy: c.maxRoomOccupancy, maxPerMember: c.maxRoomConnectionsPerMember, emptyTtlMs: c.roomEmptyTtlMs });
  const config = { secureRoomRejoinGraceMs: 200 };
  const fx = await startOscarFixture({ engine: { directory: hub.directory('node-a'), rooms, config } });
  const { server: nodeB, port: portB } = await startSecondNode(fx, { directory: hub.directory('node-b'), rooms, config });
  try {
    for (const [u, p] of [['alice', 'pw-a'], ['bob', 'pw-b'], ['carol', 'pw-c']] as const) await fx.addUser(u, p);
    const a = { port: fx.port };
    const b = { port: portB };

    const alice = await signOn(a, 'alice', 'pw-a', 'md5-strong');
    const bob = await signOn(b, 'bob', 'pw-b', 'md5-strong');
    const carolA = await signOn(a, 'carol', 'pw-c', 'md5-strong', { multiConn: 1 });
    const carolB = await signOn(b, 'carol', 'pw-c', 'md5-strong', { multiConn: 1 });

    const nav = await openChatNav(a, alice.conn);
    const room = await createRoom(nav, 4, roomTlvs('Across', CONTENT_TYPE_SECURE));
    assert.ok(typeof room !== 'number');

    const aChat = await joinRoom(a, alice.conn, room);
    await aChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    const bChat = await joinRoom(b, bob.conn, room); // node B knows the room created on node A
    assert.deepEqual(names((await bChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED)).body).sort(), ['alice', 'bob']);
    assert.equal(decodeRoomInfo((await bChat.expectSnac(CHAT_FAMILY, ChatSubtype.ROOM_INFO_UPDATE)).body).tlvs.string(RoomTlv.CONTENT_TYPE), CONTENT_TYPE_SECURE);
    assert.deepEqual(names((await aChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED)).body), ['bob'], 'a join on B reaches A');

    // Carol joins from both nodes (multi-session): announced once; both her connections get room messages.
    const cA = await joinRoom(a, carolA.conn, room);
    await cA.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    for (const x of [aChat, bChat]) assert.deepEqual(names((await x.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED)).body), ['carol']);
    const cB = await joinRoom(b, carolB.conn, room);
    assert.deepEqual(names((await cB.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED)).body).sort(), ['alice', 'bob', 'carol']);
    for (const x of [aChat, bChat]) assert.equal(await x.noSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED, 200), true, 'a second device is not a second join');

    const block = messageBlock(CONTENT_TYPE_SECURE, randomBytes(900));
    sendRoomMessage(bChat, block);
    for (const x of [aChat, cA, cB]) {
      const m = decodeChatMsgToClient((await x.expectSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT)).body);
      assert.deepEqual(Buffer.from(m.tlvs.bytes(ChatTlv.MESSAGE)!), Buffer.from(block));
    }
    const whisper = messageBlock(CONTENT_TYPE_SECURE, randomBytes(40));
    sendRoomMessage(aChat, whisper, { whisperTo: 'bob' });
    assert.deepEqual(Buffer.from(decodeChatMsgToClient((await bChat.expectSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT)).body).tlvs.bytes(ChatTlv.MESSAGE)!), Buffer.from(whisper));
    assert.equal(await cA.noSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT, 150), true);

    // Carol leaves from A: still in the room from B, so no 0E/04; then from B: everyone sees her go.
    cA.close();
    assert.equal(await aChat.noSnac(CHAT_FAMILY, ChatSubtype.USERS_LEFT, 600), true, 'past the grace period, still no leave');
    cB.close();
    for (const x of [aChat, bChat]) assert.deepEqual(names((await x.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_LEFT)).body), ['carol']);
    bChat.close();
    assert.deepEqual(names((await aChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_LEFT)).body), ['bob'], 'a leave on B reaches A');
    for (const x of [aChat, nav, alice.conn, bob.conn, carolA.conn, carolB.conn]) x.close();
  } finally {
    await nodeB.close();
    await fx.stop();
  }
});
