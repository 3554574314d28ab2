/**
 * Chat rooms through the client library against a real `certim server` process (docs/protocol.md §3.6–3.8, §7.2,
 * §17): create and join through ChatNav over TLS, the member list with capabilities, plain messages both ways with
 * every message-block TLV preserved, invitations over ICBM channel 2, leave, and the codec rules (a secure room
 * without a secure codec is unreadable and never gets plaintext; an unknown content type is refused).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { CertimClient } from '../src/client/client.js';
import { ClientError } from '../src/client/errors.js';
import { openClient } from '../src/client/node/account.js';
import { ProfileDir } from '../src/client/node/profile.js';
import type { RoomInvitation } from '../src/client/rooms/invitation.js';
import { defaultRoomCodecs, tlvText, type RoomCodec, type RoomCodecHooks, type RoomMember } from '../src/client/rooms/room-codec.js';
import { RoomClient, type ChatRoom, type RoomMessage } from '../src/client/rooms/room-client.js';
import { keyBlockSenderFor, SecureRoomAdapter } from '../src/client/rooms/secure-room-adapter.js';
import { LOCATE_FAMILY, LocateSubtype } from '../src/wire/families/locate.js';
import { TestServer, TestUser } from './support/cli-harness.js';

/** The next event `name` of `em` that satisfies `pred`, or a failure after `timeoutMs`. */
function next<T>(em: { on(e: string, f: (v: T) => void): unknown; off(e: string, f: (v: T) => void): unknown }, name: string, pred: (v: T) => boolean = () => true, timeoutMs = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const f = (v: T): void => {
      if (!pred(v)) return;
      clearTimeout(t);
      em.off(name, f);
      resolve(v);
    };
    const t = setTimeout(() => {
      em.off(name, f);
      reject(new Error(`no ${name} in time`));
    }, timeoutMs);
    em.on(name, f);
  });
}

const names = (ms: readonly RoomMember[]): string[] => ms.map((m) => m.screenName).sort();

