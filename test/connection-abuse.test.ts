/**
 * Connection-level abuse over real sockets: the HTTPS listener closes connections that never start (or never
 * finish) their TLS handshake, and requests whose headers trickle in, within its deadlines; every listener caps
 * unauthenticated connections per client address (other addresses are unaffected) and the total below the
 * descriptor limit. Short limits are passed in so the test needs no long sleeps.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { startHttpsListener, type HttpsListener } from '../src/server/http/https-listener.js';
import type { HttpPorts } from '../src/server/http/http-ports.js';
import { ConnectionLimiter } from '../src/server/net/connection-limits.js';
import { FlapChannel } from '../src/wire/flap.js';
import { withOscarFixture } from './support/oscar-server-fixture.js';
import { TestConnection, signOn } from './support/oscar-test-client.js';

let dir = '';
let cert = '';
let key = '';
let https: HttpsListener;
const limiter = new ConnectionLimiter({ perAddressUnauthenticated: 4 });
const echo = new WebSocketServer({ noServer: true });

const ports: HttpPorts = {
  est: {
    cacerts: async () => ({ status: 200, contentType: 'text/plain', body: 'x' }),
    simpleEnroll: async () => ({ status: 500, contentType: 'text/plain', body: 'x' }),
    simpleReenroll: async () => ({ status: 500, contentType: 'text/plain', body: 'x' }),
  },
  checkPassword: async () => 'bad-credentials',
  checkClientCertificate: async () => ({ ok: false, reason: 'none' }),
  crl: async () => new Uint8Array(),
  metrics: () => ({}),
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certim-conn-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'),
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1'], { stdio: 'ignore' });
  cert = readFileSync(join(dir, 'c.pem'), 'utf8');
  key = readFileSync(join(dir, 'k.pem'), 'utf8');
  https = await startHttpsListener({
    host: '127.0.0.1', port: 0, certPem: cert, keyPem: key, clientCaPem: cert, ports, limiter,
    limits: { handshakeTimeoutMs: 400, headersTimeoutMs: 400, requestTimeoutMs: 1000, keepAliveTimeoutMs: 300 },
    // An echo WebSocket stands in for the OSCAR endpoint: only the listener's deadlines are under test here.
    onUpgrade: (req, socket, head) => echo.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m: Buffer) => ws.send(m))),
  });
});

after(async () => {
  await https?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Resolves with the ms until `socket` closes. */
function closedAfter(socket: Socket, t0 = Date.now()): Promise<number> {
  socket.on('error', () => {});
  return new Promise((resolve) => socket.once('close', () => resolve(Date.now() - t0)));
}

function healthz(localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: https.port, path: '/healthz', ca: cert, servername: 'localhost', localAddress, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

test('HTTPS: a silent TCP connection and a stalled ClientHello are closed by the handshake deadline', async () => {
  const silent = tcpConnect({ host: '127.0.0.1', port: https.port, localAddress: '127.0.0.40' });
  const stalled = tcpConnect({ host: '127.0.0.1', port: https.port, localAddress: '127.0.0.40' }, () => stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])));
  const [a, b] = await Promise.all([closedAfter(silent), closedAfter(stalled)]);
  assert.ok(a >= 350 && a < 3000, `silent closed after ${a} ms`);
  assert.ok(b >= 350 && b < 3000, `stalled handshake closed after ${b} ms`);
});

test('HTTPS: headers trickled one byte at a time do not extend the header deadline', async () => {
  const from = { localAddress: '127.0.0.41' }; // (ConnectionOptions' type lacks localAddress; net.connect takes it)
  const s = tlsConnect({ host: '127.0.0.1', port: https.port, ca: cert, servername: 'localhost', ...from });
  await new Promise<void>((r) => s.once('secureConnect', () => r()));
  const t0 = Date.now();
  const line = 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n';
  let i = 0;
  const drip = setInterval(() => { if (!s.destroyed && i < line.length) s.write(line[i++]!); }, 50);
  const ms = await closedAfter(s, t0);
  clearInterval(drip);
  assert.ok(ms >= 350 && ms < 2000, `closed after ${ms} ms`);
  assert.ok(i < line.length, 'closed before the headers were complete');
});

test('HTTPS: a normal request still works, and keeps working on a kept-alive connection', async () => {
  assert.equal(await healthz('127.0.0.42'), 200);
});

test('HTTPS: a WebSocket outlives the header and request deadlines (they stop at the upgrade)', async () => {
  const ws = new WebSocket(`wss://127.0.0.1:${https.port}/oscar`, { ca: cert, localAddress: '127.0.0.43' });
  const closed = new Promise<number>((resolve) => ws.once('close', resolve));
  await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  // Past every HTTP deadline armed for this connection (header 400 ms from the handshake, request 1000 ms).
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(ws.readyState, WebSocket.OPEN, 'still open');
  const back = new Promise<string>((resolve) => ws.once('message', (m: Buffer) => resolve(m.toString())));
  ws.send('still here');
  assert.equal(await back, 'still here');
  ws.close();
  assert.equal(await closed, 1005);
});

