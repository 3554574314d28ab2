/**
 * The rendezvous proxy (docs/protocol.md §8.3) with real sockets: a real OSCAR server (SQLite store, real login)
 * and the proxy listener in this process, so the test can drive its clock and timers and read its buffered bytes.
 * Two raw clients exchange a proposal through the server, then pair through the proxy; refusals, limits
 * (also under concurrency), timeouts, backpressure and the byte budget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { RvProxyErrorCode } from '../src/wire/rv-proxy.js';
import { decodeIcbmChannelMsgToClient } from '../src/wire/icbm-message.js';
import { CertimProxyErrorCode, startRendezvousProxy, type ProxyConfig, type ProxyTimers, type RendezvousProxy } from '../src/server/proxy/index.js';
import { LocalDirectoryHub } from '../src/server/cluster/local-directory.js';
import { startOscarFixture, startSecondNode, type OscarFixture } from './support/oscar-server-fixture.js';
import { signOn, type BosClient } from './support/oscar-test-client.js';
import { ProxyClient, proxiedProposal } from './support/rv-proxy-client.js';

/** Real time plus an offset the test advances; timers fire when the test advances past them. */
class TestTime {
  private offset = 0;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  readonly clock = { now: () => Date.now() + this.offset };
  readonly timers: ProxyTimers = {
    set: (fn, ms) => {
      const id = ++this.seq;
      this.pending.set(id, { at: this.clock.now() + ms, fn });
      return id;
    },
    clear: (h) => {
      this.pending.delete(h as number);
    },
  };

  /** Moves time forward and runs every timer now due (including ones they schedule). */
  advance(ms: number): void {
    this.offset += ms;
    for (;;) {
      const due = [...this.pending].filter(([, t]) => t.at <= this.clock.now()).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) return;
      this.pending.delete(due[0]);
      due[1].fn();
    }
  }
}

interface Ctx {
  fx: OscarFixture;
  proxy: RendezvousProxy;
  port: number;
  time: TestTime;
  alice: BosClient;
  bob: BosClient;
  carol: BosClient;
}

async function withProxy(config: Partial<ProxyConfig>, body: (c: Ctx) => Promise<void>): Promise<void> {
  const time = new TestTime();
  const fx = await startOscarFixture({ engine: { clock: time.clock } });
  const { proxy, port } = await startRendezvousProxy(fx.server.engine, { host: '127.0.0.1', port: 0, config, timers: time.timers });
  try {
    for (const u of ['alice', 'bob', 'carol']) await fx.addUser(u, `${u}-pw`);
    const ep = { port: fx.port };
    const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((u) => signOn(ep, u, `${u}-pw`, 'md5-strong', { multiConn: 1 })));
    await body({ fx, proxy, port, time, alice: alice!, bob: bob!, carol: carol! });
    for (const c of [alice, bob, carol]) c!.conn.close();
  } finally {
    await proxy.close();
    await fx.stop();
  }
}

/** alice: init-send, ack, proposal through the server; `to` receives it. Returns alice's proxy client and the ack. */
async function propose(c: Ctx, from: BosClient, to: BosClient, toName: string): Promise<{ a: ProxyClient; cookie: Uint8Array; ack: { port: number; ipv4: Uint8Array } }> {
  const cookie = randomBytes(8);
  const a = await ProxyClient.open(c.port);
  const ack = await a.initSend(from.screenName, cookie);
  from.conn.sendSnac(0x0004, 0x0006, proxiedProposal(toName, cookie, ack.port, ack.ipv4));
  const got = decodeIcbmChannelMsgToClient((await to.conn.expectSnac(0x0004, 0x0007)).body);
  assert.equal(got.channel, 2);
  assert.deepEqual([...got.cookie], [...cookie]);
  return { a, cookie, ack };
}

