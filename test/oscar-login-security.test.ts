/**
 * Classic BUCP login security over real sockets (docs/protocol.md §2.1): every 17/07 key is fresh and single-use, so
 * a captured 17/02 cannot be replayed; the stored MD5(password) is not itself an answer (no pass-the-hash); accounts
 * without the legacy-login opt-in store no MD5 at all and cannot sign on classically; a flooder disconnected by
 * the rate limiter waits before its next sign-on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlapChannel, encodeFlapHello } from '../src/wire/flap.js';
import { decodeKeyResponse, decodeLoginResponse, encodeKeyRequest, encodeLoginRequest, strongPasswordHash } from '../src/wire/families/bucp.js';
import { withOscarFixture } from './support/oscar-server-fixture.js';
import { TestConnection, imBody, login, signOn, type Endpoint } from './support/oscar-test-client.js';

async function authConnection(ep: Endpoint): Promise<TestConnection> {
  const c = await TestConnection.open(ep);
  await c.nextFrame((f) => f.channel === FlapChannel.SignOn);
  c.sendFrame(FlapChannel.SignOn, encodeFlapHello());
  return c;
}

async function keyFor(c: TestConnection, screenName: string): Promise<Uint8Array> {
  c.sendSnac(0x0017, 0x0006, encodeKeyRequest({ screenName }));
  return decodeKeyResponse((await c.expectSnac(0x0017, 0x0007)).body);
}

async function send17_02(c: TestConnection, body: Uint8Array): Promise<ReturnType<typeof decodeLoginResponse>> {
  c.sendSnac(0x0017, 0x0002, body);
  return decodeLoginResponse((await c.expectSnac(0x0017, 0x0003)).body);
}

test('fresh challenge: every 17/07 key differs; a captured 17/02 replayed later (or twice) fails', async () => {
  await withOscarFixture({ users: [['alice', 'alice-pw']] }, async (_fx, ep) => {
    const a = await authConnection(ep);
    const key1 = await keyFor(a, 'alice');
    const captured = encodeLoginRequest({ screenName: 'alice', passwordHash: strongPasswordHash(key1, 'alice-pw'), strong: true, multiConn: 1 });
    assert.equal((await send17_02(a, captured)).ok, true, 'the genuine login works');
    // The same connection cannot use its key twice.
    const again = await send17_02(a, captured);
    assert.deepEqual([again.ok, !again.ok && again.errorCode], [false, 0x0001]);
    a.close();

    const b = await authConnection(ep);
    const key2 = await keyFor(b, 'alice');
    assert.notDeepEqual(key2, key1, 'a new key per login');
    const replay = await send17_02(b, captured);
    assert.deepEqual([replay.ok, !replay.ok && replay.errorCode], [false, 0x0001], 'replay against a new key fails');
    b.close();

    const c = await authConnection(ep);
    const noKey = await send17_02(c, captured);
    assert.equal(noKey.ok, false, 'a 17/02 without a 17/06 on this connection fails');
    c.close();

    // Known and unknown screen names get keys of the same shape.
    const d = await authConnection(ep);
    const k3 = Buffer.from(await keyFor(d, 'nobody-here')).toString();
    assert.match(k3, /^[0-9a-f]{32}$/);
    assert.match(Buffer.from(key1).toString(), /^[0-9a-f]{32}$/);
    d.close();
  });
});

test('pass-the-hash: the stored MD5(password) sent as the answer is refused', async () => {
  await withOscarFixture({ users: [['bob', 'bob-pw']] }, async (fx, ep) => {
    const stolen = (await fx.store.accounts.get('bob'))?.legacyVerifier?.md5Password;
    assert.ok(stolen, 'a legacy account stores MD5(password)');
    const c = await authConnection(ep);
    await keyFor(c, 'bob');
    const r = await send17_02(c, encodeLoginRequest({ screenName: 'bob', passwordHash: stolen, strong: true }));
    assert.deepEqual([r.ok, !r.ok && r.errorCode], [false, 0x0001]);
    c.close();
  });
});

test('accounts without the legacy-login opt-in keep no MD5 and cannot sign on classically; over TLS-password they can', async () => {
  await withOscarFixture({ users: [['carol', 'carol-pw', false]] }, async (fx, ep) => {
    const a = await fx.store.accounts.get('carol');
    assert.deepEqual([a?.legacyLoginEnabled, a?.legacyVerifier], [false, null]);
    assert.deepEqual(await login(ep, 'carol', 'carol-pw', 'md5-strong'), { ok: false, error: 0x0001 });
  });
});

test('a rate-limit sign-off costs a back-off before the next sign-on, with the wait in the error URL', async () => {
  await withOscarFixture({ users: [['flood', 'pw'], ['peer', 'pw']] }, async (_fx, ep) => {
    const flood = await signOn(ep, 'flood', 'pw', 'md5-strong');
    await signOn(ep, 'peer', 'pw', 'md5-strong');
    for (let i = 0; i < 80 && !flood.conn.isClosed; i++) flood.conn.sendSnac(0x0004, 0x0006, imBody('peer', `spam ${i}`));
    await flood.conn.closed;
    // The penalty is recorded asynchronously right after the disconnect.
    let r = await login(ep, 'flood', 'pw', 'md5-strong', { withUrl: true });
    for (let i = 0; i < 20 && r.ok; i++) r = await login(ep, 'flood', 'pw', 'md5-strong', { withUrl: true });
    assert.equal(r.ok, false, 'signing straight back on is refused');
    assert.equal(r.error, 0x0018);
    assert.match(r.url ?? '', /\?retry-after=(10|9)&scope=penalty$/);
    assert.equal((await login(ep, 'peer', 'pw', 'md5-strong')).ok, true, 'other accounts are unaffected');
  });
});