test('OSCAR over TLS: silent and stalled handshakes are closed by the handshake deadline; a real client still signs on', async () => {
  await withOscarFixture({ users: [['tina', 'pw']], tls: { key, cert }, engine: { config: { unauthenticatedTimeoutMs: 400 } } }, async (fx) => {
    const silent = tcpConnect({ host: '127.0.0.1', port: fx.tlsPort, localAddress: '127.0.0.43' });
    const stalled = tcpConnect({ host: '127.0.0.1', port: fx.tlsPort, localAddress: '127.0.0.43' }, () => stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])));
    const [a, b] = await Promise.all([closedAfter(silent), closedAfter(stalled)]);
    assert.ok(a >= 350 && a < 3000, `silent closed after ${a} ms`);
    assert.ok(b >= 350 && b < 3000, `stalled handshake closed after ${b} ms`);
    const tina = await signOn({ port: fx.tlsPort, tlsCa: cert, localAddress: '127.0.0.44' }, 'tina', 'pw', 'tls-password');
    tina.conn.close();
  });
});

test('per-address cap: idle connections from one address fill its slots; other addresses are served', async () => {
  const idle = Array.from({ length: 4 }, () => tcpConnect({ host: '127.0.0.1', port: https.port, localAddress: '127.0.0.50' }));
  await Promise.all(idle.map((s) => new Promise((r) => s.once('connect', r))));
  await new Promise((r) => setTimeout(r, 50));
  const fifth = tcpConnect({ host: '127.0.0.1', port: https.port, localAddress: '127.0.0.50' });
  const ms = await closedAfter(fifth);
  assert.ok(ms < 300, `refused at once (${ms} ms), not at the handshake deadline`);
  assert.ok(limiter.refused['address-unauthenticated'] >= 1);
  assert.equal(await healthz('127.0.0.51'), 200, 'another address is served while .50 is full');
  for (const s of idle) s.destroy();
});

test('OSCAR: unauthenticated connections are capped per address; a signed-on session frees its slot', async () => {
  const small = new ConnectionLimiter({ perAddressUnauthenticated: 2 });
  await withOscarFixture({ users: [['sam', 'pw']], limiter: small }, async (_fx, ep) => {
    const from = { ...ep, localAddress: '127.0.0.60' };
    const a = await TestConnection.open(from);
    const b = await TestConnection.open(from);
    await a.nextFrame((f) => f.channel === FlapChannel.SignOn);
    await b.nextFrame((f) => f.channel === FlapChannel.SignOn);
    const c = await TestConnection.open(from);
    await c.closed;
    assert.equal(small.refused['address-unauthenticated'], 1);
    const other = await TestConnection.open({ ...ep, localAddress: '127.0.0.61' });
    await other.nextFrame((f) => f.channel === FlapChannel.SignOn);
    a.close();
    b.close();
    other.close();
    await Promise.all([a.closed, b.closed, other.closed]);
    for (let i = 0; i < 50 && small.open.total > 0; i++) await new Promise((r) => setTimeout(r, 10));
    // Sign on (login connection + BOS connection): the BOS connection counts as authenticated.
    const sam = await signOn(from, 'sam', 'pw', 'md5-strong');
    for (let i = 0; i < 50 && small.open.unauthenticated > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(small.open, { total: 1, unauthenticated: 0 });
    const x = await TestConnection.open(from);
    const y = await TestConnection.open(from);
    await x.nextFrame((f) => f.channel === FlapChannel.SignOn);
    await y.nextFrame((f) => f.channel === FlapChannel.SignOn);
    x.close();
    y.close();
    sam.conn.close();
  });
});

test('limiter: the total stays below the descriptor limit; unauthenticated connections get only a share of it', () => {
  const l = new ConnectionLimiter({ maxTotal: 20_000, perAddressUnauthenticated: 1000, perAddressTotal: 1000 }, 1024);
  assert.equal(l.limits.maxTotal, 1024 - 128);
  const tickets = [];
  for (let i = 0; i < 1000; i++) {
    const t = l.admit(`10.0.${i >> 8}.${i & 255}`);
    if (typeof t === 'string') {
      assert.equal(t, 'global-unauthenticated');
      break;
    }
    tickets.push(t);
  }
  assert.equal(tickets.length, Math.ceil(896 * 0.75));
  for (const t of tickets.slice(0, 300)) t.authenticated();
  const more = l.admit('10.9.9.9');
  assert.notEqual(typeof more, 'string', 'authenticated sessions free unauthenticated slots');
  for (const t of tickets) t.release();
  assert.deepEqual(l.open, { total: 1, unauthenticated: 1 });
});
