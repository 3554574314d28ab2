/**
 * Peer connections (docs/protocol.md §8.2, §8.3, §8.6) between two library clients signed on to a real server
 * process: direct, forced through the rendezvous proxy, the reverse step, a decline, and peers presenting a wrong
 * certificate (scripted with real TLS sockets) refused on both sides with the reason.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { X509Certificate, type KeyObject } from 'node:crypto';
import { createServer } from 'node:net';
import { TLSSocket, connect as tlsConnect } from 'node:tls';
import type { CertimClient } from '../src/client/client.js';
import { loadIdentity, openClient } from '../src/client/node/account.js';
import { ProfileDir } from '../src/client/node/profile.js';
import type { Identity } from '../src/client/identity.js';
import {
  PeerError, isNewProposal, openPeerConnection, declinePeerProposal, type PeerConnection,
} from '../src/client/peer/index.js';
import { capabilityBytes } from '../src/wire/capabilities.js';
const SEND_FILE_CAPABILITY = capabilityBytes('SendFile');
import { RvType, encodeRendezvous, proposalAddresses, type RendezvousMessage } from '../src/wire/rendezvous.js';
import { TestServer, type TestUser } from './support/cli-harness.js';

function nextRendezvous(c: CertimClient, pred: (m: RendezvousMessage) => boolean = isNewProposal): Promise<{ from: string; message: RendezvousMessage }> {
  return new Promise((resolve) => {
    const l = (e: { from: string; message: RendezvousMessage }): void => {
      if (!pred(e.message)) return;
      c.off('rendezvous', l);
      resolve(e);
    };
    c.on('rendezvous', l);
  });
}

async function roundTrip(a: PeerConnection, b: PeerConnection): Promise<void> {
  const got = once(b.socket, 'data');
  a.socket.write('ping from a');
  assert.equal(String((await got)[0]), 'ping from a');
  const back = once(a.socket, 'data');
  b.socket.write('pong from b');
  assert.equal(String((await back)[0]), 'pong from b');
}

describe('peer connections between two signed-on clients', { timeout: 300_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let mallory: TestUser;
  let a: CertimClient;
  let b: CertimClient;
  let aliceId: Identity;
  let bobId: Identity;
  let malloryId: Identity;
  const proxy = (): { host: string; port: number } => ({ host: '127.0.0.1', port: server.ready.proxy });

  async function client(u: TestUser): Promise<CertimClient> {
    const { client: c } = await openClient(new ProfileDir(u.profile), { password: u.password, passphrase: u.passphrase, client: { reconnect: false } });
    await c.connect();
    return c;
  }

  before(async () => {
    server = await TestServer.start();
    [alice, bob, mallory] = [await server.enrolledUser('alice'), await server.enrolledUser('bob'), await server.enrolledUser('mallory')];
    a = await client(alice);
    b = await client(bob);
    aliceId = await loadIdentity(new ProfileDir(alice.profile), alice.passphrase);
    bobId = await loadIdentity(new ProfileDir(bob.profile), bob.passphrase);
    malloryId = await loadIdentity(new ProfileDir(mallory.profile), mallory.passphrase);
  });

  after(async () => {
    a?.close();
    b?.close();
    await server?.stop();
  });

  it('connects directly, inside TLS, each side pinned to the other\'s published signing certificate', async () => {
    const offer = nextRendezvous(b);
    const proposing = openPeerConnection({ client: a, role: 'propose', to: 'bob', capability: SEND_FILE_CAPABILITY, proxy: proxy() });
    const { from, message } = await offer;
    assert.equal(from, 'alice');
    assert.equal(message.tls, true, 'the proposal carries TLV 0x0011');
    assert.equal(message.requestIndex, 1);
    assert.ok(message.verifiedAddress, 'the server added the address it saw (0x0004)');
    const [pa, pb] = await Promise.all([proposing, openPeerConnection({ client: b, role: 'accept', from, proposal: message, proxy: proxy() })]);
    assert.deepEqual([pa.route, pb.route, pa.tlsRole, pb.tlsRole, pa.role, pb.role], ['direct', 'direct', 'server', 'client', 'proposer', 'acceptor']);
    assert.deepEqual(Buffer.from(pa.peerCertificate), Buffer.from(bobId.signing.certDer));
    assert.deepEqual(Buffer.from(pb.peerCertificate), Buffer.from(aliceId.signing.certDer));
    const seen = pa.socket.getPeerCertificate(false);
    assert.equal(new X509Certificate(seen.raw).fingerprint256, new X509Certificate(bobId.signing.certDer).fingerprint256);
    assert.match(pa.socket.getProtocol() ?? '', /^TLSv1\.[23]$/);
    await roundTrip(pa, pb);
    pa.socket.destroy();
    pb.socket.destroy();
  });

  it('goes through the rendezvous proxy when forced: the proxy handshake in the clear, then TLS', async () => {
    const offer = nextRendezvous(b);
    const proposing = openPeerConnection({ client: a, role: 'propose', to: 'bob', capability: SEND_FILE_CAPABILITY, proxy: proxy(), forceProxy: true });
    const { from, message } = await offer;
    assert.equal(message.viaProxy, true, 'TLV 0x0010');
    assert.equal(message.tls, true);
    assert.deepEqual(proposalAddresses(message).ipv4, ['127.0.0.1']);
    const [pa, pb] = await Promise.all([proposing, openPeerConnection({ client: b, role: 'accept', from, proposal: message, proxy: proxy() })]);
    assert.deepEqual([pa.route, pb.route, pa.tlsRole, pb.tlsRole], ['proxy', 'proxy', 'server', 'client']);
    await roundTrip(pa, pb);
    pa.socket.destroy();
    pb.socket.destroy();
  });

  it('takes the reverse step when the proposer cannot be reached: the acceptor listens and re-proposes (index 2)', async () => {
    // A proposal naming a port nobody listens on (scripted with alice's client), then alice answers bob's re-proposal.
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    const cookie = Buffer.from('revstep1');
    const offer = nextRendezvous(b);
    const reverse = nextRendezvous(a, (m) => m.type === RvType.Propose && m.requestIndex === 2);
    await a.sendRendezvous('bob', encodeRendezvous({ type: RvType.Propose, cookie, capability: SEND_FILE_CAPABILITY, requestIndex: 1, address: new Uint8Array([127, 0, 0, 1]), port: closed, tls: true }));
    const { from, message } = await offer;
    const accepting = openPeerConnection({ client: b, role: 'accept', from, proposal: message, proxy: proxy(), timeouts: { connectMs: 2000 } });
    const re = await reverse;
    assert.equal(re.message.viaProxy, undefined);
    assert.equal(re.message.tls, true);
    const [pb, pa] = await Promise.all([accepting, openPeerConnection({ client: a, role: 'accept', from: 'bob', proposal: re.message, proxy: proxy() })]);
    assert.deepEqual([pb.route, pa.route, pb.tlsRole, pa.tlsRole], ['reverse', 'reverse', 'server', 'client']);
    await roundTrip(pa, pb);
    pa.socket.destroy();
    pb.socket.destroy();
  });

  it('a decline reaches the proposer as PEER_CANCELLED with reason 1', async () => {
    const offer = nextRendezvous(b);
    const proposing = openPeerConnection({ client: a, role: 'propose', to: 'bob', capability: SEND_FILE_CAPABILITY, proxy: proxy() });
    const outcome = proposing.then(() => undefined, (e: unknown) => e);
    const { from, message } = await offer;
    await declinePeerProposal(b, from, message);
    const e = await outcome;
    assert.ok(PeerError.is(e, 'PEER_CANCELLED'), String(e));
    await assert.rejects(Promise.reject(e), (e: unknown) => PeerError.is(e, 'PEER_CANCELLED') && e.cancelReason === 1 && /declined/.test(e.message));
  });

  it('refuses a connecting peer presenting another valid certificate, or none (the proposer side), with the reason', async () => {
    for (const present of ['mallory', 'none'] as const) {
      const offer = nextRendezvous(b);
      const proposing = openPeerConnection({ client: a, role: 'propose', to: 'bob', capability: SEND_FILE_CAPABILITY, proxy: proxy() });
      const { message } = await offer;
      // A scripted "bob" connects to alice's listener presenting mallory's CA-issued certificate, or no certificate.
      const creds = present === 'mallory' ? { key: (malloryId.signing.privateKey as KeyObject).export({ type: 'pkcs8', format: 'pem' }) as string, cert: new X509Certificate(malloryId.signing.certDer).toString() } : {};
      const sock = tlsConnect({ host: '127.0.0.1', port: message.port!, ...creds, rejectUnauthorized: false });
      sock.on('error', () => {});
      await assert.rejects(proposing, (e: unknown) => present === 'mallory'
        ? PeerError.is(e, 'PEER_CERT_MISMATCH') && /claiming to be bob/.test(e.message) && /not bob's current published certificate/.test(e.message)
        : PeerError.is(e, 'PEER_NO_CERT') && /presented no certificate/.test(e.message));
      sock.destroy();
    }
  });

  it('refuses a listening proposer presenting a wrong certificate (the acceptor side) and cancels the rendezvous', async () => {
    const listener = createServer((sock) => {
      const t = new TLSSocket(sock, { isServer: true, key: (malloryId.signing.privateKey as KeyObject).export({ type: 'pkcs8', format: 'pem' }) as string, cert: new X509Certificate(malloryId.signing.certDer).toString() });
      t.on('error', () => {});
    });
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
    const port = (listener.address() as { port: number }).port;
    const offer = nextRendezvous(b);
    await a.sendRendezvous('bob', encodeRendezvous({ type: RvType.Propose, cookie: Buffer.from('wrongcrt'), capability: SEND_FILE_CAPABILITY, requestIndex: 1, address: new Uint8Array([127, 0, 0, 1]), port, tls: true }));
    const { from, message } = await offer;
    const cancel = nextRendezvous(a, (m) => m.type === RvType.Cancel);
    await assert.rejects(openPeerConnection({ client: b, role: 'accept', from, proposal: message, proxy: proxy() }),
      (e: unknown) => PeerError.is(e, 'PEER_CERT_MISMATCH') && /claiming to be alice/.test(e.message));
    assert.equal((await cancel).from, 'bob', 'the proposer is told with a cancel');
    listener.close();
  });
});
