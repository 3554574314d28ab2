/**
 * Secure rooms as a conversation between named clients (docs/protocol.md §16): keys, invitations, rekeys and the
 * verdicts on tampered, replayed, re-epoched and foreign messages. Real RSA and AES (node:crypto) with openssl-made
 * certificates; the clock is injected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { der } from '../../pki/asn1/der.js';
import { extraIdentity, fixtures, type FixtureIdentity } from '../../pki/cms/fixtures.test-support.js';
import { minimalTrust } from '../../pki/cms/minimal-trust.js';
import { OID } from '../../pki/cms/oids.js';
import { decryptRoomMessage, encryptRoomMessage, parseRoomMessage, ROOM_CIPHER_OID } from '../../pki/cms/secure-room.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { MemoryReplayCache } from '../../pki/cms/replay-cache.js';
import { ChatMessageTlv } from '../../wire/families/chat.js';
import { tlv } from '../../wire/tlv.js';
import type { Identity } from '../identity.js';
import { SecureRoomCodec, type MemberKeys, type SecureRoomContext, type SecureRoomMessageTlvs } from './secure-room-codec.js';
import { CLASSIC_PRESENT_TEXT, NO_KEY_TEXT, SecureRoomState, type RoomMember } from './secure-room-state.js';

const f = fixtures();
const ids: Record<string, FixtureIdentity> = {
  alice: f.ids.alice!, bob: f.ids['bob-enc']!, mallory: f.ids.mallory!,
  carol: extraIdentity('carol', 'carol', 2048), dave: extraIdentity('dave', 'dave', 2048),
};
/** carol's replacement key (made before the clock starts: its validity begins now). */
const carolNew = extraIdentity('carol-new', 'carol', 2048);
const clock = { t: Date.now() };
const now = (): Date => new Date(clock.t);
const trust = minimalTrust([f.caCert], now);
const directory = new Map<string, MemberKeys>();
for (const id of Object.values(ids)) directory.set(normalizeScreenName(id.name), { encryptionCert: id.certDer, certs: [id.certDer], certimRooms: true });

const identity = (id: FixtureIdentity): Identity => ({
  screenName: id.name, encryption: { privateKey: id.key, certDer: id.certDer }, signing: { privateKey: id.key, certDer: id.certDer },
});
const codec = (who: keyof typeof ids): SecureRoomCodec =>
  new SecureRoomCodec({ identity: identity(ids[who]!), trust, keysOf: async (sn) => directory.get(normalizeScreenName(sn)), clock: now, keyWaitMs: 20 });

const room = { exchange: 4, cookie: Buffer.from('!aol://2719:10-4-plans'), instance: 0 };
const ctx = (...names: string[]): SecureRoomContext => ({
  room, roomName: 'plans', members: names.map((n): RoomMember => ({ screenName: ids[n]?.name ?? n, certimRooms: directory.get(normalizeScreenName(ids[n]?.name ?? n))?.certimRooms ?? false })),
});
const BOB = ids.bob!.name;

/** alice creates a certim room and invites bob and carol; everyone applies the member list. */
async function threeMemberRoom() {
  const a = codec('alice');
  const b = codec('bob');
  const c = codec('carol');
  await a.createRoom('plans');
  const c1 = ctx('alice');
  await a.membersChanged(c1);
  for (const [who, cdc] of [['bob', b], ['carol', c]] as const) {
    const inv = await a.invite(ctx('alice', 'bob', 'carol'), ids[who]!.name);
    const r = await cdc.acceptKeyBlock(inv.invitation, 'alice', 'plans');
    assert.ok(r.ok, !r.ok ? r.reason : '');
    for (const u of inv.updates) {
      const target = u.to === BOB ? b : u.to === 'carol' ? c : undefined;
      if (target) { const ur = await target.acceptKeyBlock(u.block, 'alice', 'plans'); assert.ok(ur.ok, !ur.ok ? ur.reason : ''); }
    }
  }
  const all = ctx('alice', 'bob', 'carol');
  for (const x of [a, b, c]) await x.membersChanged(all);
  return { a, b, c, all };
}