describe('chat rooms through the client library', { timeout: 300_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  const clients: CertimClient[] = [];
  const roomClients: RoomClient[] = [];

  async function rooms(u: TestUser, codecs = defaultRoomCodecs()): Promise<RoomClient> {
    const { client } = await openClient(new ProfileDir(u.profile), { password: u.password, passphrase: u.passphrase, client: { reconnect: false } });
    clients.push(client);
    await client.connect();
    const r = new RoomClient(client, { codecs });
    roomClients.push(r);
    return r;
  }

  before(async () => {
    server = await TestServer.start();
    // One after the other: three key generations at once can outlast a CLI timeout on a loaded 2-core host.
    alice = await server.enrolledUser('alice');
    bob = await server.enrolledUser('bob');
    carol = await server.enrolledUser('carol');
  });

  after(async () => {
    for (const r of roomClients) r.close();
    for (const c of clients) c.close();
    await server?.stop();
  });

  it('create, join, member list with capabilities, plain messages both ways with all TLVs, invite, leave', async () => {
    const a = await rooms(alice);
    const b = await rooms(bob);
    const c = await rooms(carol);

    const desc = await a.create('Weekend Plans');
    assert.equal(desc.name, 'Weekend Plans');
    assert.equal(desc.exchange, 4);
    assert.equal(desc.cookie, '!aol://2719:10-4-Weekend%20Plans', 'the AOL-style cookie');
    assert.equal(desc.contentType, 'text/x-aolrtf');
    const ra = await a.join(desc);
    assert.deepEqual(names(ra.members()), ['alice'], 'the joiner is listed');
    assert.equal(ra.members()[0]!.certim, true, 'a certim member announces the modern capability');

    const bobArrives = next<{ joined: RoomMember[] }>(ra, 'members', (e) => e.joined.some((m) => m.screenName === 'bob'));
    const rb = await b.join('Weekend Plans');
    const arrived = await bobArrives;
    assert.equal(arrived.joined[0]!.certim, true);
    assert.ok(arrived.joined[0]!.certInfoHash, 'the member block carries the certificate hash');
    assert.deepEqual(names(rb.members()), ['alice', 'bob']);

    // alice -> bob
    const atBob = next<RoomMessage>(rb, 'message');
    await ra.send('hello room, ünïcode ✓');
    const m1 = await atBob;
    assert.equal(m1.from, 'alice');
    assert.equal(m1.text, 'hello room, ünïcode ✓');
    assert.equal(m1.verdict, 'untrusted');
    assert.equal(m1.code, 'plaintext');
    assert.equal(m1.secure, false);
    assert.deepEqual(m1.tlvs.map((t) => t.type), [0x0004, 0x0002, 0x0003, 0x0005, 0x0001], 'all five message-block TLVs, in order');
    assert.equal(tlvText(m1.tlvs, 0x0004), 'text/x-aolrtf');
    assert.equal(tlvText(m1.tlvs, 0x0002), 'utf-8');

    // bob -> alice (and alice's own message was not shown back to her)
    const atAlice = next<RoomMessage>(ra, 'message');
    await rb.send('hi alice');
    const m2 = await atAlice;
    assert.equal(m2.from, 'bob');
    assert.equal(m2.text, 'hi alice');

    // invitation alice -> carol over ICBM channel 2; carol accepts and joins
    const invited = next<RoomInvitation>(c, 'invitation');
    await a.invite(ra, 'carol', 'come plan with us');
    const inv = await invited;
    assert.equal(inv.peer, 'alice');
    assert.equal(inv.name, 'Weekend Plans');
    assert.equal(inv.text, 'come plan with us');
    assert.equal(inv.secure, false);
    assert.equal(inv.securityBlock, undefined);
    assert.deepEqual(inv.room, { exchange: 4, cookie: desc.cookie, instance: desc.instance });
    const carolAtAlice = next<{ joined: RoomMember[] }>(ra, 'members', (e) => e.joined.some((m) => m.screenName === 'carol'));
    const rc = await c.accept(inv);
    await carolAtAlice;
    assert.deepEqual(names(rc.members()), ['alice', 'bob', 'carol']);
    const three = next<RoomMessage>(rc, 'message');
    await rb.send('welcome carol');
    assert.equal((await three).text, 'welcome carol');

    // an invitation to someone offline is refused, never stored
    await assert.rejects(a.invite(ra, 'nobody-here'), (e: unknown) => ClientError.is(e) && (e.code === 'BUDDY_OFFLINE' || e.code === 'SEND_FAILED'));

    // bob leaves: the others see it; bob's room is closed and refuses to send
    const bobLeft = next<{ left: RoomMember[] }>(ra, 'members', (e) => e.left.some((m) => m.screenName === 'bob'));
    const closed = once(rb, 'closed');
    rb.leave();
    await closed;
    assert.deepEqual(names((await bobLeft).left), ['bob']);
    assert.deepEqual(names(ra.members()), ['alice', 'carol']);
    await assert.rejects(rb.send('too late'), (e: unknown) => ClientError.is(e, 'NOT_IN_ROOM'));
    assert.equal(b.room('Weekend Plans'), undefined);
  });

  it('finding a room that does not exist is ROOM_NOT_FOUND', async () => {
    const a = await rooms(alice);
    await assert.rejects(a.join('No Such Room'), (e: unknown) => ClientError.is(e, 'ROOM_NOT_FOUND'));
  });

  it('a secure room without a secure codec: joined read-only, messages unreadable, never sends plaintext', async () => {
    // A stand-in for the secure codec (roomcrypto12's): only its content type and an opaque body matter here.
    const standIn: RoomCodec & RoomCodecHooks = {
      invitationSecurityBlock: () => Promise.resolve(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x07)),
      contentType: 'application/pkcs7-mime',
      encode: () => Promise.resolve([{ type: 0x0004, value: new TextEncoder().encode('application/pkcs7-mime') }, { type: 0x0001, value: Uint8Array.of(0x30, 0x80, 1, 2, 3) }]),
      decode: () => Promise.resolve({ verdict: 'failed', code: 'test', reason: 'test', secure: true }),
    };
    const a = await rooms(alice, defaultRoomCodecs().register(standIn));
    const b = await rooms(bob);
    await assert.rejects(b.create('Secret Plans', { secure: true }), (e: unknown) => ClientError.is(e, 'ROOM_CODEC_UNAVAILABLE'), 'no secure room is created without the codec');
    const desc = await a.create('Secret Plans', { secure: true });
    assert.equal(desc.contentType, 'application/pkcs7-mime');
    const ra = await a.join(desc);
    const rb: ChatRoom = await b.join('Secret Plans');
    assert.equal(rb.secure, true);
    assert.equal(rb.readable, false);
    assert.equal(rb.keyStatus(rb.members()[0]!), 'no codec');
    const got = next<RoomMessage>(rb, 'message');
    await ra.send('ciphertext stand-in');
    const m = await got;
    assert.equal(m.verdict, 'failed');
    assert.equal(m.code, 'no-secure-codec');
    assert.equal(m.text, '');
    assert.deepEqual(m.tlvs.map((t) => t.type), [0x0004, 0x0001], 'the TLVs arrive as sent');
    let leaked = false;
    ra.on('message', () => {
      leaked = true;
    });
    await assert.rejects(rb.send('would be plaintext'), (e: unknown) => ClientError.is(e, 'ROOM_CODEC_UNAVAILABLE'));
    // A plain create of the same name finds the secure room and refuses it, rather than joining it in plaintext.
    await assert.rejects(b.create('Secret Plans'), (e: unknown) => ClientError.is(e, 'ROOM_CONTENT_TYPE'));
    await ra.send('barrier'); // reflected to alice only: by then anything bob sent would have reached her
    assert.equal(leaked, false, 'nothing from bob reached the room');
    // A secure invitation: 0x0011 set and the codec's security block (0x2713) carried as opaque bytes.
    const invited = next<RoomInvitation>(b, 'invitation');
    await a.invite(ra, 'bob');
    const inv = await invited;
    assert.equal(inv.secure, true);
    assert.deepEqual([...inv.securityBlock!], [0x30, 0x03, 0x02, 0x01, 0x07]);
    assert.equal(inv.name, 'Secret Plans');
  });

  it('secure room: a member\'s certificates come from the verified cache while its announced hash is unchanged (no Locate query per message)', async () => {
    const secureRooms = async (u: TestUser): Promise<{ r: RoomClient; locateQueries: () => number }> => {
      const { client } = await openClient(new ProfileDir(u.profile), { password: u.password, passphrase: u.passphrase, client: { reconnect: false } });
      clients.push(client);
      await client.connect();
      const r = new RoomClient(client, { codecs: defaultRoomCodecs().register(SecureRoomAdapter.forClient(client, keyBlockSenderFor(client))) });
      roomClients.push(r);
      // Counts the certificate queries this client really sends to the server (a spy on the live connection).
      const bos = (client as unknown as { bos: { request(f: number, s: number, b: Uint8Array): Promise<unknown> } }).bos;
      const request = bos.request.bind(bos);
      let n = 0;
      bos.request = (f, sub, b) => {
        if (f === LOCATE_FAMILY && sub === LocateSubtype.USER_INFO_QUERY2) n++;
        return request(f, sub, b);
      };
      return { r, locateQueries: () => n };
    };
    const a = await secureRooms(carol);
    const b = await secureRooms(bob);
    const ra = await a.r.join(await a.r.create('Cached Certs', { secure: true }));
    const invited = next<RoomInvitation>(b.r, 'invitation');
    await a.r.invite(ra, 'bob');
    const rb = await b.r.accept(await invited);
    assert.equal(rb.readable, true, 'bob holds the room key');
    const first = next<RoomMessage>(rb, 'message');
    await ra.send('first');
    assert.equal((await first).verdict, 'verified');
    const before = b.locateQueries();
    for (let i = 0; i < 5; i++) {
      const got = next<RoomMessage>(rb, 'message');
      await ra.send(`message ${i}`);
      const m = await got;
      assert.equal(m.verdict, 'verified', m.reason);
      assert.equal(m.text, `message ${i}`);
    }
    assert.equal(b.locateQueries() - before, 0, 'five verified messages from an unchanged member asked the server nothing');
  });

  it('a room of an unknown content type is refused when joining', async () => {
    const odd: RoomCodec = { contentType: 'application/x-certim-test', encode: () => Promise.resolve([]), decode: () => Promise.resolve({ verdict: 'failed', code: 'x', reason: 'x', secure: false }) };
    const a = await rooms(alice, defaultRoomCodecs().register(odd));
    const b = await rooms(bob);
    await a.join(await a.create('Odd Room', { contentType: 'application/x-certim-test' }));
    await assert.rejects(b.join('Odd Room'), (e: unknown) => ClientError.is(e, 'ROOM_CONTENT_TYPE') && /application\/x-certim-test/.test(e.message));
    assert.equal(b.joined().length, 0);
  });
});
