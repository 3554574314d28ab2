/**
 * Several sessions per screen name, over real sockets and the real SQLite store: clients that set login TLV
 * 0x004A = 1 coexist (IMs reach every session, presence is the union, a certim session's own IMs reach its other
 * certim sessions marked with TLV 0x7C02), and a classic client without the flag keeps classic takeover.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capabilityBytes, encodeCapabilityBlock } from '../src/wire/capabilities.js';
import { FlapChannel, decodeFlapSignOff } from '../src/wire/flap.js';
import { IcbmTlv } from '../src/wire/icbm-message.js';
import { tlv } from '../src/wire/tlv.js';
import { parseServerArgs } from '../src/cli/commands/server.js';
import { withOscarFixture } from './support/oscar-server-fixture.js';
import { bosSignOn, imBody, login, parseIncomingIm, signOn, userInfoScreenName, type BosClient } from './support/oscar-test-client.js';

const USERS = [['carol', 'pw1'], ['dave', 'pw2']] as const;

/** Announces capabilities with Locate 02/04 TLV 0x0005 and waits until the server has processed it. */
async function setCaps(c: BosClient, certim: boolean): Promise<void> {
  const caps = certim ? [capabilityBytes('CertimModernSecureIm')] : [capabilityBytes('SecureIm')];
  c.conn.sendSnac(0x0002, 0x0004, new Uint8Array([...encodeTlv(0x0005, encodeCapabilityBlock(caps))]));
  const q = c.conn.sendSnac(0x0001, 0x000e);
  await c.conn.expectSnacWhere(0x0001, 0x000f, (s) => s.requestId === q);
}

function encodeTlv(type: number, value: Uint8Array): Uint8Array {
  const t = tlv(type, value);
  const out = new Uint8Array(4 + t.value.length);
  out[0] = type >> 8;
  out[1] = type & 0xff;
  out[2] = t.value.length >> 8;
  out[3] = t.value.length & 0xff;
  out.set(t.value, 4);
  return out;
}

test('multi-session clients coexist: IMs reach every session, presence is the union', async () => {
  await withOscarFixture({ users: USERS }, async (fx, ep) => {
    const dave = await signOn(ep, 'dave', 'pw2', 'md5-strong', { buddies: ['carol'] });
    const c1 = await signOn(ep, 'carol', 'pw1', 'md5-strong', { multiConn: 1 });
    await dave.conn.expectSnac(0x0003, 0x000b);
    const c2 = await signOn(ep, 'carol', 'pw1', 'md5-strong', { multiConn: 1 });
    assert.equal(await c1.conn.noSnac(0x0001, 0x0001, 100), true);
    assert.equal(c1.conn.isClosed, false, 'the first session is not taken over');
    assert.equal(fx.server.engine.registry.sessionsOf('carol').length, 2);

    dave.conn.sendSnac(0x0004, 0x0006, imBody('carol', 'to both', [tlv(0x0003)]));
    await dave.conn.expectSnac(0x0004, 0x000c);
    for (const c of [c1, c2]) assert.equal(Buffer.from(parseIncomingIm((await c.conn.expectSnac(0x0004, 0x0007)).body).text!).toString(), 'to both');

    // One session leaves: carol is still online, no departure.
    c1.conn.close();
    await c1.conn.closed;
    assert.equal(await dave.conn.noSnac(0x0003, 0x000c, 300), true);
    dave.conn.sendSnac(0x0004, 0x0006, imBody('carol', 'to the rest', [tlv(0x0003)]));
    await dave.conn.expectSnac(0x0004, 0x000c);
    assert.equal(Buffer.from(parseIncomingIm((await c2.conn.expectSnac(0x0004, 0x0007)).body).text!).toString(), 'to the rest');
    // The last one leaves: departure.
    c2.conn.close();
    assert.equal(userInfoScreenName((await dave.conn.expectSnac(0x0003, 0x000c)).body), 'carol');
    dave.conn.close();
  });
});

test('a classic sign-on without the flag displaces every session; a multi-session one displaces a classic session', async () => {
  await withOscarFixture({ users: USERS }, async (fx, ep) => {
    const m1 = await signOn(ep, 'carol', 'pw1', 'md5-strong', { multiConn: 1 });
    const m2 = await signOn(ep, 'carol', 'pw1', 'md5-strong', { multiConn: 1 });
    const classic = await signOn(ep, 'carol', 'pw1', 'md5-strong');
    for (const m of [m1, m2]) {
      const bye = await m.conn.nextFrame((f) => f.channel === FlapChannel.SignOff);
      assert.equal(decodeFlapSignOff(bye.payload).reason, 0x0001);
      await m.conn.closed;
    }
    const single = await signOn(ep, 'carol', 'pw1', 'md5-strong', { multiConn: 3 }); // "single session wanted"
    await classic.conn.nextFrame((f) => f.channel === FlapChannel.SignOff);
    const m3 = await signOn(ep, 'carol', 'pw1', 'md5-strong', { multiConn: 1 });
    await single.conn.nextFrame((f) => f.channel === FlapChannel.SignOff);
    await single.conn.closed;
    assert.equal(m3.conn.isClosed, false);
    assert.deepEqual(fx.server.engine.registry.sessionsOf('carol').map((s) => s.multiConn), [1]);
    m3.conn.close();
  });
});