test('three members exchange verified messages; each names its epoch and is bound to room and sender', async () => {
  const { a, b, c, all } = await threeMemberRoom();
  assert.equal(a.state('plans')!.epoch, 3, 'creation = 1, each invitation started an epoch');
  for (const [from, sender, receivers] of [[a, 'alice', [b, c]], [b, BOB, [a, c]], [c, 'carol', [a, b]]] as const) {
    const msg = await from.encode(`hello from ${sender}`, all);
    for (const r of receivers) {
      const v = await r.decode(msg, all, sender);
      assert.equal(v.verdict, 'verified', v.reason);
      assert.equal(v.text, `hello from ${sender}`);
      assert.equal(v.epoch, 3);
      assert.equal(v.bound, true);
    }
  }
  assert.equal(a.state('plans')!.keyStatus('carol'), 'has key');
});

test('a member leaves: the leader rekeys the rest, and the leaver\'s client with its old key reads nothing after', async () => {
  const { a, b, c, all } = await threeMemberRoom();
  const before = await a.encode('before carol left', all);
  assert.equal((await c.decode(before, all, 'alice')).verdict, 'verified');
  const rest = ctx('alice', 'bob');
  // bob is not the leader ('alice' sorts first): no updates from him, and he must not send under the old key.
  assert.deepEqual((await b.membersChanged(rest)).updates, []);
  await assert.rejects(b.encode('too early', rest), /waiting for the new room key/);
  const { updates } = await a.membersChanged(rest);
  assert.deepEqual(updates.map((u) => u.to), [BOB], 'the new key goes to the remaining member only');
  const ok = await b.acceptKeyBlock(updates[0]!.block, 'alice', 'plans');
  assert.ok(ok.ok, !ok.ok ? ok.reason : '');
  assert.equal(b.state('plans')!.epoch, 4);
  assert.equal(a.state('plans')!.keyStatus('carol'), NO_KEY_TEXT);
  for (const [from, sender, text] of [[a, 'alice', 'after carol left'], [b, BOB, 'bob after']] as const) {
    const msg = await from.encode(text, rest);
    const other = from === a ? b : a;
    assert.equal((await other.decode(msg, rest, sender)).text, text);
    // carol's client keeps epoch 3 and believes she is still in the room: still cannot read.
    const v = await c.decode(msg, all, sender);
    assert.equal(v.verdict, 'failed');
    assert.equal(v.code, 'no-key');
    assert.equal(v.text, undefined);
  }
});

test('a member the server adds without an invitation has no key: "no key — cannot read", and is given none', async () => {
  const { a, b, all } = await threeMemberRoom();
  const d = codec('dave');
  const withDave = ctx('alice', 'bob', 'carol', 'dave');
  const { updates } = await a.membersChanged(withDave);
  assert.deepEqual(updates, [], 'a join never triggers a key distribution');
  await b.membersChanged(withDave);
  assert.equal(a.state('plans')!.keyStatus('dave'), NO_KEY_TEXT);
  const msg = await a.encode('not for dave', withDave);
  const v = await d.decode(msg, withDave, 'alice');
  assert.deepEqual([v.verdict, v.code, v.reason], ['failed', 'no-key', NO_KEY_TEXT]);
  await assert.rejects(d.encode('hi', withDave), new RegExp(NO_KEY_TEXT));
  void all;
});

test('tampered bytes anywhere in the body fail as one undecryptable result', async () => {
  const { a, b, all } = await threeMemberRoom();
  const msg = await a.encode('integrity', all);
  const body = msg.find((t) => t.type === ChatMessageTlv.BODY)!.value;
  const reasons = new Set<string>();
  for (const at of [body.length - 1, body.length - 20, body.length - 200, 60]) {
    const copy = Uint8Array.from(body);
    copy[at]! ^= 0x01;
    const v = await b.decode(msg.map((t) => (t.type === ChatMessageTlv.BODY ? tlv(t.type, copy) : t)), all, 'alice');
    assert.equal(v.verdict, 'failed', `flip at ${at}`);
    assert.ok(['tampered', 'malformed', 'downgrade', 'no-key', 'unsupported-algorithm'].includes(v.code), `${at}: ${v.code}`);
    if (v.code === 'tampered') reasons.add(v.reason);
  }
  assert.equal(reasons.size, 1, 'every decryption failure reads the same');
});

