/**
 * End to end over real sockets and the real SQLite store: classic BUCP MD5 sign-on (weak and strong), arrivals,
 * IMs with host acks, departures, offline storage and delivery, takeover, login failures and throttling.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader } from '../src/wire/bytes.js';
import { FlapChannel, decodeFlapSignOff } from '../src/wire/flap.js';
import { decodeSnacError } from '../src/wire/snac.js';
import { tlv } from '../src/wire/tlv.js';
import { withOscarFixture } from './support/oscar-server-fixture.js';
import { imBody, login, parseIncomingIm, signOn, userInfoScreenName } from './support/oscar-test-client.js';

test('two classic clients sign on, see each other, exchange IMs, and an offline IM waits for sign-on', async () => {
  await withOscarFixture({ users: [['Alice Smith', 'alice-pw'], ['bob', 'bob-pw']] }, async (fx, ep) => {
    const alice = await signOn(ep, 'alicesmith', 'alice-pw', 'md5-weak', { buddies: ['Bob'] });
    assert.equal(alice.screenName, 'Alice Smith');
    const bob = await signOn(ep, 'BOB', 'bob-pw', 'md5-strong', { buddies: ['alice smith'] });

    // Both directions of arrival.
    const arrivedAtAlice = await alice.conn.expectSnac(0x0003, 0x000b);
    assert.equal(userInfoScreenName(arrivedAtAlice.body), 'bob');
    const arrivedAtBob = await bob.conn.expectSnac(0x0003, 0x000b);
    assert.equal(userInfoScreenName(arrivedAtBob.body), 'Alice Smith');

    // An IM with a host-ack request; a binary (encrypted-looking) payload arrives byte for byte.
    const payload = new Uint8Array(2000).map((_, i) => (i * 37 + 11) & 0xff);
    const req = alice.conn.sendSnac(0x0004, 0x0006, imBody('bob', payload, [tlv(0x0003)]));
    const ack = await alice.conn.expectSnac(0x0004, 0x000c);
    assert.equal(ack.requestId, req);
    const got = parseIncomingIm((await bob.conn.expectSnac(0x0004, 0x0007)).body);
    assert.equal(got.sender, 'Alice Smith');
    assert.deepEqual(new Uint8Array(got.text!), payload);
    assert.equal(got.tlvs.has(0x0003), false, 'server strips the ack request');

    // Typing notification relayed with the sender's name.
    const typing = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, ...Buffer.from('bob'), 0, 2]);
    alice.conn.sendSnac(0x0004, 0x0014, typing);
    const t = await bob.conn.expectSnac(0x0004, 0x0014);
    const tr = new ByteReader(t.body);
    tr.skip(10);
    assert.equal(tr.string8(), 'Alice Smith');
    assert.equal(tr.u16(), 2);

    // Bob leaves: Alice sees the departure; an IM without the store flag is refused with 0x04.
    bob.conn.close();
    const dep = await alice.conn.expectSnac(0x0003, 0x000c);
    assert.equal(userInfoScreenName(dep.body), 'bob');
    alice.conn.sendSnac(0x0004, 0x0006, imBody('bob', 'not stored'));
    assert.equal(decodeSnacError((await alice.conn.expectSnac(0x0004, 0x0001)).body).code, 0x04);
    alice.conn.sendSnac(0x0004, 0x0006, imBody('nobody-here', 'x', [tlv(0x0006)]));
    assert.equal(decodeSnacError((await alice.conn.expectSnac(0x0004, 0x0001)).body).code, 0x04);

    // With store-if-offline the server stores durably, then acks.
    alice.conn.sendSnac(0x0004, 0x0006, imBody('bob', 'while you were out', [tlv(0x0003), tlv(0x0006)], new Uint8Array(8).fill(9)));
    await alice.conn.expectSnac(0x0004, 0x000c);
    assert.equal(await fx.store.offline.count('bob'), 1);

    const bob2 = await signOn(ep, 'bob', 'bob-pw', 'md5-weak');
    const offline = parseIncomingIm((await bob2.conn.expectSnac(0x0004, 0x0007)).body);
    assert.equal(offline.sender, 'Alice Smith');
    assert.equal(Buffer.from(offline.text!).toString(), 'while you were out');
    assert.deepEqual(new Uint8Array(offline.cookie), new Uint8Array(8).fill(9));
    assert.ok(offline.tlvs.has(0x0016), 'offline timestamp present');
    // Removed once delivered.
    for (let i = 0; i < 50 && (await fx.store.offline.count('bob')) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await fx.store.offline.count('bob'), 0);
    alice.conn.close();
    bob2.conn.close();
  });
});

test('a second sign-on takes over: the old session gets ch-4 (bare for a client without the multi-conn flag) and is closed', async () => {
  await withOscarFixture({ users: [['carol', 'pw1'], ['dave', 'pw2']] }, async (fx, ep) => {
    const dave = await signOn(ep, 'dave', 'pw2', 'md5-strong', { buddies: ['carol'] });
    const first = await signOn(ep, 'carol', 'pw1', 'md5-strong');
    await dave.conn.expectSnac(0x0003, 0x000b);
    const second = await signOn(ep, 'carol', 'pw1', 'md5-weak', { multiConn: 3 });
    const bye = await first.conn.nextFrame((f) => f.channel === FlapChannel.SignOff);
    assert.equal(bye.payload.length, 0, 'a pre-multi-conn client gets the 6-byte ch-4 frame, no TLVs');
    await first.conn.closed;
    // The new session works and watchers saw no departure, only a fresh arrival.
    await dave.conn.expectSnac(0x0003, 0x000b);
    assert.equal(await dave.conn.noSnac(0x0003, 0x000c, 200), true);
    dave.conn.sendSnac(0x0004, 0x0006, imBody('carol', 'hi again'));
    assert.equal(Buffer.from(parseIncomingIm((await second.conn.expectSnac(0x0004, 0x0007)).body).text!).toString(), 'hi again');
    // A client that sent the flag (3: single session wanted) is told why: reason 0x0001, signed on elsewhere.
    const third = await signOn(ep, 'carol', 'pw1', 'md5-strong');
    assert.equal(decodeFlapSignOff((await second.conn.nextFrame((f) => f.channel === FlapChannel.SignOff)).payload).reason, 0x0001);
    await second.conn.closed;
    dave.conn.close();
    third.conn.close();
  });
});

test('wrong passwords fail with 0x0001, then the account is throttled with 0x0018; legacy-disabled accounts cannot use MD5', async () => {
  await withOscarFixture({ users: [['erin', 'right'], ['frank', 'secret', false]], engine: { config: { loginThrottle: { perAccount: 3, perAddress: 100, windowMs: 60_000 } } } }, async (fx, ep) => {
    for (let i = 0; i < 3; i++) assert.deepEqual(await login(ep, 'erin', 'wrong', 'md5-strong'), { ok: false, error: 0x0001 });
    assert.deepEqual(await login(ep, 'erin', 'right', 'md5-strong'), { ok: false, error: 0x0018 });
    assert.deepEqual(await login(ep, 'frank', 'secret', 'md5-strong'), { ok: false, error: 0x0001 });
    assert.deepEqual(await login(ep, 'nobody', 'x', 'md5-weak'), { ok: false, error: 0x0001 });
    // The plaintext-password extension is refused on plain TCP.
    assert.deepEqual(await login(ep, 'frank', 'secret', 'tls-password'), { ok: false, error: 0x0006 });
  });
});
