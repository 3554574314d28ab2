/**
 * The server never keeps a room message or a room key (docs/protocol.md §7): room messages (secure and plain, public,
 * whispered, refused ones) and a chat invitation carrying a room key in its security block (ICBM channel 2, §7.2)
 * go through a real server; afterwards no byte of a marker they carried is in any file of the data directory
 * (database, WAL, CA) or in the server's logs — every log level of an in-process server, and stdout/stderr of a
 * real `certim server` process. The markers reached the other members, so they did pass through the server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { ByteWriter, encodeText } from '../src/wire/bytes.js';
import { CONTENT_TYPE_PLAIN, CONTENT_TYPE_SECURE, encodeMiniRoomInfo, type MiniRoomInfo } from '../src/wire/families/chat-nav.js';
import { CHAT_FAMILY, ChatSubtype, ChatTlv, decodeChatMsgToClient } from '../src/wire/families/chat.js';
import { decodeIcbmChannelMsgToClient, encodeIcbmChannelMsgToHost } from '../src/wire/icbm-message.js';
import { capabilityBytes } from '../src/wire/capabilities.js';
import { tlv, tlvString, tlvU16, writeTlvRestList } from '../src/wire/tlv.js';
import { withOscarFixture } from './support/oscar-server-fixture.js';
import { signOn, type Endpoint } from './support/oscar-test-client.js';
import { createRoom, joinRoom, messageBlock, openChatNav, roomTlvs, sendRoomMessage } from './support/oscar-rooms.js';
import { TestServer } from './support/cli-harness.js';
import { filesUnder } from './support/files-under.js';

/** A chat invitation's rendezvous block (§7.2): request, chat capability, secure flag 0x0011, security block 0x2713. */
function invitation(cookie: Uint8Array, room: MiniRoomInfo, securityBlock: Uint8Array): Uint8Array {
  const w = new ByteWriter(256).u16(0).bytes(cookie).bytes(capabilityBytes('Chat'));
  return writeTlvRestList(w, [
    tlvU16(0x000a, 1), tlv(0x000f), tlvString(0x000e, 'en'), tlvString(0x000d, 'us-ascii'), tlvString(0x000c, 'join me'),
    tlv(0x0011), tlv(0x2713, securityBlock), tlv(0x2711, encodeMiniRoomInfo(room)),
  ]).finish();
}

/** Room traffic and an invitation carrying `marker`; asserts each reached its recipient. */
async function exercise(ep: Endpoint, marker: string): Promise<void> {
  const m = encodeText(marker);
  const alice = await signOn(ep, 'alice', 'pw-alice', 'md5-strong');
  const bob = await signOn(ep, 'bob', 'pw-bob', 'md5-strong');
  const nav = await openChatNav(ep, alice.conn);
  const secure = await createRoom(nav, 4, roomTlvs('Vault', CONTENT_TYPE_SECURE));
  const plain = await createRoom(nav, 4, roomTlvs('Lobby', CONTENT_TYPE_PLAIN));
  assert.ok(typeof secure !== 'number' && typeof plain !== 'number');

  // The room key travels in an invitation's security block: relayed to bob, refused for storage when he is away.
  const key = Uint8Array.from([...m, ...randomBytes(32)]);
  const cookie = randomBytes(8);
  alice.conn.sendSnac(0x0004, 0x0006, encodeIcbmChannelMsgToHost({ cookie, channel: 2, screenName: 'bob', tlvs: [tlv(0x0005, invitation(cookie, secure, key))] }));
  const inv = decodeIcbmChannelMsgToClient((await bob.conn.expectSnac(0x0004, 0x0007)).body);
  assert.ok(Buffer.from(inv.tlvs.bytes(0x0005)!).includes(Buffer.from(key)), 'the invitation reached bob');
  alice.conn.sendSnac(0x0004, 0x0006, encodeIcbmChannelMsgToHost({ cookie, channel: 2, screenName: 'carol', tlvs: [tlv(0x0005, invitation(cookie, secure, key)), tlv(0x0006)] }));
  assert.equal((await alice.conn.expectSnac(0x0004, 0x0001)).body[1], 0x04, 'an invitation is never stored offline');

  for (const room of [secure, plain]) {
    const a = await joinRoom(ep, alice.conn, room);
    const b = await joinRoom(ep, bob.conn, room);
    await a.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    await b.expectSnac(CHAT_FAMILY, ChatSubtype.USERS_JOINED);
    const block = messageBlock(room === secure ? CONTENT_TYPE_SECURE : CONTENT_TYPE_PLAIN, encodeText(`<HTML>${marker} says hi</HTML>`));
    sendRoomMessage(a, block);
    sendRoomMessage(a, block, { whisperTo: 'bob' });
    for (let i = 0; i < 2; i++) {
      const got = decodeChatMsgToClient((await b.expectSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT)).body);
      assert.deepEqual(Buffer.from(got.tlvs.bytes(ChatTlv.MESSAGE)!), Buffer.from(block));
    }
    // Refused messages (too long, unreadable) are not logged either.
    sendRoomMessage(a, messageBlock(CONTENT_TYPE_PLAIN, Uint8Array.from([...m, ...new Uint8Array(9000)])));
    await a.expectSnac(CHAT_FAMILY, ChatSubtype.ERROR);
    sendRoomMessage(a, Uint8Array.from([0, 1, 0, 200, ...m]));
    await a.expectSnac(CHAT_FAMILY, ChatSubtype.ERROR);
    a.close();
    b.close();
  }
  for (const c of [nav, alice.conn, bob.conn]) c.close();
}