test('a replayed room message fails, and so does a plaintext message in a secure room', async () => {
  const { a, b, all } = await threeMemberRoom();
  const msg = await a.encode('once', all);
  assert.equal((await b.decode(msg, all, 'alice')).verdict, 'verified');
  const again = await b.decode(msg, all, 'alice');
  assert.deepEqual([again.verdict, again.code], ['failed', 'replayed']);
  const plain: SecureRoomMessageTlvs = [tlv(ChatMessageTlv.CONTENT_TYPE, Buffer.from('text/x-aolrtf')), tlv(ChatMessageTlv.BODY, Buffer.from('hi'))];
  const p = await b.decode(plain, all, 'alice');
  assert.deepEqual([p.verdict, p.code, p.text], ['failed', 'not-encrypted', undefined]);
});

/** Re-encrypts a message's plaintext under another key and epoch (what a keyholder could try). */
function reEpoch(body: Uint8Array, fromKey: Uint8Array, toKey: Uint8Array, toEpoch: number): Uint8Array {
  const h = parseRoomMessage(body);
  const d = createDecipheriv('aes-256-cbc', fromKey, h.iv);
  const plain = Buffer.concat([d.update(h.encrypted), d.final()]);
  const iv = Buffer.alloc(16, 7);
  const c = createCipheriv('aes-256-cbc', toKey, iv);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  const eci = der.seq(der.oid(OID.data), der.seq(der.oid(ROOM_CIPHER_OID), der.octets(iv)), der.implicit(0, ct));
  const attrs = der.implicitConstructed(1, der.seq(der.oid(OID.roomEpoch), der.set(der.int(toEpoch))));
  return der.seq(der.oid(OID.encryptedData), der.explicit(0, der.seq(der.int(2), eci, attrs)));
}

test('a message replayed into another epoch or another room fails (wrong-epoch, wrong-room)', async () => {
  const alice = ids.alice!;
  const k1 = Buffer.alloc(32, 1);
  const k2 = Buffer.alloc(32, 2);
  const body = await encryptRoomMessage({
    profile: 'certim', key: k1, text: 'epoch one only', binding: { roomName: 'plans', epoch: 1 },
    signer: { screenName: 'alice', signingKey: alice.key, signingCert: alice.certDer },
  });
  const keys = new Map([[1, k1], [2, k2]]);
  const opts = { keyFor: (e: number | undefined) => keys.get(e ?? -1), senderScreenName: 'alice', senderCerts: [alice.certDer], trust, requireCertim: true };
  assert.equal((await decryptRoomMessage(body, { ...opts, roomName: 'plans' })).verdict, 'verified');
  const moved = reEpoch(body, k1, k2, 2);
  const r = await decryptRoomMessage(moved, { ...opts, roomName: 'plans' });
  assert.deepEqual([r.verdict, r.code], ['failed', 'wrong-epoch']);
  const other = await decryptRoomMessage(body, { ...opts, roomName: 'another room' });
  assert.deepEqual([other.verdict, other.code], ['failed', 'wrong-room']);
});

test('a signer who is not the sender, or a sender who is not a current member, fails', async () => {
  const { a, b, all } = await threeMemberRoom();
  // mallory somehow holds the key (a copy of carol's state would do) but the server does not list her.
  const m = codec('mallory');
  (m as unknown as { rooms: Map<string, SecureRoomState> }).rooms.set('plans', (a as unknown as { rooms: Map<string, SecureRoomState> }).rooms.get('plans')!);
  const msg = await m.encode('let me in', all);
  const v = await b.decode(msg, all, 'mallory');
  assert.deepEqual([v.verdict, v.code], ['failed', 'not-a-member']);
  // The server claims alice sent it: the signature is mallory's, and no certificate of alice's checks it. Before a
  // signature verifies, CBC content is unauthenticated, so this is the one undecryptable result.
  const spoof = await b.decode(msg, all, 'alice');
  assert.deepEqual([spoof.verdict, spoof.code, spoof.text], ['failed', 'tampered', undefined]);
});