async function pairUp(c: Ctx): Promise<{ a: ProxyClient; b: ProxyClient }> {
  const { a, cookie, ack } = await propose(c, c.alice, c.bob, 'bob');
  const b = await ProxyClient.open(c.port);
  b.sendInitRecv('Bob', cookie, ack.port);
  await Promise.all([a.ready(), b.ready()]);
  return { a, b };
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Writes `data` in 256 KiB pieces, honouring backpressure; `onStall` runs once if no drain comes within 300 ms. */
async function writeAll(s: ProxyClient, data: Buffer, onStall?: () => Promise<void>): Promise<void> {
  let stalled = false;
  for (let o = 0; o < data.length; o += 256 * 1024) {
    if (!s.socket.write(data.subarray(o, o + 256 * 1024))) {
      const drained = await Promise.race([once(s.socket, 'drain').then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 300))]);
      if (!drained && !stalled && onStall) {
        stalled = true;
        await onStall();
      }
      if (!drained) await once(s.socket, 'drain');
    }
  }
}

test('pairing by cookie, port and names; a byte-for-byte splice both ways with half-close', { timeout: 60_000 }, async () => {
  await withProxy({}, async (c) => {
    const { a, cookie, ack } = await propose(c, c.alice, c.bob, 'bob');
    assert.deepEqual([...ack.ipv4], [127, 0, 0, 1], 'the ack names the address the proposer reached');
    const b = await ProxyClient.open(c.port);
    b.sendInitRecv('bob', cookie, ack.port);
    await Promise.all([a.ready(), b.ready()]);
    const up = randomBytes(4 * 1024 * 1024);
    const down = randomBytes(3 * 1024 * 1024 + 17);
    await writeAll(a, up);
    a.socket.end();
    await b.until(() => b.receivedBytes === up.length, 'alice -> bob bytes', 20_000);
    // Alice's direction is closed; bob's still flows (half-close), then ends too.
    await writeAll(b, down);
    b.socket.end();
    await a.until(() => a.receivedBytes === down.length, 'bob -> alice bytes', 20_000);
    assert.equal(sha(b.data()), sha(up));
    assert.equal(sha(a.data()), sha(down));
    await Promise.all([a.closed, b.closed]);
    const m = c.proxy.metrics();
    assert.deepEqual([m.pairsTotal, m.pairs, m.waiting, m.connections, m.bytesRelayed], [1, 0, 0, 0, up.length + down.length]);
  });
});

test('backpressure: a reader that stops reading does not make the proxy buffer (user space stays under 1 MiB)', { timeout: 60_000 }, async (t) => {
  await withProxy({}, async (c) => {
    const { a, b } = await pairUp(c);
    const data = randomBytes(48 * 1024 * 1024);
    b.socket.pause();
    let bufferedAtStall = -1;
    await writeAll(a, data, async () => {
      bufferedAtStall = c.proxy.bufferedBytes();
      b.socket.resume();
    });
    await b.until(() => b.receivedBytes === data.length, 'all bytes after resume', 30_000);
    t.diagnostic(`writer stalled with ${bufferedAtStall} bytes buffered in the proxy`);
    assert.ok(bufferedAtStall >= 0, 'the writer stalled while the reader was paused');
    assert.ok(bufferedAtStall < 1024 * 1024, `proxy held ${bufferedAtStall} bytes in user space`);
    assert.equal(sha(b.data()), sha(data));
    a.close();
    await b.closed;
  });
});

