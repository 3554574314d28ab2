/**
 * Chat rooms over real sockets against a real server (docs/protocol.md §3.6–3.8, §7): a raw OSCAR client creates a
 * secure room through ChatNav the way joscar writes it (0x00DB = application/pkcs7-mime), members join through
 * `01/04` -> `01/05`, the server echoes 0x00DB and every other room TLV, relays all five message-block TLVs byte
 * for byte with the server's own sender block, announces joins and leaves, and enforces its limits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ByteReader, encodeText } from '../src/wire/bytes.js';
import { FlapChannel, encodeFlapHello } from '../src/wire/flap.js';
import { CHATNAV_FAMILY, CONTENT_TYPE_PLAIN, CONTENT_TYPE_SECURE, ChatNavSubtype, RoomTlv, cookieText, decodeRoomInfo, encodeMiniRoomInfo } from '../src/wire/families/chat-nav.js';
import { CHAT_FAMILY, ChatSubtype, ChatTlv, decodeChatMsgToClient } from '../src/wire/families/chat.js';
import { decodeUserInfoList } from '../src/wire/families/buddy.js';
import { ServiceTlv, decodeServiceRedirect, encodeServiceRequest } from '../src/wire/families/oservice.js';
import { decodeSnacError } from '../src/wire/snac.js';
import { decodeTlvRestList, tlv, tlvString } from '../src/wire/tlv.js';
import { decodeUserInfo, encodeUserInfo } from '../src/wire/user-info.js';
import { roomDirectoryKey } from '../src/server/cluster/rooms.js';
import { withOscarFixture } from './support/oscar-server-fixture.js';
import { TestConnection, imBody, signOn } from './support/oscar-test-client.js';
import { createRoom, joinRoom, messageBlock, navAnswer, openChatNav, redeem, requestService, roomTlvs, sendRoomMessage } from './support/oscar-rooms.js';

const names = (body: Uint8Array): string[] => decodeUserInfoList(body).map((u) => u.screenName);

test('a secure room: 0x00DB echoed, joins and leaves announced, all five message-block TLVs relayed byte for byte', async () => {
  const users: Array<[string, string]> = [['alice', 'pw-a'], ['bob', 'pw-b'], ['carol', 'pw-c']];
  await withOscarFixture({ users, engine: { config: { secureRoomRejoinGraceMs: 300 } } }, async (_fx, ep) => {
    const alice = await signOn(ep, 'alice', 'pw-a', 'md5-strong');
    const bob = await signOn(ep, 'bob', 'pw-b', 'md5-strong');
    const carol = await signOn(ep, 'carol', 'pw-c', 'md5-strong');

    // ChatNav: rights name exchange 4; joscar-style create with an unknown TLV that must come back too.
    const nav = await openChatNav(ep, alice.conn);
    const rights = nav.sendSnac(CHATNAV_FAMILY, ChatNavSubtype.RIGHTS_QUERY);
    const navInfo = decodeTlvRestList((await nav.expectSnacWhere(CHATNAV_FAMILY, ChatNavSubtype.NAV_INFO, (s) => s.requestId === rights)).body);
    assert.equal(navInfo.u8(0x0002), 10);
    assert.deepEqual([...new ByteReader(navInfo.bytes(0x0003)!).bytes(2)], [0, 4], 'exchange 4');
    const custom = tlv(0x7777, Uint8Array.of(9, 8, 7));
    const created = await createRoom(nav, 4, roomTlvs('Secret Plans', CONTENT_TYPE_SECURE, [custom]));
    assert.notEqual(typeof created, 'number');
    if (typeof created === 'number') return;
    assert.equal(created.exchange, 4);
    assert.equal(cookieText(created.cookie), '!aol://2719:10-4-Secret%20Plans', 'AOL-style cookie joscar can parse');
    assert.equal(created.tlvs.string(RoomTlv.CONTENT_TYPE), CONTENT_TYPE_SECURE);
    assert.equal(created.tlvs.string(RoomTlv.NAME), 'Secret Plans');
    assert.equal(created.tlvs.string(RoomTlv.CHARSET1), 'us-ascii');
    assert.deepEqual([...created.tlvs.bytes(0x7777)!], [9, 8, 7], 'unknown room TLVs are stored and echoed');
    assert.equal(created.tlvs.u16(RoomTlv.MAX_OCCUPANCY), 100);

    // Bob asks for "secret  plans" as a plain room: he gets the existing secure room, with its real 0x00DB.
    const bobNav = await openChatNav(ep, bob.conn);
    const same = await createRoom(bobNav, 4, roomTlvs('secret  plans', CONTENT_TYPE_PLAIN));
    assert.ok(typeof same !== 'number');
    assert.equal(cookieText(same.cookie), cookieText(created.cookie));
    assert.equal(same.tlvs.string(RoomTlv.CONTENT_TYPE), CONTENT_TYPE_SECURE);
    // 0D/04 room info by cookie.
    const q = bobNav.sendSnac(CHATNAV_FAMILY, ChatNavSubtype.ROOM_INFO_QUERY, Uint8Array.from([...encodeMiniRoomInfo(created), 2]));
    const info = await navAnswer(bobNav, q);
    assert.ok(typeof info !== 'number');
    assert.equal(info.tlvs.string(RoomTlv.CONTENT_TYPE), CONTENT_TYPE_SECURE);

    // Alice joins: she is listed, then the room info update carries 0x00DB.
    const aChat = await joinRoom(ep, alice.conn, created);
    assert.deepEqual(names((await aChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED)).body), ['alice']);
    const update = decodeRoomInfo((await aChat.expectSnac(CHAT_FAMILY, ChatSubtype.ROOM_INFO_UPDATE)).body);
    assert.equal(update.tlvs.string(RoomTlv.CONTENT_TYPE), CONTENT_TYPE_SECURE, '0E/02 echoes 0x00DB');
    assert.deepEqual([...update.tlvs.bytes(0x7777)!], [9, 8, 7]);
    assert.equal(cookieText(update.cookie), cookieText(created.cookie));

    const bChat = await joinRoom(ep, bob.conn, same);
    assert.deepEqual(names((await bChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED)).body).sort(), ['alice', 'bob']);
    assert.deepEqual(names((await aChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED)).body), ['bob']);
    const cChat = await joinRoom(ep, carol.conn, created);
    await cChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    for (const c of [aChat, bChat]) assert.deepEqual(names((await c.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED)).body), ['carol']);

    // A message: a fake sender block (0x0003) claiming to be carol is not relayed; the five TLVs arrive as sent.
    const block = messageBlock(CONTENT_TYPE_SECURE, randomBytes(700));
    const spoof = tlv(ChatTlv.SENDER_INFO, encodeUserInfo({ screenName: 'carol', warningLevel: 0, tlvs: [] }));
    const cookie = Uint8Array.of(8, 7, 6, 5, 4, 3, 2, 1);
    sendRoomMessage(aChat, block, { cookie, extra: [spoof] });
    for (const c of [bChat, cChat]) {
      const m = decodeChatMsgToClient((await c.expectSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT)).body);
      assert.deepEqual([...m.cookie], [...cookie]);
      assert.equal(m.channel, 3);
      assert.deepEqual(Buffer.from(m.tlvs.bytes(ChatTlv.MESSAGE)!), Buffer.from(block), 'message block byte for byte');
      assert.deepEqual(decodeTlvRestList(m.tlvs.bytes(ChatTlv.MESSAGE)!).items.map((t) => t.type), [4, 2, 3, 5, 1]);
      assert.equal(decodeUserInfo(m.tlvs.bytes(ChatTlv.SENDER_INFO)!).screenName, 'alice', 'the sender is the server\'s');
      assert.equal(m.tlvs.getAll(ChatTlv.SENDER_INFO).length, 1);
      assert.equal(m.tlvs.has(ChatTlv.PUBLIC), true);
    }
    assert.equal(await aChat.noSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT, 200), true, 'no copy to the sender unless asked');
    sendRoomMessage(aChat, block, { reflect: true });
    assert.deepEqual(Buffer.from(decodeChatMsgToClient((await aChat.expectSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT)).body).tlvs.bytes(ChatTlv.MESSAGE)!), Buffer.from(block));
    for (const c of [bChat, cChat]) await c.expectSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT);

    // Whisper: only the target.
    const whisper = messageBlock(CONTENT_TYPE_SECURE, randomBytes(64));
    sendRoomMessage(bChat, whisper, { whisperTo: 'Alice' });
    const w = decodeChatMsgToClient((await aChat.expectSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT)).body);
    assert.deepEqual(Buffer.from(w.tlvs.bytes(ChatTlv.MESSAGE)!), Buffer.from(whisper));
    assert.equal(w.tlvs.has(ChatTlv.PUBLIC), false);
    assert.equal(await cChat.noSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT, 200), true);
    const nobody = sendRoomMessage(bChat, whisper, { whisperTo: 'dave' });
    assert.equal(decodeSnacError((await bChat.expectSnacWhere(CHAT_FAMILY, ChatSubtype.ERROR, (s) => s.requestId === nobody)).body).code, 0x04);

    // BOS families are not served on a chat connection, and IMs never reach it.
    aChat.sendSnac(0x0004, 0x0006, imBody('bob', 'x'));
    assert.equal(decodeSnacError((await aChat.expectSnac(0x0004, 0x0001)).body).code, 0x01);
    carol.conn.sendSnac(0x0004, 0x0006, imBody('alice', 'hi', [tlv(0x0003)]));
    await alice.conn.expectSnac(0x0004, 0x0007);
    assert.equal(await aChat.noSnac(0x0004, 0x0007, 150), true);

    // Carol leaves: after the rejoin grace, the others see 0E/04 with her block.
    cChat.close();
    assert.equal(await aChat.noSnac(CHAT_FAMILY, ChatSubtype.USERS_LEFT, 150), true, 'not before the grace period');
    for (const c of [aChat, bChat]) assert.deepEqual(names((await c.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_LEFT)).body), ['carol']);
    for (const c of [aChat, bChat, nav, bobNav, alice.conn, bob.conn, carol.conn]) c.close();
  });
});

test('a room cookie opens only its room; unknown rooms and tampered cookies are refused; a classic rejoin is not a leave', async () => {
  await withOscarFixture({ users: [['alice', 'pw-a'], ['bob', 'pw-b']] }, async (_fx, ep) => {
    const alice = await signOn(ep, 'alice', 'pw-a', 'md5-strong');
    const bob = await signOn(ep, 'bob', 'pw-b', 'md5-strong');
    const nav = await openChatNav(ep, alice.conn);
    const one = await createRoom(nav, 4, roomTlvs('One', CONTENT_TYPE_PLAIN));
    const two = await createRoom(nav, 4, roomTlvs('Two', CONTENT_TYPE_PLAIN));
    assert.ok(typeof one !== 'number' && typeof two !== 'number');

    // Unknown room, wrong exchange, missing room TLV.
    assert.equal(await requestService(alice.conn, CHAT_FAMILY, [tlv(ServiceTlv.ROOM, encodeMiniRoomInfo({ exchange: 4, cookie: encodeText('!aol://2719:10-4-Three'), instance: 0 }))]), 0x14);
    assert.equal(await requestService(alice.conn, CHAT_FAMILY, [tlv(ServiceTlv.ROOM, encodeMiniRoomInfo({ ...one, exchange: 5 }))]), 0x14);
    assert.equal(await requestService(alice.conn, CHAT_FAMILY), 0x0e);

    // A tampered service cookie (room bytes changed) is refused with a sign-off.
    const r = await requestService(alice.conn, CHAT_FAMILY, [tlv(ServiceTlv.ROOM, encodeMiniRoomInfo(one))]);
    assert.ok(typeof r !== 'number');
    const forged = r.cookie.slice();
    const at = Buffer.from(forged).indexOf(Buffer.from('One'));
    assert.ok(at > 0);
    forged.set(encodeText('Two'), at);
    const c = await TestConnection.open({ port: ep.port });
    await c.nextFrame((f) => f.channel === FlapChannel.SignOn);
    c.sendFrame(FlapChannel.SignOn, encodeFlapHello([tlv(0x0006, forged)]));
    await c.nextFrame((f) => f.channel === FlapChannel.SignOff);
    c.close();

    // Messages from a room-One connection reach room One only.
    const aOne = await joinRoom(ep, alice.conn, one);
    const bTwo = await joinRoom(ep, bob.conn, two);
    await aOne.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    await bTwo.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    sendRoomMessage(aOne, messageBlock(CONTENT_TYPE_PLAIN, encodeText('only one')));
    assert.equal(await bTwo.noSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT, 200), true);

    // A classic client (no multi-conn flag) joining One again displaces its older connection: bob, in One too,
    // sees neither a leave nor a second join.
    const bOne = await joinRoom(ep, bob.conn, one);
    await bOne.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    await aOne.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    const aOneAgain = await joinRoom(ep, alice.conn, one);
    assert.deepEqual(names((await aOneAgain.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED)).body).sort(), ['alice', 'bob']);
    await aOne.nextFrame((f) => f.channel === FlapChannel.SignOff);
    assert.equal(await bOne.noSnac(CHAT_FAMILY, ChatSubtype.USERS_LEFT, 300), true);
    assert.equal(await bOne.noSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED, 50), true);
    sendRoomMessage(bOne, messageBlock(CONTENT_TYPE_PLAIN, encodeText('still here?')));
    await aOneAgain.expectSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT);
    for (const x of [aOne, aOneAgain, bOne, bTwo, nav, alice.conn, bob.conn]) x.close();
  });
});

test('limits: names, exchanges, rooms per creator, occupancy, message length, rate class; unreadable blocks', async () => {
  const engine = { config: { maxRoomOccupancy: 2, maxRoomMessageLength: 100, maxRoomsPerCreator: 2, maxRoomNameLength: 16 } };
  await withOscarFixture({ users: [['alice', 'pw-a'], ['bob', 'pw-b'], ['carol', 'pw-c']], engine }, async (_fx, ep) => {
    const alice = await signOn(ep, 'alice', 'pw-a', 'md5-strong');
    const bob = await signOn(ep, 'bob', 'pw-b', 'md5-strong');
    const carol = await signOn(ep, 'carol', 'pw-c', 'md5-strong');
    const nav = await openChatNav(ep, alice.conn);
    assert.equal(await createRoom(nav, 4, roomTlvs('x'.repeat(17), CONTENT_TYPE_PLAIN)), 0x0d, 'name too long');
    assert.equal(await createRoom(nav, 4, roomTlvs('bad\u0007name', CONTENT_TYPE_PLAIN)), 0x0d, 'control character');
    assert.equal(await createRoom(nav, 4, roomTlvs('   ', CONTENT_TYPE_PLAIN)), 0x0d, 'empty name');
    assert.equal(await createRoom(nav, 5, roomTlvs('public', CONTENT_TYPE_PLAIN)), 0x08, 'exchange 5');
    assert.equal(await createRoom(nav, 4, [tlvString(RoomTlv.CHARSET1, 'us-ascii')]), 0x0e, 'no name');
    assert.equal(await createRoom(nav, 4, roomTlvs('big', CONTENT_TYPE_PLAIN, [tlv(0x7001, new Uint8Array(1100))])), 0x15, 'room TLVs too large');
    const room = await createRoom(nav, 4, roomTlvs('Small', CONTENT_TYPE_PLAIN));
    assert.ok(typeof room !== 'number');
    assert.equal(room.tlvs.u16(RoomTlv.MAX_OCCUPANCY), 2);
    assert.equal(room.tlvs.u16(RoomTlv.MAX_MESSAGE_LENGTH), 100);
    assert.ok(typeof (await createRoom(nav, 4, roomTlvs('Second', CONTENT_TYPE_PLAIN))) !== 'number');
    assert.equal(await createRoom(nav, 4, roomTlvs('Third', CONTENT_TYPE_PLAIN)), 0x15, 'rooms per creator');
    assert.ok(typeof (await createRoom(nav, 4, roomTlvs('small', CONTENT_TYPE_PLAIN))) !== 'number', 'joining an existing room is not creating one');
    const ex = nav.sendSnac(CHATNAV_FAMILY, ChatNavSubtype.EXCHANGE_INFO_QUERY, Uint8Array.of(0, 5));
    assert.equal(await navAnswer(nav, ex), 0x08);

    const aChat = await joinRoom(ep, alice.conn, room);
    const bChat = await joinRoom(ep, bob.conn, room);
    await aChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    await bChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    assert.equal(await requestService(carol.conn, CHAT_FAMILY, [tlv(ServiceTlv.ROOM, encodeMiniRoomInfo(room))]), 0x0d, 'room full');

    const tooLong = sendRoomMessage(aChat, messageBlock(CONTENT_TYPE_PLAIN, new Uint8Array(101)));
    assert.equal(decodeSnacError((await aChat.expectSnacWhere(CHAT_FAMILY, ChatSubtype.ERROR, (s) => s.requestId === tooLong)).body).code, 0x0e);
    const junk = aChat.sendSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_HOST, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 0, 3, 0, 5, 0, 3, 0, 1, 0]));
    assert.equal(decodeSnacError((await aChat.expectSnacWhere(CHAT_FAMILY, ChatSubtype.ERROR, (s) => s.requestId === junk)).body).code, 0x0e);
    sendRoomMessage(aChat, messageBlock(CONTENT_TYPE_PLAIN, new Uint8Array(100)));
    await bChat.expectSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT);

    // Rate class 2 (docs/protocol.md §3.1): a flood is warned, limited and dropped before it is relayed.
    for (let i = 0; i < 130; i++) sendRoomMessage(aChat, messageBlock(CONTENT_TYPE_PLAIN, Uint8Array.of(i)));
    await aChat.expectSnacWhere(0x0001, 0x000a, (s) => new ByteReader(s.body).u16() === 3, 5000);
    let relayed = 0;
    while (!(await bChat.noSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT, 300))) relayed++;
    assert.ok(relayed > 50 && relayed < 130, `relayed ${relayed} of 130`);
    for (const c of [aChat, bChat, nav, alice.conn, bob.conn, carol.conn]) c.close();
  });
});

test('a chat redirect cookie is single-use', async () => {
  await withOscarFixture({ users: [['alice', 'pw-a']] }, async (_fx, ep) => {
    const alice = await signOn(ep, 'alice', 'pw-a', 'md5-strong');
    const nav = await openChatNav(ep, alice.conn);
    const room = await createRoom(nav, 4, roomTlvs('Once', CONTENT_TYPE_PLAIN));
    assert.ok(typeof room !== 'number');
    alice.conn.sendSnac(0x0001, 0x0004, encodeServiceRequest(CHAT_FAMILY, [tlv(ServiceTlv.ROOM, encodeMiniRoomInfo(room))]));
    const redirect = decodeServiceRedirect((await alice.conn.expectSnac(0x0001, 0x0005)).body);
    assert.equal(redirect.family, CHAT_FAMILY);
    const chat = await redeem(ep, redirect, CHAT_FAMILY);
    await chat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    const again = await TestConnection.open({ port: ep.port });
    await again.nextFrame((f) => f.channel === FlapChannel.SignOn);
    again.sendFrame(FlapChannel.SignOn, encodeFlapHello([tlv(0x0006, redirect.cookie)]));
    await again.nextFrame((f) => f.channel === FlapChannel.SignOff);
    for (const c of [again, chat, nav, alice.conn]) c.close();
  });
});

test('secure-room membership survives a reconnect: a rejoin within the grace period is neither a leave nor a join', async () => {
  await withOscarFixture({ users: [['alice', 'pw-a'], ['bob', 'pw-b']], engine: { config: { secureRoomRejoinGraceMs: 1500 } } }, async (_fx, ep) => {
    const alice = await signOn(ep, 'alice', 'pw-a', 'md5-strong');
    const bob = await signOn(ep, 'bob', 'pw-b', 'md5-strong');
    const nav = await openChatNav(ep, alice.conn);
    const secure = await createRoom(nav, 4, roomTlvs('Vault', CONTENT_TYPE_SECURE));
    const plain = await createRoom(nav, 4, roomTlvs('Lobby', CONTENT_TYPE_PLAIN));
    assert.ok(typeof secure !== 'number' && typeof plain !== 'number');
    const aChat = await joinRoom(ep, alice.conn, secure);
    await aChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    const bChat = await joinRoom(ep, bob.conn, secure);
    await bChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    await aChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);

    bChat.close(); // the connection drops
    await new Promise((r) => setTimeout(r, 300));
    const bAgain = await joinRoom(ep, bob.conn, secure);
    assert.deepEqual(names((await bAgain.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED)).body).sort(), ['alice', 'bob']);
    assert.equal(await aChat.noSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED, 200), true, 'no second join');
    assert.equal(await aChat.noSnac(CHAT_FAMILY, ChatSubtype.USERS_LEFT, 2000), true, 'no leave, even after the grace period');
    sendRoomMessage(aChat, messageBlock(CONTENT_TYPE_SECURE, Uint8Array.of(1, 2, 3)));
    await bAgain.expectSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT);

    // Staying away past the grace period is a leave; in a plain room a leave is immediate.
    bAgain.close();
    assert.deepEqual(names((await aChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_LEFT, 4000)).body), ['bob']);
    const aLobby = await joinRoom(ep, alice.conn, plain);
    await aLobby.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    const bLobby = await joinRoom(ep, bob.conn, plain);
    await aLobby.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    bLobby.close();
    assert.deepEqual(names((await aLobby.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_LEFT, 1000)).body), ['bob']);
    for (const c of [aChat, aLobby, nav, alice.conn, bob.conn]) c.close();
  });
});

test('a member churning connections in a secure room leaves one lingering entry, not one per dropped connection', async () => {
  // A long grace: before, every dropped connection's entry stayed for all of it, and every join and room message
  // walked them all (40 join-and-drop cycles left 40 entries under the room's key with no occupant).
  await withOscarFixture({ users: [['alice', 'pw-a'], ['bob', 'pw-b']], engine: { config: { secureRoomRejoinGraceMs: 60_000 } } }, async (fx, ep) => {
    const alice = await signOn(ep, 'alice', 'pw-a', 'md5-strong');
    const bob = await signOn(ep, 'bob', 'pw-b', 'md5-strong', { multiConn: 1 });
    const nav = await openChatNav(ep, alice.conn);
    const secure = await createRoom(nav, 4, roomTlvs('Vault', CONTENT_TYPE_SECURE));
    assert.ok(typeof secure !== 'number');
    const aChat = await joinRoom(ep, alice.conn, secure);
    await aChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    const entries = async (): Promise<number> => (await fx.server.engine.directory.sessionsOf(roomDirectoryKey(4, 'Vault'))).length;
    for (let i = 0; i < 30; i++) {
      const c = await joinRoom(ep, bob.conn, secure);
      await c.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
      c.close();
      // Until the server has seen this close: the room holds alice, bob's lingering entry and at most this one.
      while ((await fx.server.engine.rooms.get(cookieText(secure.cookie), Date.now()))!.occupants > 1) await new Promise((r) => setTimeout(r, 5));
      assert.ok((await entries()) <= 2, `after ${i + 1} cycles: ${await entries()} entries under the room's key`);
    }
    assert.equal(await entries(), 2, 'alice, and bob\'s one lingering entry');
    assert.deepEqual(names((await aChat.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED)).body), ['bob'], 'bob joined once');
    assert.equal(await aChat.noSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED, 200), true, 'and was never announced again');
    assert.equal(await aChat.noSnac(CHAT_FAMILY, ChatSubtype.USERS_LEFT, 200), true, 'nor announced leaving: he is within the grace');
    for (const c of [aChat, nav, alice.conn, bob.conn]) c.close();
  });
});

test('a user holds at most maxRoomConnectionsPerMember connections in a room; a connection that never gets ready is closed', async () => {
  const engine = { config: { maxRoomConnectionsPerMember: 2, roomReadyTimeoutMs: 400 } };
  await withOscarFixture({ users: [['alice', 'pw-a']], engine }, async (_fx, ep) => {
    const alice = await signOn(ep, 'alice', 'pw-a', 'md5-strong', { multiConn: 1 });
    const nav = await openChatNav(ep, alice.conn);
    const room = await createRoom(nav, 4, roomTlvs('Crowd', CONTENT_TYPE_PLAIN));
    assert.ok(typeof room !== 'number');
    const one = await joinRoom(ep, alice.conn, room);
    const two = await joinRoom(ep, alice.conn, room);
    await one.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    await two.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    const r = await requestService(alice.conn, CHAT_FAMILY, [tlv(ServiceTlv.ROOM, encodeMiniRoomInfo(room))]);
    assert.ok(typeof r !== 'number');
    const third = await TestConnection.open({ port: ep.port });
    await third.nextFrame((f) => f.channel === FlapChannel.SignOn);
    third.sendFrame(FlapChannel.SignOn, encodeFlapHello([tlv(0x0006, r.cookie)]));
    await third.nextFrame((f) => f.channel === FlapChannel.SignOff);
    third.close();

    // Leave one place; a connection that redeems its cookie but never sends 01/02 is closed and frees it again.
    two.close();
    await new Promise((res) => setTimeout(res, 100));
    const idle = await requestService(alice.conn, CHAT_FAMILY, [tlv(ServiceTlv.ROOM, encodeMiniRoomInfo(room))]);
    assert.ok(typeof idle !== 'number');
    const lurker = await TestConnection.open({ port: ep.port });
    await lurker.nextFrame((f) => f.channel === FlapChannel.SignOn);
    lurker.sendFrame(FlapChannel.SignOn, encodeFlapHello([tlv(0x0006, idle.cookie)]));
    await lurker.expectSnac(0x0001, 0x0003);
    await lurker.nextFrame((f) => f.channel === FlapChannel.SignOff, 3000);
    lurker.close();
    await new Promise((res) => setTimeout(res, 100));
    const again = await joinRoom(ep, alice.conn, room);
    await again.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    for (const c of [one, again, nav, alice.conn]) c.close();
  });
});