test('only a keyholder can rekey or invite: a key update from a non-keyholder is refused', async () => {
  const { b, all } = await threeMemberRoom();
  const m = codec('mallory');
  await m.createRoom('plans');
  const fake = await m.invite(ctx('mallory', 'bob'), BOB);
  const r = await b.acceptKeyBlock(fake.invitation, 'mallory', 'plans');
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.reason : '', /does not hold the current key/);
  assert.equal(b.state('plans')!.epoch, 3, 'bob kept his key');
  void all;
});

test('an invitee drops the key when its inviter turns out not to be in the room', async () => {
  const m = codec('mallory');
  const b = codec('bob');
  await m.createRoom('plans');
  const inv = await m.invite(ctx('mallory'), BOB);
  assert.ok((await b.acceptKeyBlock(inv.invitation, 'mallory', 'plans')).ok);
  const { notes } = await b.membersChanged(ctx('alice', 'bob'));
  assert.match(notes.join('\n'), /room key dropped: the inviter mallory is not a member/);
  assert.equal(b.state('plans')!.hasKey, false);
});

test('rekey is due after 1,000 messages and after 7 days (injected clock)', async () => {
  const s = await SecureRoomState.create('plans', 'alice', now);
  s.setMembers([{ screenName: 'alice', certimRooms: true }]);
  assert.equal(s.rekeyDue(), undefined);
  for (let i = 0; i < 999; i++) s.noteMessage(1);
  assert.equal(s.rekeyDue(), undefined);
  s.noteMessage(1);
  assert.equal(s.rekeyDue(), 'message-count');
  await s.rekey();
  assert.equal(s.epoch, 2);
  assert.equal(s.rekeyDue(), undefined);
  // The previous epoch's key still opens in-flight messages for two minutes, then not.
  assert.ok(s.keyFor(1));
  clock.t += 121_000;
  assert.equal(s.keyFor(1), undefined);
  clock.t += 7 * 24 * 3600_000 - 121_000 - 1;
  assert.equal(s.rekeyDue(), undefined);
  clock.t += 1;
  assert.equal(s.rekeyDue(), 'epoch-age');
  clock.t = Date.now();
});

test('a classic member puts the room in AIM mode: one key, AIM format, no rekey on leave', async () => {
  directory.set('dave', { ...directory.get('dave')!, certimRooms: false });
  try {
    const a = codec('alice');
    const b = codec('bob');
    const d = codec('dave');
    await a.createRoom('plans');
    await a.membersChanged(ctx('alice', 'bob'));
    const ib = await a.invite(ctx('alice', 'bob'), BOB);
    assert.ok((await b.acceptKeyBlock(ib.invitation, 'alice', 'plans')).ok);
    // An uninvited classic client changes nothing: no key, no AIM mode.
    await a.membersChanged(ctx('alice', 'bob', 'dave'));
    assert.equal(a.state('plans')!.mode, 'certim');
    assert.equal(a.state('plans')!.keyStatus('dave'), NO_KEY_TEXT);
    await a.membersChanged(ctx('alice', 'bob'));
    const id = await a.invite(ctx('alice', 'bob'), 'dave');
    assert.equal(a.state('plans')!.mode, 'certim', 'AIM mode starts when the classic invitee is in the room');
    for (const u of id.updates) assert.ok((await b.acceptKeyBlock(u.block, 'alice', 'plans')).ok);
    const ok = await d.acceptKeyBlock(id.invitation, 'alice', 'plans');
    assert.ok(ok.ok, !ok.ok ? ok.reason : '');
    assert.equal(ok.ok && ok.result.profile, 'aim');
    const all = ctx('alice', 'bob', 'dave');
    const notes = (await b.membersChanged(all)).notes;
    assert.deepEqual(notes, [CLASSIC_PRESENT_TEXT]);
    await a.membersChanged(all);
    await d.membersChanged(all);
    const msg = await a.encode('classic-compatible', all);
    assert.equal(parseRoomMessage(msg.find((t) => t.type === ChatMessageTlv.BODY)!.value).profile, 'aim');
    for (const r of [b, d]) assert.equal((await r.decode(msg, all, 'alice')).text, 'classic-compatible');
    const left = await a.membersChanged(ctx('alice', 'bob'));
    assert.deepEqual(left.updates, [], 'no rekey in AIM mode');
    assert.equal(a.state('plans')!.statusLine(), CLASSIC_PRESENT_TEXT);
  } finally {
    directory.set('dave', { ...directory.get('dave')!, certimRooms: true });
  }
});

