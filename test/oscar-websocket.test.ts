/**
 * OSCAR over WebSocket (docs/protocol.md §14) against a real `certim server` process: the client library signs on
 * over `wss://…/oscar` (BUCP and BOS both on the WebSocket) and exchanges verified secure IMs with a TLS client both
 * ways; the frame-size limit (1009), text messages (1003) and the rate classes hold over WebSocket; a foreign Origin
 * and a wrong path are refused before any upgrade; the page at `/` carries the CSP and security headers. An
 * in-process server with a short unauthenticated timeout shows idle upgrades time out and the per-address cap.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { CertimClient } from '../src/client/client.js';
import { openClient } from '../src/client/node/account.js';
import { ProfileDir } from '../src/client/node/profile.js';
import { bucpLogin } from '../src/client/sign-on.js';
import { webSocketTransportFactory, type WebSocketConstructor } from '../src/client/ws-transport.js';
import { startServer, type RunningServer, type ServerOptions } from '../src/server/main.js';
import { hashPassword } from '../src/server/auth/password.js';
import { databaseUrlForDataDir, openStore } from '../src/store/index.js';
import { signOn } from '../src/client/sign-on.js';
import { FlapChannel, FlapDeframer, encodeFlap, encodeFlapHello, type FlapFrame } from '../src/wire/flap.js';
import { encodeSnac } from '../src/wire/snac.js';
import { FEEDBAG_FAMILY, FeedbagSubtype } from '../src/wire/families/feedbag.js';
import { nextIm } from './support/client-events.js';
import { TestServer, type TestUser } from './support/cli-harness.js';

/** The `ws` package's WebSocket with the server's CA and an Origin bound in, shaped as the browser's constructor. */
function nodeWebSocket(caPem: string[], origin: string | undefined): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string) {
      super(url, { ca: caPem, ...(origin !== undefined ? { origin } : {}) });
    }
  };
}

/** A raw WebSocket speaking FLAP: a frame inbox, the close code, the refusal status. */
class RawWs {
  readonly frames: FlapFrame[] = [];
  closeCode: number | undefined;
  readonly closed: Promise<number>;
  readonly opened: Promise<void>;
  private readonly deframer = new FlapDeframer();
  private seq = 0;
  readonly ws: WebSocket;

  constructor(url: string, caPem: string[], origin: string | undefined) {
    this.ws = new WebSocket(url, { ca: caPem, ...(origin !== undefined ? { origin } : {}) });
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res: IncomingMessage) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body })));
      });
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => this.ws.once('close', (code: number) => {
      this.closeCode = code;
      resolve(code);
    }));
    this.ws.on('message', (data: Buffer) => {
      for (const f of this.deframer.push(data)) this.frames.push({ ...f, payload: f.payload.slice() });
    });
  }

  /** Encodes one FLAP frame. */
  frame(channel: number, payload: Uint8Array): Uint8Array {
    return encodeFlap({ channel, sequence: this.seq++ & 0xffff, payload });
  }

  /** Sends bytes as one binary message. */
  send(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }
}

function fetchPage(url: string, caPem: string[]): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { ca: caPem }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on('error', reject);
  });
}

