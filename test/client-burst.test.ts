/**
 * The client library against a real server over real sockets (in process, so the server's limits can be made
 * small): a burst of IMs is paced to the announced rate class and all arrive, in order, without the sender being
 * signed off; a long plaintext IM (what a classic client would get) is split and joined; a full offline queue
 * is a QUEUE_FULL refusal (docs/protocol.md §3.1, §3.4, §10.4).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CertimClient, type IncomingIm } from '../src/client/client.js';
import { ClientError } from '../src/client/errors.js';
import { nodeTransportFactory } from '../src/client/node/tcp-transport.js';
import { MemoryBuddyStore } from '../src/client/trust.js';
import { DEFAULT_RATE_CLASSES } from '../src/server/session/rate-classes.js';
import { startOscarFixture, type OscarFixture } from './support/oscar-server-fixture.js';

// Class 3 (IM sends) ten times tighter than the default in time: unpaced, ~14 IMs in a burst get a sign-off.
const RATE_CLASSES = DEFAULT_RATE_CLASSES.map((c) => (c.id === 3 ? { ...c, clear: 510, alert: 500, limit: 400, disconnect: 300, max: 600 } : c));

describe('pacing, parts and queue limits against a real server', { timeout: 120_000 }, () => {
  let fx: OscarFixture;
  const clients: CertimClient[] = [];

  async function client(screenName: string): Promise<CertimClient> {
    const c = new CertimClient({
      screenName, password: `${screenName}-pw`, server: { host: '127.0.0.1', port: fx.port }, transport: nodeTransportFactory({ plain: true }),
      mode: 'md5', caCerts: [], buddyStore: new MemoryBuddyStore(), reconnect: false,
      // No keys and no CA here (plaintext IMs only): no revocation list either, so any certificate would fail closed.
      revocation: { state: () => Promise.resolve({ status: 'unavailable' }), current: () => ({ status: 'unavailable' }), lookup: () => undefined },
    });
    clients.push(c);
    await c.connect();
    return c;
  }

  before(async () => {
    fx = await startOscarFixture({ engine: { config: { rateClasses: RATE_CLASSES, maxMessageLength: 700, maxOfflinePerRecipient: 2 } } });
    for (const u of ['alice', 'bob', 'carol']) await fx.addUser(u, `${u}-pw`);
  });

  after(async () => {
    for (const c of clients) c.close();
    await fx?.stop();
  });

  it('40 IMs sent at once are queued and paced: all delivered, in order, no sign-off', async () => {
    const alice = await client('alice');
    const bob = await client('bob');
    const got: string[] = [];
    bob.on('im', (m) => got.push(m.text));
    let disconnected = false;
    alice.on('disconnected', () => {
      disconnected = true;
    });
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => alice.sendIm('bob', `burst ${i}`, { allowPlaintext: true })));
    assert.ok(results.every((r) => r.delivery === 'delivered' && r.parts === 1));
    assert.equal(disconnected, false);
    assert.ok(Date.now() - started > 10_000, 'paced at about one IM per alert interval');
    const deadline = Date.now() + 5000;
    while (got.length < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(got, Array.from({ length: 40 }, (_, i) => `burst ${i}`));
  });

  it('a long plaintext IM goes in parts under the server limit and is joined by the receiver', async () => {
    const alice = await client('alice');
    const bob = await client('bob');
    const text = 'Ünïcode 漢字 😀 '.repeat(150);
    const got = new Promise<IncomingIm>((resolve) => bob.once('im', resolve));
    const r = await alice.sendIm('bob', text, { allowPlaintext: true });
    assert.ok(r.parts > 3, `parts ${r.parts}`);
    const im = await got;
    assert.equal(im.text, text);
    assert.equal(im.secure, false);
  });

  it('IMs to an offline user are stored until the queue is full, then refused with QUEUE_FULL', async () => {
    const alice = await client('alice');
    assert.equal((await alice.sendIm('carol', 'one', { allowPlaintext: true })).delivery, 'stored');
    assert.equal((await alice.sendIm('carol', 'two', { allowPlaintext: true })).delivery, 'stored');
    await assert.rejects(alice.sendIm('carol', 'three', { allowPlaintext: true }), (e) => ClientError.is(e, 'QUEUE_FULL') && /try again after carol signs on/.test(e.message));
    await assert.rejects(alice.sendIm('carol', ' \n ', { allowPlaintext: true }), (e) => ClientError.is(e, 'EMPTY_MESSAGE'));
  });
});