test("a certim session's sent IMs reach its other certim sessions with TLV 0x7C02 naming the recipient", async () => {
  await withOscarFixture({ users: USERS }, async (_fx, ep) => {
    const dave = await signOn(ep, 'dave', 'pw2', 'md5-strong');
    const a = await signOn(ep, 'carol', 'pw1', 'md5-strong', { multiConn: 1 });
    const b = await signOn(ep, 'carol', 'pw1', 'md5-strong', { multiConn: 1 });
    const classic = await signOn(ep, 'carol', 'pw1', 'md5-strong', { multiConn: 1 });
    await setCaps(a, true);
    await setCaps(b, true);
    await setCaps(classic, false);
    const payload = new Uint8Array(300).map((_, i) => (i * 13) & 0xff);
    a.conn.sendSnac(0x0004, 0x0006, imBody('Dave', payload, [tlv(0x0003)]));
    await a.conn.expectSnac(0x0004, 0x000c);
    const atDave = parseIncomingIm((await dave.conn.expectSnac(0x0004, 0x0007)).body);
    assert.equal(atDave.tlvs.has(IcbmTlv.CERTIM_SENT_TO), false, 'the recipient gets the IM as sent');
    const copy = parseIncomingIm((await b.conn.expectSnac(0x0004, 0x0007)).body);
    assert.equal(copy.sender, 'carol');
    assert.equal(Buffer.from(copy.tlvs.bytes(IcbmTlv.CERTIM_SENT_TO)!).toString(), 'Dave');
    assert.deepEqual(new Uint8Array(copy.text!), payload);
    assert.equal(await classic.conn.noSnac(0x0004, 0x0007, 200), true, 'classic sessions get no copy');
    assert.equal(await a.conn.noSnac(0x0004, 0x0007, 50), true, 'the sending session gets no copy');

    // Offline recipient: stored, and the copy still reaches the other certim session.
    dave.conn.close();
    await dave.conn.closed;
    a.conn.sendSnac(0x0004, 0x0006, imBody('dave', 'later', [tlv(0x0003), tlv(0x0006)]));
    await a.conn.expectSnac(0x0004, 0x000c);
    assert.equal(Buffer.from(parseIncomingIm((await b.conn.expectSnac(0x0004, 0x0007)).body).text!).toString(), 'later');
    for (const c of [a, b, classic]) c.conn.close();
  });
});

test('an account holds at most maxSessionsPerUser sessions: a further login is refused with the reason, racing sign-ons cannot pass it', async () => {
  await withOscarFixture({ users: USERS, engine: { config: { maxSessionsPerUser: 2 } } }, async (fx, ep) => {
    const c1 = await signOn(ep, 'carol', 'pw1', 'md5-strong', { multiConn: 1 });
    // Two logins while carol has one session: both pass the login's check and get cookies.
    const [l2, l3] = await Promise.all([login(ep, 'carol', 'pw1', 'md5-strong', { multiConn: 1 }), login(ep, 'carol', 'pw1', 'md5-strong', { multiConn: 1 })]);
    assert.ok(l2.ok && l3.ok);
    // Redeemed at once, only one of them fits: the directory checks the limit in the write itself.
    const both = await Promise.allSettled([bosSignOn(ep, l2), bosSignOn(ep, l3)]);
    assert.equal(both.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one of the racing sign-ons stays');
    assert.equal((await fx.server.engine.directory.sessionsOf('carol')).length, 2);
    // Full now: the login itself is refused, with 0x0018 and certim's reason in the URL.
    const refused = await login(ep, 'carol', 'pw1', 'md5-strong', { multiConn: 1, withUrl: true });
    assert.equal(refused.ok, false);
    assert.equal(refused.error, 0x0018);
    assert.match(refused.url ?? '', /[?&]reason=too-many-sessions&max=2\b/);
    // A classic login (takeover) replaces the sessions, so it always fits.
    const classic = await signOn(ep, 'carol', 'pw1', 'md5-strong');
    assert.deepEqual((await fx.server.engine.directory.sessionsOf('carol')).map((e) => e.exclusive), [true]);
    for (const r of both) if (r.status === 'fulfilled') r.value.conn.close();
    for (const c of [c1, classic]) c.conn.close();
  });
});

test('certim server --max-sessions sets the limit, and refuses a value that is not a whole number 1-1000', () => {
  const parsed = parseServerArgs(['--max-sessions', '3']);
  assert.ok(parsed !== 'help');
  assert.equal(parsed.options.engine?.maxSessionsPerUser, 3);
  for (const bad of ['0', '1001', '2.5', 'many', '-1']) assert.throws(() => parseServerArgs([`--max-sessions=${bad}`]), /--max-sessions must be a whole number 1-1000/);
});