describe('OSCAR over WebSocket, real server process', { timeout: 300_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let caPem: string[];
  let origin: string;
  let wsUrl: string;
  const clients: CertimClient[] = [];

  before(async () => {
    server = await TestServer.start();
    alice = await server.enrolledUser('alice');
    bob = await server.enrolledUser('bob');
    caPem = ['root.crt', 'issuing.crt'].map((f) => readFileSync(join(server.dataDir, 'ca', f), 'utf8'));
    origin = `https://127.0.0.1:${server.ready.https}`;
    wsUrl = `wss://127.0.0.1:${server.ready.https}/oscar`;
  });

  after(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  async function client(u: TestUser, transport: 'ws' | 'tls'): Promise<CertimClient> {
    const ws = transport === 'ws';
    const { client: c } = await openClient(new ProfileDir(u.profile), {
      password: u.password,
      passphrase: u.passphrase,
      client: {
        reconnect: false,
        ...(ws ? { transport: webSocketTransportFactory({ WebSocket: nodeWebSocket(caPem, origin) }) } : {}),
      },
      ...(ws ? { server: { host: '127.0.0.1', port: server.ready.https } } : {}),
    });
    clients.push(c);
    return c;
  }

  it('BUCP over the WebSocket names the HTTPS listener as the BOS address', async () => {
    const r = await bucpLogin({
      screenName: 'alice', password: alice.password, server: { host: '127.0.0.1', port: server.ready.https },
      transport: webSocketTransportFactory({ WebSocket: nodeWebSocket(caPem, origin) }), capabilities: [], buddies: [], handlers: {},
    });
    assert.equal(r.bosAddress, `127.0.0.1:${server.ready.https}`);
    assert.equal(r.cookie.length, 256);
  });

  it('a WebSocket client signs on (BUCP then BOS over /oscar) and exchanges verified secure IMs with a TLS client both ways', async () => {
    const a = await client(alice, 'ws');
    const b = await client(bob, 'tls');
    await a.connect();
    await b.connect();
    const toBob = nextIm(b);
    const sent = await a.sendIm('bob', 'hello from the browser side');
    assert.deepEqual([sent.secure, sent.profile], [true, 'modern']);
    const m1 = await toBob;
    assert.deepEqual([m1.from, m1.text, m1.verdict, m1.trust], ['alice', 'hello from the browser side', 'verified', 'ca']);
    const toAlice = nextIm(a);
    await b.sendIm('alice', 'and back over TLS');
    const m2 = await toAlice;
    assert.deepEqual([m2.from, m2.text, m2.verdict, m2.trust], ['bob', 'and back over TLS', 'verified', 'ca']);
    // Both of alice's connections (login and BOS) were WebSockets.
    const metrics = await fetchPage(`${server.httpsUrl}/metrics`, caPem);
    assert.ok(Number(/certim_ws_upgrades_total (\d+)/.exec(metrics.body)?.[1]) >= 3, metrics.body);
    assert.match(metrics.body, /certim_ws_unauthenticated \d+/);
    a.close();
    b.close();
  });

  it('a message larger than the largest FLAP frame is refused with close code 1009; a text message with 1003; a ping flood with 1008', async () => {
    const big = new RawWs(wsUrl, caPem, origin);
    await big.opened;
    big.send(new Uint8Array(65_542));
    assert.equal(await big.closed, 1009);
    const text = new RawWs(wsUrl, caPem, origin);
    await text.opened;
    text.ws.send('hello');
    assert.equal(await text.closed, 1003);
    const pinger = new RawWs(wsUrl, caPem, origin);
    await pinger.opened;
    let pongs = 0;
    pinger.ws.on('pong', () => pongs++);
    for (let i = 0; i < 40; i++) pinger.ws.ping();
    assert.equal(await pinger.closed, 1008);
    assert.ok(pongs <= 31, `${pongs} pongs`); // ws answers a ping before the handler that counts it sees it
  });

  it('a flooding client is signed off by the rate classes (ch-4 then close), as on TCP', async () => {
    const c = new RawWs(wsUrl, caPem, origin);
    await c.opened;
    const frames = [c.frame(FlapChannel.SignOn, encodeFlapHello())];
    for (let i = 0; i < 400; i++) frames.push(c.frame(FlapChannel.Data, encodeSnac({ family: 1, subtype: 6, flags: 0, requestId: i + 1 }, new Uint8Array(0))));
    c.send(Buffer.concat(frames));
    await c.closed;
    assert.ok(c.frames.some((f) => f.channel === FlapChannel.SignOff), 'got a FLAP sign-off');
    // Dispatch stopped at the disconnect: far fewer than 400 error replies went out.
    assert.ok(c.frames.filter((f) => f.channel === FlapChannel.Data).length < 300);
  });

  it('refuses a cross-site Origin, a missing Origin, plain http origins and other paths before upgrading', async () => {
    const refused = async (url: string, o: string | undefined): Promise<{ status: number; body: string }> => {
      const c = new RawWs(url, caPem, o);
      return c.opened.then(() => assert.fail('upgraded'), (e: { status: number; body: string }) => ({ status: e.status, body: e.body }));
    };
    assert.deepEqual(await refused(wsUrl, 'https://evil.example'), { status: 403, body: 'WS_ORIGIN_REFUSED\n' });
    assert.deepEqual(await refused(wsUrl, undefined), { status: 403, body: 'WS_ORIGIN_REFUSED\n' });
    assert.deepEqual(await refused(wsUrl, `http://127.0.0.1:${server.ready.https}`), { status: 403, body: 'WS_ORIGIN_REFUSED\n' });
    // Same host name, other port: another origin.
    assert.deepEqual(await refused(wsUrl, `https://127.0.0.1:${server.ready.https + 1}`), { status: 403, body: 'WS_ORIGIN_REFUSED\n' });
    assert.deepEqual(await refused(`wss://127.0.0.1:${server.ready.https}/est/oscar`, origin), { status: 404, body: 'WS_NOT_FOUND\n' });
  });

  it('serves / with a strict CSP, HSTS, nosniff, no-referrer and no framing', async () => {
    const r = await fetchPage(`${server.httpsUrl}/`, caPem);
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/html/);
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    assert.match(csp, new RegExp(`connect-src 'self' wss://127\\.0\\.0\\.1:${server.ready.https}(;|$)`));
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(String(r.headers['strict-transport-security']), /^max-age=\d{7,}/);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
    assert.equal(r.headers['x-frame-options'], 'DENY');
    // The page is the web client: its scripts are same-origin files, never inline (the CSP would block those anyway).
    const scripts = [...r.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    assert.ok(scripts.length > 0, 'the page loads the web client');
    for (const [, attrs, body] of scripts) {
      assert.match(attrs!, /\bsrc="\/assets\/[^"]+\.js"/, 'a same-origin script file');
      assert.equal(body!.trim(), '', 'no inline script');
    }
  });
});

/**
 * An in-process server in a temp data directory for the describe block that calls it (before/after hooks), with
 * `account` (screen name, password) created first; `server` adds to the defaults (free ports on 127.0.0.1).
 */
function inProcessServer(server: Partial<ServerOptions>, account?: [string, string]): { running: RunningServer; caPem: string[] } {
  const ctx = {} as { running: RunningServer; caPem: string[] };
  let tmp: string | undefined;
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'certim-ws-'));
    if (account) {
      const store = await openStore(databaseUrlForDataDir(join(tmp, 'data')));
      await store.accounts.create({ screenName: account[0], passwordHash: await hashPassword(account[1], { N: 1 << 10, r: 8, p: 1 }), legacyVerifier: null, legacyLoginEnabled: false });
      await store.close();
    }
    ctx.running = await startServer({ dataDir: join(tmp, 'data'), host: '127.0.0.1', port: 0, tlsPort: 0, httpPort: 0, ...server });
    ctx.caPem = ['root.crt', 'issuing.crt'].map((f) => readFileSync(join(ctx.running.dataDir, 'ca', f), 'utf8'));
  });
  after(async () => {
    await ctx.running?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });
  return ctx;
}

