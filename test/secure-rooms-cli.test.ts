/**
 * Secure rooms end to end with real processes (docs/protocol.md §7, §16): a real `certim server`, three certim users
 * as `certim room` CLI processes, and a raw OSCAR client (test/support/oscar-rooms.ts) as an uninvited intruder.
 * alice creates a secure room and makes its key, invites bob and carol (`/invite` on her `room join`'s stdin); all
 * exchange verified messages; carol leaves and alice rekeys bob; carol's client — still holding the old key — is
 * lured back in by a forged invitation and reads nothing sent after; the intruder joins uninvited, is shown
 * "no key — cannot read", reads no plaintext, and its replayed and tampered copies of alice's messages fail. Finally
 * no marker of any message is in the server's data directory or its logs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ByteWriter } from '../src/wire/bytes.js';
import { capabilityBytes } from '../src/wire/capabilities.js';
import { CONTENT_TYPE_SECURE, encodeMiniRoomInfo, type RoomInfo } from '../src/wire/families/chat-nav.js';
import { CHAT_FAMILY, ChatSubtype, ChatTlv, decodeChatMsgToClient } from '../src/wire/families/chat.js';
import { encodeIcbmChannelMsgToHost } from '../src/wire/icbm-message.js';
import { tlv, tlvString, tlvU16, writeTlvRestList } from '../src/wire/tlv.js';
import { startCli, TestServer, type RunningCli, type TestUser } from './support/cli-harness.js';
import { filesUnder } from './support/files-under.js';
import { createRoom, joinRoom, openChatNav, roomTlvs, sendRoomMessage } from './support/oscar-rooms.js';
import { signOn, type BosClient, type TestConnection } from './support/oscar-test-client.js';

type Line = Record<string, unknown>;
const ROOM = 'War Room';
const MARK = `PLAIN-${randomBytes(8).toString('hex')}`;

function lines(p: RunningCli, pred: (l: Line) => boolean): Line[] {
  return p.jsonLines().filter(pred);
}
const msgFrom = (p: RunningCli, from: string, textPart: string): Line | undefined =>
  lines(p, (l) => l.event === 'message' && l.from === from && typeof l.text === 'string' && l.text.includes(textPart))[0];

/** A forged invitation (ICBM channel 2, §7.2) with the secure flag but no security block. */
function forgedInvitation(to: string, room: RoomInfo): Uint8Array {
  const cookie = randomBytes(8);
  const block = writeTlvRestList(new ByteWriter(256).u16(0).bytes(cookie).bytes(capabilityBytes('Chat')), [
    tlvU16(0x000a, 1), tlv(0x000f), tlvString(0x000e, 'en'), tlvString(0x000d, 'us-ascii'), tlvString(0x000c, 'come back'),
    tlv(0x0011), tlv(0x2711, encodeMiniRoomInfo(room)),
  ]).finish();
  return encodeIcbmChannelMsgToHost({ cookie, channel: 2, screenName: to, tlvs: [tlv(0x0005, block)] });
}

