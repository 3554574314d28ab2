/**
 * The client library against a real server, in process: typed login errors, buddy presence with capabilities and
 * the certificate hash, profile choice (the modern-profile pin; aim-legacy only when forced), and reconnect with
 * backoff that keeps queued outgoing IMs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { nextEvent } from '../src/client/emitter.js';
import type { BuddyPresence, CertimClient } from '../src/client/client.js';
import { ClientError } from '../src/client/errors.js';
import { certInfoBlock } from '../src/client/identity.js';
import { loadIdentity, needsReenroll, openClient } from '../src/client/node/account.js';
import { ProfileDir } from '../src/client/node/profile.js';
import { toHex } from '../src/wire/bytes.js';
import { certInfoHash } from '../src/wire/cert-info.js';
import { nextIm } from './support/client-events.js';
import { TestServer, TestUser } from './support/cli-harness.js';
import { proxyCredentials, startTamperProxy, type TamperProxy } from './support/tamper-proxy.js';

describe('client library against a real server', { timeout: 300_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  const clients: CertimClient[] = [];
  let proxy: TamperProxy | undefined;

  async function client(u: TestUser, opts: Parameters<typeof openClient>[1]['client'] = {}, port?: number): Promise<CertimClient> {
    const { client: c } = await openClient(new ProfileDir(u.profile), {
      password: u.password,
      passphrase: u.passphrase,
      client: { reconnect: false, ...opts },
      ...(port !== undefined ? { server: { host: '127.0.0.1', port } } : {}),
    });
    clients.push(c);
    return c;
  }

  before(async () => {
    server = await TestServer.start();
    alice = await server.enrolledUser('alice');
    bob = await server.enrolledUser('bob');
  });

  after(async () => {
    for (const c of clients) c.close();
    await proxy?.close();
    await server?.stop();
  });

  it('re-enrolls over EST (simplereenroll) when a certificate is close to expiry, keeping the old key for decryption', async () => {
    const profile = new ProfileDir(bob.profile);
    const before = await loadIdentity(profile, bob.passphrase);
    const notAfter = new X509Certificate(before.signing.certDer).validTo;
    const soon = new Date(new Date(notAfter).getTime() - 10 * 24 * 3600_000);
    assert.equal(needsReenroll(before), false);
    assert.equal(needsReenroll(before, soon), true);
    const { identity, reenrolled } = await openClient(profile, { password: bob.password, passphrase: bob.passphrase, now: soon, client: { reconnect: false } });
    assert.equal(reenrolled, true);
    assert.ok(identity);
    assert.notEqual(toHex(identity.signing.certDer), toHex(before.signing.certDer));
    // Certificate times have one-second resolution and both were issued seconds apart in real time: the new one must
    // not expire before the old one (equal when both were issued within the same second on a fast machine).
    assert.ok(new Date(new X509Certificate(identity.signing.certDer).validTo) >= new Date(notAfter), 'the new certificate lasts at least as long');
    const reloaded = await loadIdentity(profile, bob.passphrase);
    assert.equal(toHex(reloaded.signing.certDer), toHex(identity.signing.certDer));
    assert.deepEqual(reloaded.previous?.map((p) => toHex(p.certDer)), [toHex(before.encryption.certDer), toHex(before.signing.certDer)]);
  });

  it('a wrong password is a typed LOGIN_FAILED with the BUCP code', async () => {
    const c = await client(new TestUser('alice', alice.profile, 'wrong-password', alice.passphrase));
    await assert.rejects(c.connect(), (e: unknown) => ClientError.is(e, 'LOGIN_FAILED') && e.loginError === 0x0001);
  });

  it("reports a buddy's arrival with capabilities and the hash of the certificate block it published", async () => {
    const a = await client(alice, { buddies: ['bob'] });
    await a.connect();
    const arrived = new Promise<BuddyPresence>((resolve) => a.on('buddy', (p) => { if (p.online && p.screenName === 'bob') resolve(p); }));
    const b = await client(bob);
    await b.connect();
    const p = await arrived;
    assert.equal(p.secureIm, true);
    assert.equal(p.modern, true);
    const bobId = await loadIdentity(new ProfileDir(bob.profile), bob.passphrase);
    assert.equal(p.certInfoHash, toHex(certInfoHash(certInfoBlock(bobId))));
    a.close();
    b.close();
  });

  it('keeps a buddy pinned to the modern profile when it stops announcing it; aim-legacy only when asked, and it still verifies', async () => {
    // alice saw bob with the modern profile in the tests above, so bob is pinned (docs/protocol.md §11.1).
    const b = await client(bob, { announceModern: false });
    await b.connect();
    const a = await client(alice);
    await a.connect();
    let got = nextIm(b);
    const pinned = await a.sendIm('bob', 'still modern');
    assert.deepEqual([pinned.secure, pinned.profile], [true, 'modern']);
    assert.match(pinned.notes?.join('\n') ?? '', /no longer announces certim's modern profile/);
    assert.deepEqual([(await got).text, (await got).profile], ['still modern', 'modern']);
    got = nextIm(b);
    const r = await a.sendIm('bob', 'classic hello', { forceLegacy: true });
    assert.deepEqual([r.secure, r.profile], [true, 'aim-legacy']);
    assert.match(r.notes?.join('\n') ?? '', /because you asked for it/);
    const m = await got;
    assert.deepEqual([m.text, m.verdict, m.trust, m.profile, m.legacy], ['classic hello', 'verified', 'ca', 'aim-legacy', true]);
    a.close();
    b.close();
  });

  it('reconnects with backoff after a dropped connection and sends the IM queued meanwhile', async () => {
    proxy = await startTamperProxy({ upstream: { host: '127.0.0.1', port: server.ready.oscarTls }, ...proxyCredentials(server.dataDir, server.tmp), tamper: false });
    const b = await client(bob);
    await b.connect();
    const a = await client(alice, { reconnect: { initialDelayMs: 300, maxDelayMs: 2000 } }, proxy.port);
    await a.connect();
    const dropped = nextEvent(a, 'disconnected');
    const reconnecting = nextEvent(a, 'reconnecting');
    proxy.dropAll();
    const [{ willReconnect }] = (await dropped) as [{ willReconnect: boolean }];
    assert.equal(willReconnect, true);
    assert.equal(a.connected, false);
    const got = nextIm(b);
    const sending = a.sendIm('bob', 'sent while the line was down');
    const [{ attempt }] = (await reconnecting) as [{ attempt: number }];
    assert.equal(attempt, 1);
    const r = await sending;
    assert.equal(r.secure, true);
    const m = await got;
    assert.deepEqual([m.text, m.verdict], ['sent while the line was down', 'verified']);
    assert.equal(a.connected, true);
    a.close();
    b.close();
  });
});