describe('OSCAR over WebSocket: unauthenticated sockets are capped and time out', { timeout: 120_000 }, () => {
  const srv = inProcessServer({ engine: { unauthenticatedTimeoutMs: 500 }, webSocket: { maxUnauthenticatedPerAddress: 2 } }, ['walt', 'walt-pw']);

  it('an idle upgrade gets the FLAP hello, then is closed at the unauthenticated timeout; the per-address cap refuses a third meanwhile', async () => {
    const { running, caPem } = srv;
    const url = `wss://127.0.0.1:${running.ports.https}/oscar`;
    const origin = `https://127.0.0.1:${running.ports.https}`;
    // A signed-on WebSocket (past the cookie) holds no unauthenticated slot, and outlives the timeout.
    const walt = await signOn({
      screenName: 'walt', password: 'walt-pw', server: { host: '127.0.0.1', port: running.ports.https },
      transport: webSocketTransportFactory({ WebSocket: nodeWebSocket(caPem, origin) }), capabilities: [], buddies: [], handlers: {},
    });
    const a = new RawWs(url, caPem, origin);
    const b = new RawWs(url, caPem, origin);
    await Promise.all([a.opened, b.opened]);
    const third = new RawWs(url, caPem, origin);
    await assert.rejects(third.opened, (e: { status?: number; body?: string }) => e.status === 503 && e.body === 'WS_BUSY\n');
    const start = Date.now();
    await Promise.all([a.closed, b.closed]);
    const waited = Date.now() - start;
    assert.ok(waited < 10_000, `closed after ${waited} ms`);
    assert.equal(a.frames[0]?.channel, FlapChannel.SignOn, 'the server spoke first');
    assert.ok(!a.frames.some((f) => f.channel === FlapChannel.Data), 'nothing but the hello');
    // The slots are free again.
    const d = new RawWs(url, caPem, origin);
    await d.opened;
    d.ws.close();
    await d.closed;
    assert.equal(walt.bos.isClosed, false, 'the signed-on WebSocket is still up');
    assert.equal(running.oscar.engine.registry.sessionsOf('walt').length, 1);
    walt.bos.close();
  });
});