test('refusals: unknown cookie, wrong names, not signed on, wrong address, garbage; a refused join leaves the slot intact', { timeout: 60_000 }, async () => {
  await withProxy({}, async (c) => {
    const stranger = await ProxyClient.open(c.port);
    stranger.sendInitRecv('bob', randomBytes(8), 1234);
    assert.equal(await stranger.error(), RvProxyErrorCode.BadRequest);

    const { a, cookie, ack } = await propose(c, c.alice, c.bob, 'bob');
    // carol is signed on and knows cookie and port, but the proposal was to bob.
    const carol = await ProxyClient.open(c.port);
    carol.sendInitRecv('carol', cookie, ack.port);
    assert.equal(await carol.error(), RvProxyErrorCode.BadRequest);
    const wrongPort = await ProxyClient.open(c.port);
    wrongPort.sendInitRecv('bob', cookie, (ack.port % 65535) + 1);
    assert.equal(await wrongPort.error(), RvProxyErrorCode.BadRequest);
    // The real acceptor still pairs.
    const b = await ProxyClient.open(c.port);
    b.sendInitRecv('bob', cookie, ack.port);
    await Promise.all([a.ready(), b.ready()]);
    a.close();
    await b.closed;

    const dave = await ProxyClient.open(c.port);
    const daveAck = dave.initSend('dave', randomBytes(8));
    await assert.rejects(daveAck, /expected ack, got command 1 7c01/);

    // From another address than alice's OSCAR session.
    const elsewhere = await ProxyClient.open(c.port, { localAddress: '127.0.0.2' });
    await assert.rejects(elsewhere.initSend('alice', randomBytes(8)), /7c01/);

    // The acceptor signed off after the proposal.
    const p2 = await propose(c, c.alice, c.carol, 'carol');
    c.carol.conn.close();
    for (let i = 0; i < 50 && (await c.fx.server.engine.directory.sessionsOf('carol')).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    const gone = await ProxyClient.open(c.port);
    gone.sendInitRecv('carol', p2.cookie, p2.ack.port);
    assert.equal(await gone.error(), CertimProxyErrorCode.NotSignedOn);
    p2.a.close();

    const junk = await ProxyClient.open(c.port);
    junk.socket.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    assert.equal(await junk.error(), RvProxyErrorCode.BadRequest);

    const r = c.proxy.metrics().refusals;
    assert.deepEqual([r.NO_RENDEZVOUS, r.NOT_SIGNED_ON, r.ADDRESS_MISMATCH, r.MALFORMED], [3, 2, 1, 1]);
  });
});

test('PIN guessing: after 8 failed joins on a waiting cookie, the cookie is locked (even the right PIN is refused)', { timeout: 60_000 }, async () => {
  await withProxy({}, async (c) => {
    const { a, cookie, ack } = await propose(c, c.alice, c.bob, 'bob');
    const wrong = Array.from({ length: 8 }, (_, i) => ((ack.port + i) % 65535) + 1).filter((p) => p !== ack.port).slice(0, 8);
    for (const pin of wrong) {
      const g = await ProxyClient.open(c.port);
      g.sendInitRecv('bob', cookie, pin);
      assert.equal(await g.error(), RvProxyErrorCode.BadRequest);
    }
    const b = await ProxyClient.open(c.port);
    b.sendInitRecv('bob', cookie, ack.port);
    assert.equal(await b.error(), RvProxyErrorCode.BadRequest);
    assert.equal(c.proxy.metrics().waiting, 1, 'the proposer still waits (until its pairing timeout)');
    a.close();
    await a.closed;
    for (let i = 0; i < 100 && c.proxy.metrics().waiting > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(c.proxy.metrics().waiting, 0, 'slot gone with its connection');
    // A fresh rendezvous pairs normally.
    const fresh = await pairUp(c);
    fresh.a.close();
    await fresh.b.closed;
  });
});

test('limits hold under concurrency: per user (10 at once, exactly 2 get in), per address, per server', { timeout: 60_000 }, async () => {
  await withProxy({ maxConnectionsPerUser: 2 }, async (c) => {
    const tries = await Promise.all(Array.from({ length: 10 }, async () => {
      const p = await ProxyClient.open(c.port);
      return p.initSend('alice', randomBytes(8)).then(() => 'ack', (e: Error) => e.message);
    }));
    assert.equal(tries.filter((t) => t === 'ack').length, 2, tries.join(','));
    assert.equal(tries.filter((t) => /7c02/.test(t)).length, 8);
    assert.equal(c.proxy.metrics().refusals.USER_LIMIT, 8);
  });
  await withProxy({ maxConnectionsPerAddress: 2, maxConnections: 3 }, async (c) => {
    const held = [await ProxyClient.open(c.port), await ProxyClient.open(c.port)];
    await held[0]!.until(() => c.proxy.metrics().connections === 2, 'two connections held');
    assert.equal(await (await ProxyClient.open(c.port)).error(), CertimProxyErrorCode.Limit, 'third from 127.0.0.1');
    const other = await ProxyClient.open(c.port, { localAddress: '127.0.0.2' });
    await other.until(() => c.proxy.metrics().connections === 3, 'one from another address');
    assert.equal(await (await ProxyClient.open(c.port, { localAddress: '127.0.0.3' })).error(), CertimProxyErrorCode.Limit, 'server full');
    const r = c.proxy.metrics().refusals;
    assert.deepEqual([r.ADDRESS_LIMIT, r.SERVER_LIMIT], [1, 1]);
    for (const h of [...held, other]) h.close();
  });
});

test('timeouts (injected timers): handshake 0x0010, pairing 0x001A, idle splice closed, activity keeps it open', { timeout: 60_000 }, async () => {
  await withProxy({ handshakeTimeoutMs: 1000, pairingTimeoutMs: 5000, idleTimeoutMs: 60_000 }, async (c) => {
    const silent = await ProxyClient.open(c.port);
    c.time.advance(1000);
    assert.equal(await silent.error(), RvProxyErrorCode.InitialRequestTimeout);

    const lonely = await ProxyClient.open(c.port);
    await lonely.initSend('alice', randomBytes(8));
    c.time.advance(4000); // (the test clock also moves with real time: keep a margin)
    assert.equal(c.proxy.metrics().waiting, 1);
    c.time.advance(1000);
    assert.equal(await lonely.error(), RvProxyErrorCode.AcceptTimeout);
    assert.equal(c.proxy.metrics().waiting, 0);

    const { a, b } = await pairUp(c);
    c.time.advance(40_000);
    a.socket.write('x');
    await b.until(() => b.receivedBytes === 1, 'one byte');
    c.time.advance(40_000);
    assert.equal(c.proxy.metrics().pairs, 1, 'activity 40 s ago: still open');
    c.time.advance(20_000);
    await Promise.all([a.closed, b.closed]);
    assert.deepEqual(c.proxy.metrics().refusals.IDLE_TIMEOUT, 1);
  });
});

test('byte budget per user per hour: the pair is cut at the limit, new sessions refused until it refills', { timeout: 60_000 }, async () => {
  await withProxy({ bytesPerUserPerHour: 1024 * 1024 }, async (c) => {
    const { a, b } = await pairUp(c);
    a.socket.write(randomBytes(2 * 1024 * 1024));
    await Promise.all([a.closed, b.closed]);
    assert.ok(b.receivedBytes <= 1024 * 1024, `${b.receivedBytes} bytes got through`);
    assert.equal(c.proxy.metrics().refusals.BYTE_BUDGET, 1);
    await assert.rejects((await ProxyClient.open(c.port)).initSend('alice', randomBytes(8)), /7c03/);
    c.time.advance(3_600_000);
    await (await ProxyClient.open(c.port)).initSend('alice', randomBytes(8));
  });
});

test('two nodes: the proxy of the proposer\'s node pairs an acceptor signed on to the other node; a foreign init-send is refused', { timeout: 60_000 }, async () => {
  const hub = new LocalDirectoryHub();
  const fx = await startOscarFixture({ engine: { directory: hub.directory('node-a') } });
  const { server: nodeB, port: portB } = await startSecondNode(fx, { directory: hub.directory('node-b') });
  const proxyA = await startRendezvousProxy(fx.server.engine, { host: '127.0.0.1', port: 0 });
  const proxyB = await startRendezvousProxy(nodeB.engine, { host: '127.0.0.1', port: 0 });
  try {
    for (const u of ['alice', 'bob']) await fx.addUser(u, `${u}-pw`);
    const alice = await signOn({ port: fx.port }, 'alice', 'alice-pw', 'md5-strong');
    const bob = await signOn({ port: portB }, 'bob', 'bob-pw', 'md5-strong');
    // alice is signed on to node A only: node B's proxy does not take her init-send.
    await assert.rejects((await ProxyClient.open(proxyB.port)).initSend('alice', randomBytes(8)), /7c01/);
    const cookie = randomBytes(8);
    const a = await ProxyClient.open(proxyA.port);
    const ack = await a.initSend('alice', cookie);
    alice.conn.sendSnac(0x0004, 0x0006, proxiedProposal('bob', cookie, ack.port, ack.ipv4));
    await bob.conn.expectSnac(0x0004, 0x0007);
    const b = await ProxyClient.open(proxyA.port);
    b.sendInitRecv('bob', cookie, ack.port);
    await Promise.all([a.ready(), b.ready()]);
    const data = randomBytes(1024 * 1024);
    a.socket.end(data);
    await b.until(() => b.receivedBytes === data.length, 'bytes across nodes');
    assert.equal(sha(b.data()), sha(data));
    b.close();
    alice.conn.close();
    bob.conn.close();
  } finally {
    await proxyA.proxy.close();
    await proxyB.proxy.close();
    await nodeB.close();
    await fx.stop();
  }
});