describe('secure rooms (CLI processes + a raw OSCAR intruder)', { timeout: 600_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  const procs: RunningCli[] = [];
  let dave: BosClient | undefined;
  const conns: TestConnection[] = [];

  before(async () => {
    server = await TestServer.start();
    [alice, bob, carol] = await Promise.all([server.enrolledUser('alice'), server.enrolledUser('bob'), server.enrolledUser('carol')]);
    await server.addUser('dave', 'pw-dave', { legacyLogin: true });
  });

  after(async () => {
    for (const c of conns) c.close();
    dave?.conn.close();
    for (const p of procs) await p.stop().catch(() => undefined);
    await server?.stop();
  });

  it('verified messages, rekey on leave, the leaver and an intruder read nothing, failures for replay and tamper, no plaintext at the server', async () => {
    const created = await alice.run(['room', 'create', ROOM, '--secure', '--json']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(JSON.parse(created.stdout.trim()).contentType, CONTENT_TYPE_SECURE);

    const bobL = bob.start(['room', 'listen', '--json', '--accept-invitations']);
    const carolL = carol.start(['room', 'listen', '--json', '--accept-invitations']);
    procs.push(bobL, carolL);
    const aliceJ = startCli(['room', 'join', ROOM, '--json', '--profile', alice.profile], alice.env());
    procs.push(aliceJ);
    await aliceJ.waitFor((_, err) => err.includes('new room key (epoch 1)'), 'alice made the room key');
    await bobL.waitFor((_, err) => err.includes('waiting for room invitations'), 'bob listening');
    await carolL.waitFor((_, err) => err.includes('waiting for room invitations'), 'carol listening');

    // Invitations carry the key (TLV 0x2713); each one starts an epoch that names the new keyholder.
    aliceJ.child.stdin!.write('/invite bob\n');
    await bobL.waitFor(() => lines(bobL, (l) => l.event === 'joined' && l.room === ROOM).length > 0, 'bob joined');
    aliceJ.child.stdin!.write('/invite carol\n');
    await carolL.waitFor(() => lines(carolL, (l) => l.event === 'joined' && l.room === ROOM).length > 0, 'carol joined');
    await bobL.waitFor((_, err) => err.includes('new room key from alice (epoch 3)'), 'bob took the epoch-3 key update');
    const invitation = lines(carolL, (l) => l.event === 'invitation')[0]!;
    assert.equal(invitation.secure, true);
    assert.equal(invitation.securityBlock, true);

    // Everyone writes; everyone else reads it verified.
    aliceJ.child.stdin!.write(`hello from alice ${MARK}\n`);
    await bobL.waitFor(() => msgFrom(bobL, 'alice', 'hello from alice') !== undefined, 'bob got alice');
    await carolL.waitFor(() => msgFrom(carolL, 'alice', 'hello from alice') !== undefined, 'carol got alice');
    for (const p of [bobL, carolL]) {
      const m = msgFrom(p, 'alice', 'hello from alice')!;
      assert.deepEqual([m.verdict, m.secure, m.text], ['verified', true, `hello from alice ${MARK}`]);
      assert.match(String(m.reason), /key epoch 3/);
    }
    const bobSend = await bob.run(['room', 'send', ROOM, `bob one-shot ${MARK}`]);
    // A one-shot `room send` is a second session without the key: refused, nothing sent in clear.
    assert.equal(bobSend.code, 1);
    assert.match(bobSend.stderr, /no key — cannot read/);

    // carol leaves; alice (first keyholder by name) rekeys bob; carol's epoch ends.
    const left = await carol.run(['room', 'leave', ROOM]);
    assert.equal(left.code, 0, left.stderr);
    await bobL.waitFor((_, err) => err.includes('new room key from alice (epoch 4)'), 'bob took the rekey after carol left');

    // The intruder: dave signs on with a raw OSCAR client and joins uninvited.
    dave = await signOn({ port: server.ready.oscar }, 'dave', 'pw-dave', 'md5-strong');
    const nav = await openChatNav({ port: server.ready.oscar }, dave.conn);
    conns.push(nav);
    const info = await createRoom(nav, 4, roomTlvs(ROOM, CONTENT_TYPE_SECURE));
    assert.ok(typeof info !== 'number', `room info: ${String(info)}`);
    const chat = await joinRoom({ port: server.ready.oscar }, dave.conn, info);
    conns.push(chat);
    await aliceJ.waitFor(() => lines(aliceJ, (l) => l.event === 'members' && (l.joined as string[]).includes('dave')).length > 0, 'alice saw dave');
    const flagged = lines(aliceJ, (l) => l.event === 'members' && (l.joined as string[]).includes('dave'))[0]!;
    assert.deepEqual((flagged.members as Line[]).find((m) => m.screenName === 'dave')?.keyStatus, 'no key — cannot read');
    assert.deepEqual((flagged.members as Line[]).find((m) => m.screenName === 'bob')?.keyStatus, 'has key');

    // carol's client, still holding epoch 3, is lured back by a forged invitation (no key in it) and rejoins.
    dave.conn.sendSnac(0x0004, 0x0006, forgedInvitation('carol', info));
    await carolL.waitFor(() => lines(carolL, (l) => l.event === 'joined' && l.room === ROOM).length > 1, 'carol rejoined');
    await aliceJ.waitFor(() => lines(aliceJ, (l) => l.event === 'members' && (l.joined as string[]).includes('carol')).length > 1, 'alice saw carol back');
    const back = lines(aliceJ, (l) => l.event === 'members' && (l.joined as string[]).includes('carol')).at(-1)!;
    assert.equal((back.members as Line[]).find((m) => m.screenName === 'carol')?.keyStatus, 'no key — cannot read');

    aliceJ.child.stdin!.write(`after carol left ${MARK}\n`);
    await bobL.waitFor(() => msgFrom(bobL, 'alice', 'after carol left') !== undefined, 'bob got the post-rekey message');
    const mb = msgFrom(bobL, 'alice', 'after carol left')!;
    assert.equal(mb.verdict, 'verified');
    assert.match(String(mb.reason), /key epoch 4/);
    await carolL.waitFor(() => lines(carolL, (l) => l.event === 'message' && l.from === 'alice').length > 1, 'carol got something', 30_000);
    const mc = lines(carolL, (l) => l.event === 'message' && l.from === 'alice').at(-1)!;
    assert.deepEqual([mc.verdict, mc.code], ['failed', 'no-key']);
    assert.ok(!mc.text, 'no text for a failed message');

    // What dave received: ciphertext only. He replays one block as his own, and sends a tampered copy.
    let block: Uint8Array | undefined;
    for (let i = 0; i < 10 && !block; i++) {
      const got = decodeChatMsgToClient((await chat.expectSnac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_CLIENT, 10_000)).body);
      const b = got.tlvs.bytes(ChatTlv.MESSAGE)!;
      assert.equal(Buffer.from(b).includes(Buffer.from(MARK)), false, 'the intruder sees no plaintext');
      if (Buffer.from(b).includes(Buffer.from(CONTENT_TYPE_SECURE))) block = b;
    }
    assert.ok(block, 'dave saw a secure message');
    sendRoomMessage(chat, block);
    const tampered = Uint8Array.from(block);
    tampered[tampered.length - 5]! ^= 0x40;
    sendRoomMessage(chat, tampered);
    await bobL.waitFor(() => lines(bobL, (l) => l.event === 'message' && l.from === 'dave').length >= 2, 'bob judged dave\'s two messages');
    for (const m of lines(bobL, (l) => l.event === 'message' && l.from === 'dave')) {
      assert.equal(m.verdict, 'failed');
      assert.ok(!m.text, 'no text for a failed message');
    }
    // Nobody showed a message from dave as text; alice's own client judged them the same way.
    await aliceJ.waitFor(() => lines(aliceJ, (l) => l.event === 'message' && l.from === 'dave').length >= 2, 'alice judged dave\'s messages');
    assert.ok(lines(aliceJ, (l) => l.event === 'message' && l.from === 'dave').every((m) => m.verdict === 'failed'));

    for (const p of procs) await p.stop();
    const out = await server.cli.stop();
    const files = filesUnder(server.dataDir);
    assert.ok(files.some((f) => f.endsWith('certim.db')));
    const mark = Buffer.from(MARK);
    for (const f of files) assert.equal(readFileSync(f).includes(mark), false, `${f} holds a room message's plaintext`);
    assert.ok(out.stderr.length + out.stdout.length > 0, 'the server logged');
    assert.equal(Buffer.from(out.stdout + out.stderr).includes(mark), false, 'the server logs hold a room message\'s plaintext');
  });
});