describe('OSCAR over WebSocket: a signed-on WebSocket leaves the unauthenticated count of the shared connection caps', { timeout: 120_000 }, () => {
  // Two unauthenticated connections per address on every listener (OSCAR, TLS, HTTPS share the caps): an office
  // behind one NAT address with more web users than that signed on must still reach the server.
  const srv = inProcessServer({ connections: { perAddressUnauthenticated: 2 } }, ['wilma', 'wilma-pw']);

  it('four web sessions from one address sign on, and a fifth still can', async () => {
    const { running, caPem } = srv;
    const origin = `https://127.0.0.1:${running.ports.https}`;
    const web = () => signOn({
      screenName: 'wilma', password: 'wilma-pw', server: { host: '127.0.0.1', port: running.ports.https },
      transport: webSocketTransportFactory({ WebSocket: nodeWebSocket(caPem, origin) }), capabilities: [], buddies: [], handlers: {},
    });
    const sessions = [];
    for (let i = 0; i < 5; i++) sessions.push(await web());
    assert.equal(running.oscar.engine.registry.sessionsOf('wilma').length, 5);
    // The five BOS WebSockets count as signed on; the login connections are gone.
    assert.equal(running.oscar.limiter.open.unauthenticated, 0);
    assert.equal(running.oscar.limiter.refused['address-unauthenticated'], 0);
    for (const s of sessions) s.bos.close();
  });
});

describe('OSCAR over WebSocket: the per-address cap holds under a race', { timeout: 120_000 }, () => {
  const srv = inProcessServer({
    // A long unauthenticated timeout: on a loaded host the twelve TLS handshakes can take longer than a short one,
    // which would free a slot mid-race and let a thirteenth-in-time racer in (a timing test, not a cap test).
    engine: { unauthenticatedTimeoutMs: 120_000 }, webSocket: { maxUnauthenticatedPerAddress: 2 },
  });

  it('the cap holds when many upgrades from one address race', async () => {
    const { running, caPem } = srv;
    const base = `https://127.0.0.1:${running.ports.https}`;
    const gauge = async (): Promise<number> => Number(/certim_ws_unauthenticated (\d+)/.exec((await fetchPage(`${base}/metrics`, caPem)).body)?.[1]);
    assert.equal(await gauge(), 0);
    const racers = Array.from({ length: 12 }, () => new RawWs(`wss://127.0.0.1:${running.ports.https}/oscar`, caPem, base));
    const outcomes = await Promise.all(racers.map((r) => r.opened.then(() => 'open', (e: { status?: number }) => String(e.status))));
    assert.equal(outcomes.filter((o) => o === 'open').length, 2, outcomes.join(','));
    assert.equal(outcomes.filter((o) => o === '503').length, 10, outcomes.join(','));
    assert.equal(await gauge(), 2);
    const open = racers.filter((_, i) => outcomes[i] === 'open');
    for (const r of open) r.ws.close();
    await Promise.all(open.map((r) => r.closed));
  });
});

describe('OSCAR over WebSocket: the HTTPS deadlines end with the upgrade', { timeout: 120_000 }, () => {
  const srv = inProcessServer({
    // Short HTTP deadlines, so "past the deadline" is a matter of milliseconds.
    http: { headersTimeoutMs: 300, keepAliveTimeoutMs: 100, requestTimeoutMs: 600 },
  }, ['wendy', 'wendy-pw']);

  it('a signed-on WebSocket outlives the header deadline of its TLS connection (it was cut at 10 s before)', async () => {
    const { running, caPem } = srv;
    const origin = `https://127.0.0.1:${running.ports.https}`;
    const wendy = await signOn({
      screenName: 'wendy', password: 'wendy-pw', server: { host: '127.0.0.1', port: running.ports.https },
      transport: webSocketTransportFactory({ WebSocket: nodeWebSocket(caPem, origin) }), capabilities: [], buddies: [], handlers: {},
    });
    // An idle TLS connection opened after the sign-on: the server closes it at the header deadline, which therefore
    // has passed for the WebSocket's connection too (it was armed earlier, by the same clock).
    const idle = tlsConnect({ host: '127.0.0.1', port: running.ports.https, ca: caPem });
    idle.on('error', () => {});
    await new Promise<void>((resolve) => idle.once('close', () => resolve()));
    // A round trip on the WebSocket: the server still answers on it (a feedbag query, docs/protocol.md §3.9).
    const reply = await wendy.bos.request(FEEDBAG_FAMILY, FeedbagSubtype.QUERY, new Uint8Array(0));
    assert.equal(reply.subtype, FeedbagSubtype.REPLY);
    assert.equal(wendy.bos.isClosed, false);
    assert.equal(running.oscar.engine.registry.sessionsOf('wendy').length, 1);
    wendy.bos.close();
  });
});