/** The forms a marker could take in a file or a log line. */
function forms(marker: string): Buffer[] {
  const b = Buffer.from(marker);
  return [b, Buffer.from(b.toString('hex')), Buffer.from(b.toString('hex').toUpperCase()), Buffer.from(b.toString('base64').slice(0, -2)), Buffer.from(marker, 'utf16le')];
}

function assertNowhere(marker: string, where: Array<[string, Buffer]>): void {
  assert.ok(where.length > 0);
  for (const [name, bytes] of where) for (const f of forms(marker)) assert.equal(bytes.includes(f), false, `${name} holds the marker (${f.toString().slice(0, 12)}…)`);
}

test('in-process server: no room message or room key in the data directory or in any log level', async () => {
  const marker = `MARK-${randomBytes(12).toString('hex')}`;
  const logs: unknown[] = [];
  const log = (level: string, msg: string, fields?: Record<string, unknown>) => void logs.push({ level, msg, fields });
  const users: Array<[string, string]> = [['alice', 'pw-alice'], ['bob', 'pw-bob'], ['carol', 'pw-carol']];
  await withOscarFixture({ users, engine: { log } }, async (fx, ep) => {
    await exercise(ep, marker);
    // Something the server does log (a classic takeover), so an empty log cannot pass for a clean one.
    const first = await signOn(ep, 'alice', 'pw-alice', 'md5-strong');
    const second = await signOn(ep, 'alice', 'pw-alice', 'md5-strong');
    await first.conn.closed;
    second.conn.close();
    await new Promise((r) => setTimeout(r, 100));
    const files = filesUnder(fx.dir);
    assert.ok(files.some((f) => f.endsWith('certim.db')));
    const logText = Buffer.from(JSON.stringify(logs, (_k, v: unknown) => (v instanceof Uint8Array ? `${Buffer.from(v).toString('latin1')} ${Buffer.from(v).toString('hex')}` : v)));
    assert.ok(logs.length > 0, 'the server logged something');
    assertNowhere(marker, [...files.map((f): [string, Buffer] => [f, readFileSync(f)]), ['log', logText]]);
  });
});

test('certim server process: no room message or room key in its data directory, stdout or stderr', { timeout: 240_000 }, async () => {
  const marker = `MARK-${randomBytes(12).toString('hex')}`;
  const server = await TestServer.start();
  try {
    await server.addUser('alice', 'pw-alice', { legacyLogin: true });
    await server.addUser('bob', 'pw-bob', { legacyLogin: true });
    await exercise({ port: server.ready.oscar }, marker);
    const out = await server.cli.stop();
    const files = filesUnder(server.dataDir);
    assert.ok(files.some((f) => f.endsWith('certim.db')) && files.some((f) => f.endsWith('root.crt')));
    assertNowhere(marker, [...files.map((f): [string, Buffer] => [f, readFileSync(f)]), ['stdout', Buffer.from(out.stdout)], ['stderr', Buffer.from(out.stderr)]]);
    assert.ok(out.stderr.length > 0, 'the server logged to stderr');
  } finally {
    await server.cli.stop();
    rmSync(server.tmp, { recursive: true, force: true });
  }
});