test('AIM-format messages carry no certim-arc attribute (classic BouncyCastle could not verify them), but a replay is still caught', async () => {
  const alice = ids.alice!;
  const key = Buffer.alloc(32, 9);
  const body = await encryptRoomMessage({
    profile: 'aim', key, text: 'classic-safe', binding: { roomName: 'plans', epoch: 0 },
    signer: { screenName: 'alice', signingKey: alice.key, signingCert: alice.certDer },
  });
  assert.deepEqual([...body.subarray(0, 2)], [0x30, 0x80], 'BER indefinite outer SEQUENCE, as joscar writes and reads it');
  const h = parseRoomMessage(body);
  const d = createDecipheriv('aes-256-cbc', key, h.iv);
  const plain = Buffer.concat([d.update(h.encrypted), d.final()]);
  const arc = Buffer.from(der.oid(OID.roomName)).subarray(2, 12);
  assert.equal(plain.includes(arc), false, 'no 2.25 arc OID inside');
  assert.ok(plain.includes(Buffer.from(der.oid(OID.contentIdentifier))), 'the message id is signed');
  const opts = { keyFor: () => key, senderScreenName: 'alice', senderCerts: [alice.certDer], trust, roomName: 'plans', requireCertim: false, replayCache: new MemoryReplayCache() };
  const first = await decryptRoomMessage(body, opts);
  assert.deepEqual([first.verdict, first.bound, first.replayChecked], ['verified', false, true]);
  const again = await decryptRoomMessage(body, opts);
  assert.deepEqual([again.verdict, again.code], ['failed', 'replayed']);
});

test('a member\'s certificates are prepared once while unchanged, and a new certificate takes over at once', async () => {
  const { b, c, all } = await threeMemberRoom();
  const old = directory.get('carol')!;
  // The host hands out fresh arrays on every call (as the client's certificate cache does).
  const fresh = (k: MemberKeys): MemberKeys => ({ ...k, certs: k.certs.map((x) => Uint8Array.from(x as Uint8Array)) });
  const b2 = new SecureRoomCodec({ identity: identity(ids.bob!), trust, keysOf: async (sn) => { const k = directory.get(normalizeScreenName(sn)); return k && fresh(k); }, clock: now, keyWaitMs: 20 });
  const r = await b2.acceptKeyBlock((await c.invite(all, ids.bob!.name)).invitation, 'carol', 'plans');
  assert.ok(r.ok, !r.ok ? r.reason : '');
  for (const x of [b, b2, c]) await x.membersChanged(all);
  const first = await c.encode('first', all);
  const second = await c.encode('second', all);
  assert.equal((await b2.decode(first, all, 'carol')).verdict, 'verified');
  assert.equal((await b2.decode(second, all, 'carol')).verdict, 'verified');

  // carol's key is replaced: her old signature no longer counts, her new one does.
  directory.set('carol', { encryptionCert: carolNew.certDer, certs: [carolNew.certDer], certimRooms: true });
  try {
    const oldSigned = await c.encode('signed with the old key', all);
    const stale = await b2.decode(oldSigned, all, 'carol');
    assert.equal(stale.verdict, 'failed');
    assert.equal(stale.code, 'tampered', 'signer is not one of the published certificates: one undecryptable result');
    const k = c.state('plans')!.sendingKey();
    assert.ok(k.ok);
    const body = await encryptRoomMessage({
      profile: 'certim', key: k.key, text: 'signed with the new key', now: now(), binding: { roomName: 'plans', epoch: k.epoch },
      signer: { screenName: 'carol', signingKey: carolNew.key, signingCert: carolNew.certDer },
    });
    const v = await b2.decode(oldSigned.map((t) => (t.type === ChatMessageTlv.BODY ? tlv(t.type, body) : t)), all, 'carol');
    assert.equal(v.verdict, 'verified', v.reason);
    assert.equal(v.text, 'signed with the new key');
  } finally {
    directory.set('carol', old);
  }
});
