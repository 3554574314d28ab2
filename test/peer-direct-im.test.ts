/**
 * Direct IM (docs/protocol.md §15.1) between two library clients signed on to a real server process: the
 * invitation waits for the user, the TLS peer connection is pinned to each buddy's certificate, messages and typing
 * go over it with a `direct` verdict, and when the connection is killed both sides hear `closed` and messages go
 * through the server again (still end-to-end encrypted and signed).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { CertimClient, IncomingIm } from '../src/client/client.js';
import { openClient } from '../src/client/node/account.js';
import { ProfileDir } from '../src/client/node/profile.js';
import { DirectImManager } from '../src/client/peer/odc-manager.js';
import type { DirectIncomingIm } from '../src/client/peer/odc-session.js';
import { TestServer, type TestUser } from './support/cli-harness.js';

describe('Direct IM over a pinned TLS peer connection', { timeout: 300_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  const clients: CertimClient[] = [];
  const managers: DirectImManager[] = [];

  async function signOn(u: TestUser, buddy: string): Promise<CertimClient> {
    const { client } = await openClient(new ProfileDir(u.profile), { password: u.password, passphrase: u.passphrase, buddies: [buddy], client: { reconnect: false } });
    clients.push(client);
    await client.connect();
    return client;
  }

  function manager(c: CertimClient): DirectImManager {
    const m = new DirectImManager(c, { peer: { proxy: { host: '127.0.0.1', port: server.ready.proxy } } });
    managers.push(m);
    return m;
  }

  before(async () => {
    server = await TestServer.start();
    alice = await server.enrolledUser('alice');
    bob = await server.enrolledUser('bob');
  });

  function closeAll(): void {
    for (const m of managers.splice(0)) m.stop();
    for (const c of clients.splice(0)) c.close();
  }

  after(async () => {
    closeAll();
    await server?.stop();
  });

  it('invitation, accept, messages and typing both ways, then a killed connection falls back to server IMs', async () => {
    const a = await signOn(alice, 'bob');
    const b = await signOn(bob, 'alice');
    const da = manager(a);
    const db = manager(b);

    // alice invites; nothing is accepted until bob says so.
    const invited = once(db, 'invitation') as Promise<[{ from: string }]>;
    const opening = da.open('bob');
    assert.equal((await invited)[0].from, 'alice');
    assert.equal(db.hasInvitation('alice'), true);
    assert.equal(da.isOpen('bob'), false);
    const openedA = once(da, 'opened') as Promise<[{ buddy: string; fingerprint: string }]>;
    const [sb, sa] = await Promise.all([db.open('alice'), opening]);
    const [{ fingerprint }] = await openedA;
    // The fingerprint alice's side pinned is bob's signing certificate.
    const bobCerts = await a.buddyCerts('bob');
    assert.ok(bobCerts);
    const { certFingerprint } = await import('../src/client/trust.js');
    assert.equal(fingerprint, certFingerprint(bobCerts.signingDer));
    assert.equal(sa.isOpen && sb.isOpen, true);

    // Messages over the peer connection: marked direct, verified by the pinned connection.
    const gotB = once(db, 'im') as Promise<[DirectIncomingIm]>;
    assert.deepEqual(await da.send('bob', 'hello bob, directly'), { direct: true });
    const [m1] = await gotB;
    assert.deepEqual([m1.from, m1.text, m1.direct, m1.verdict, m1.code, m1.secure], ['alice', 'hello bob, directly', true, 'verified', 'direct-tls', true]);
    const gotA = once(da, 'im') as Promise<[DirectIncomingIm]>;
    assert.deepEqual(await db.send('alice', 'hi alice ✓'), { direct: true });
    assert.equal((await gotA)[0].text, 'hi alice ✓');
    const typing = once(da, 'typing');
    sb.typing('typing');
    assert.deepEqual((await typing)[0], { from: 'bob', event: 'typing' });
    // Nothing of it went through the server: no server IM arrived on either client.
    let serverIms = 0;
    a.on('im', () => serverIms++);
    b.on('im', () => serverIms++);

    // Kill the peer connection under bob's session (as a network cut would): both sides hear it closed.
    const closedA = once(da, 'closed');
    const closedB = once(db, 'closed');
    (sb as unknown as { opts: { stream: { destroy(): void } } }).opts.stream.destroy();
    await Promise.all([closedA, closedB]);
    assert.equal(da.isOpen('bob'), false);
    assert.equal(serverIms, 0);

    // From now on alice's messages go through the server, still encrypted and signed.
    const viaServer = new Promise<IncomingIm>((resolve) => b.once('im', resolve));
    const r = await da.send('bob', 'after the cut');
    assert.equal(r.direct, false);
    assert.equal(r.direct === false && r.result.secure, true);
    const m2 = await viaServer;
    assert.deepEqual([m2.text, m2.verdict, 'direct' in m2], ['after the cut', 'verified', false]);
    closeAll();
  });

  it('a declined invitation rejects the inviter; a plaintext (non-TLS) invitation is never offered to the user', async () => {
    const a = await signOn(alice, 'bob');
    const b = await signOn(bob, 'alice');
    const da = manager(a);
    const db = manager(b);
    const invited = once(db, 'invitation');
    const refused = assert.rejects(da.open('bob'), (e: Error & { code?: string }) => e.code === 'PEER_CANCELLED');
    await invited;
    assert.equal(await db.decline('alice'), true);
    await refused;

    // A classic client's plaintext proposal (no TLV 0x0011): declined at once, no invitation event.
    const { encodeRendezvous, RvType } = await import('../src/wire/rendezvous.js');
    const { CAP_DIRECT_IM } = await import('../src/client/peer/odc-manager.js');
    let invitations = 0;
    db.on('invitation', () => invitations++);
    const cancelled = new Promise<{ type: number }>((resolve) => a.on('rendezvous', (e) => {
      if (e.message.type === RvType.Cancel) resolve(e.message);
    }));
    await a.sendRendezvous('bob', encodeRendezvous({ type: RvType.Propose, cookie: Uint8Array.from([1, 1, 2, 3, 5, 8, 13, 21]), capability: CAP_DIRECT_IM, requestIndex: 1, port: 5190, address: Uint8Array.from([127, 0, 0, 1]) }));
    assert.equal((await cancelled).type, RvType.Cancel);
    assert.equal(invitations, 0);
  });

  it('a key change of the buddy closes the Direct IM (it was pinned to the old certificate)', async () => {
    const a = await signOn(alice, 'bob');
    const b = await signOn(bob, 'alice');
    const da = manager(a);
    const db = manager(b);
    const invited = once(db, 'invitation');
    const opening = da.open('bob');
    await invited;
    await Promise.all([db.open('alice'), opening]);
    const closedA = once(da, 'closed');
    const closedB = once(db, 'closed');
    // What the client emits when bob's published certificate-info hash changes and the new certificate checks out.
    a.emit('key-change', { screenName: 'bob', oldFingerprint: '00', newFingerprint: '11', wasVerified: false });
    await Promise.all([closedA, closedB]);
    assert.equal(da.isOpen('bob'), false);
    assert.equal(db.isOpen('alice'), false);
    closeAll();
  });
});
