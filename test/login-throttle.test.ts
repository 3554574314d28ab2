/**
 * Login throttling against a real `certim server` process (docs/protocol.md §2.1): attackers hammer one account in
 * parallel — over OSCAR/TLS and over EST — from loopback addresses of their own (127.0.0.x source addresses), while
 * the real user signs on from another address and gets in. The number of password checks the server actually ran
 * (its `certim_login_checks_total` metric) stays within the documented budget (`pairBudget`), and every refusal
 * says how long to wait. (Beyond 16 concurrent unauthenticated connections per address the connection cap refuses
 * the attacker even earlier, before any TLS handshake; those attempts are counted as refused at connect.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword, makeLegacyVerifier } from '../src/server/auth/password.js';
import { DEFAULT_LOGIN_THROTTLE, pairBudget } from '../src/server/auth/login-throttle.js';
import { databaseUrlForDataDir, openStore } from '../src/store/index.js';
import { startServerProcess, type RunningCli, type ServerReady } from './support/cli-harness.js';
import { login, type Endpoint, type LoginResult } from './support/oscar-test-client.js';

let dir = '';
let server: RunningCli | undefined;
let ready: ServerReady;
let rootPem = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certim-throttle-'));
  const store = await openStore(databaseUrlForDataDir(dir));
  try {
    for (const sn of ['victim', 'target', 'other', 'owner']) {
      await store.accounts.create({ screenName: sn, passwordHash: await hashPassword(`${sn}-right-pw`), legacyVerifier: makeLegacyVerifier(`${sn}-right-pw`) });
    }
  } finally {
    await store.close();
  }
  ({ cli: server, ready } = await startServerProcess(dir));
  rootPem = readFileSync(join(dir, 'ca', 'root.crt'), 'utf8');
});

after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const tlsFrom = (localAddress: string): Endpoint => ({ port: ready.oscarTls, tlsCa: rootPem, localAddress });

/** GET/POST over HTTPS to the server, pinned to its root, from a chosen source address. */
function https(path: string, opts: { method?: string; auth?: string; localAddress?: string; body?: string; cert?: string; key?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port: ready.https, path, method: opts.method ?? 'GET', ca: rootPem, servername: 'localhost', agent: false,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      ...(opts.cert && opts.key ? { cert: opts.cert, key: opts.key } : {}),
      headers: { ...(opts.auth ? { Authorization: `Basic ${Buffer.from(opts.auth).toString('base64')}` } : {}), 'Content-Type': 'application/pkcs10' },
    }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body ?? '');
  });
}

async function checksRun(): Promise<number> {
  const m = await https('/metrics');
  const v = /^certim_login_checks_total (\d+)$/m.exec(m.body);
  assert.ok(v, m.body);
  return Number(v[1]);
}

/** An attempt the connection cap refused before TLS. */
const REFUSED_AT_CONNECT = 'refused-at-connect' as const;

/** Fires `parallel` attempts at once, again and again, until `ms` have passed; returns every result. */
async function hammer<T>(ms: number, parallel: number, attempt: () => Promise<T>): Promise<Array<T | typeof REFUSED_AT_CONNECT>> {
  const out: Array<T | typeof REFUSED_AT_CONNECT> = [];
  const end = Date.now() + ms;
  while (Date.now() < end) out.push(...await Promise.all(Array.from({ length: parallel }, () => attempt().catch(() => REFUSED_AT_CONNECT))));
  return out;
}

test('OSCAR/TLS: one address hammering an account in parallel gets only its budget; the user signs on from another address', { timeout: 120_000 }, async (t) => {
  const before = await checksRun();
  const started = Date.now();
  const attack = hammer(4_000, 40, () => login(tlsFrom('127.0.0.66'), 'victim', 'guess', 'tls-password', { withUrl: true }));
  await new Promise((r) => setTimeout(r, 500)); // mid-attack
  const user = await login(tlsFrom('127.0.0.2'), 'victim', 'victim-right-pw', 'tls-password');
  const all = await attack;
  const elapsed = Date.now() - started;
  const results = all.filter((r): r is LoginResult => r !== REFUSED_AT_CONNECT);
  const atConnect = all.length - results.length;
  assert.equal(user.ok, true, `the real user got in: ${JSON.stringify(user)}`);
  const wrong = results.filter((r) => r.error === 0x0001).length;
  const throttled = results.filter((r) => r.error === 0x0018);
  assert.equal(wrong + throttled.length, results.length, 'every attempt was refused as wrong or throttled');
  assert.ok(results.length >= 20 && throttled.length > 0, `the attacker really hammered (${results.length} attempts reached the login)`);
  assert.ok(wrong <= pairBudget(elapsed), `accepted guesses ${wrong} <= budget ${pairBudget(elapsed)} for ${elapsed} ms`);
  assert.ok(throttled.every((r) => /\?retry-after=\d+&scope=pair$/.test(r.url ?? '')), `the wait is in the error URL: ${throttled[0]?.url}`);
  const ran = (await checksRun()) - before;
  assert.ok(ran <= pairBudget(elapsed) + 1, `password checks run ${ran} <= budget + the user's one`);
  assert.equal(ran, wrong + 1, 'a check ran exactly for every 0x0001 and the user');
  t.diagnostic(`OSCAR/TLS: ${all.length} attempts in ${elapsed} ms: ${atConnect} refused at connect, ${wrong} checked (budget ${pairBudget(elapsed)}), ${throttled.length} throttled`);
});

test('EST: 200 parallel Basic-auth guesses from one address: 429 + Retry-After beyond the budget; the user enrolls from another', { timeout: 120_000 }, async (t) => {
  const before = await checksRun();
  const started = Date.now();
  const attack = Promise.all(Array.from({ length: 200 }, () => https('/.well-known/est/simpleenroll', { method: 'POST', auth: 'target:guess', localAddress: '127.0.0.67' })
    .catch(() => REFUSED_AT_CONNECT)));
  const user = await https('/.well-known/est/simpleenroll', { method: 'POST', auth: 'target:target-right-pw', localAddress: '127.0.0.3', body: 'not a CSR' });
  const all = await attack;
  const elapsed = Date.now() - started;
  const results = all.filter((r) => r !== REFUSED_AT_CONNECT);
  assert.equal(user.status, 400, `authenticated (then the garbage CSR is refused): ${user.status} ${user.body}`);
  const wrong = results.filter((r) => r.status === 401).length;
  const limited = results.filter((r) => r.status === 429);
  assert.equal(wrong + limited.length, results.length, JSON.stringify([...new Set(results.map((r) => r.status))]));
  assert.ok(limited.length >= 10, `the throttle answered 429 (${limited.length})`);
  assert.ok(wrong <= pairBudget(elapsed), `accepted guesses ${wrong} <= ${pairBudget(elapsed)}`);
  assert.ok(limited.every((r) => /^\d+$/.test(String(r.headers['retry-after'])) && Number(r.headers['retry-after']) >= 1));
  assert.match(limited[0]!.body, /RATE_LIMITED\ntoo many failed logins for this account; try again in \d+ s/);
  const ran = (await checksRun()) - before;
  assert.equal(ran, wrong + 1);
  t.diagnostic(`EST: 200 attempts in ${elapsed} ms: ${200 - results.length} refused at connect, ${wrong} checked (budget ${pairBudget(elapsed)}), ${limited.length} got 429`);
});

test('account ceiling: strangers on many addresses exhaust it; the owner still gets in from a proven address, a new one is told to wait', { timeout: 180_000 }, async (t) => {
  // The owner signs on once from 127.0.0.4: that address becomes proven good for 'other'.
  assert.equal((await login(tlsFrom('127.0.0.4'), 'other', 'other-right-pw', 'tls-password')).ok, true);
  const before = await checksRun();
  const burst = DEFAULT_LOGIN_THROTTLE.accountBurst;
  // 50 addresses x 3 free guesses each = 150 attempts; the account ceiling lets only `burst` (+ refill) run.
  const addresses = Array.from({ length: 50 }, (_, i) => `127.0.2.${i + 1}`);
  const results = (await Promise.all(addresses.map(async (a) => {
    const r: LoginResult[] = [];
    for (let i = 0; i < 3; i++) r.push(await login(tlsFrom(a), 'other', `guess-${i}`, 'md5-strong'));
    return r;
  }))).flat();
  const wrong = results.filter((r) => r.error === 0x0001).length;
  assert.ok(wrong >= burst && wrong <= burst + 2, `strangers together: ${wrong} checks (burst ${burst})`);
  assert.equal((await checksRun()) - before, wrong);
  t.diagnostic(`account ceiling: ${results.length} attempts from 50 addresses, ${wrong} checked (burst ${burst})`);
  const stranger = await login(tlsFrom('127.0.0.5'), 'other', 'other-right-pw', 'tls-password', { withUrl: true });
  assert.equal(stranger.error, 0x0018);
  assert.match(stranger.url ?? '', /\?retry-after=\d+&scope=account$/);
  assert.equal((await login(tlsFrom('127.0.0.4'), 'other', 'other-right-pw', 'tls-password')).ok, true, 'the owner is not locked out');
});

test('password-hash work is capped globally: a spraying burst from 60 addresses is refused as busy, the owner still signs on fast', { timeout: 180_000 }, async (t) => {
  // The owner signed on from 127.0.0.8 before: a proven-good address, served first by the hash queue.
  assert.equal((await login(tlsFrom('127.0.0.8'), 'owner', 'owner-right-pw', 'tls-password')).ok, true);
  const before = await checksRun();
  const burst = Promise.all(Array.from({ length: 60 }, (_, a) => Promise.all(Array.from({ length: 3 }, (_, i) =>
    login(tlsFrom(`127.0.3.${a + 1}`), `spray${a}x${i}`, 'guess', 'tls-password').catch(() => REFUSED_AT_CONNECT)))));
  await new Promise((r) => setTimeout(r, 300)); // the burst is in full swing
  const t0 = Date.now();
  const owner = await login(tlsFrom('127.0.0.8'), 'owner', 'owner-right-pw', 'tls-password');
  const ownerMs = Date.now() - t0;
  const all = (await burst).flat();
  const results = all.filter((r): r is LoginResult => r !== REFUSED_AT_CONNECT);
  assert.equal(owner.ok, true);
  const busy = results.filter((r) => r.error === 0x0013).length;
  const checked = results.filter((r) => r.error === 0x0001).length;
  assert.ok(busy > 0, 'some guesses were refused as busy instead of queueing scrypt work');
  // (A guess whose client gave up waiting — the test client's 3 s — may still have been checked.)
  const ran = (await checksRun()) - before;
  assert.ok(ran >= checked + 1 && ran <= all.length - busy + 1, `busy refusals ran no check (${ran} checks)`);
  assert.ok(ownerMs < 3000, `the owner signed on in ${ownerMs} ms`);
  t.diagnostic(`hash gate: ${results.length} guesses from 60 addresses: ${checked} checked, ${busy} refused busy; owner signed on in ${ownerMs} ms`);
});

test('EST: with the account ceiling exhausted by strangers, a request that presents the account\'s valid client certificate still enrolls', { timeout: 180_000 }, async () => {
  // Enroll a certificate for 'target' first (from an address of its own).
  const keyFile = join(dir, 'target.key');
  const csr = execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-subj', '/CN=target', '-outform', 'DER']).toString('base64');
  const enrolled = await https('/.well-known/est/simpleenroll', { method: 'POST', auth: 'target:target-right-pw', localAddress: '127.0.0.70', body: csr });
  assert.equal(enrolled.status, 200, enrolled.body);
  const certPem = execFileSync('openssl', ['pkcs7', '-inform', 'DER', '-print_certs'], { input: Buffer.from(enrolled.body.replace(/\s+/g, ''), 'base64') }).toString();
  const key = readFileSync(keyFile, 'utf8');
  // Strangers on 45 addresses spend the account's ceiling (in waves that fit the hash queue, else most are 503).
  const guesses: Array<number | string> = [];
  for (let wave = 0; wave < 3; wave++) {
    guesses.push(...await Promise.all(Array.from({ length: 15 }, (_, a) => https('/.well-known/est/simpleenroll', { method: 'POST', auth: 'target:guess', localAddress: `127.0.4.${wave * 15 + a + 1}` })
      .then((r) => r.status, (e: Error) => e.message))));
  }
  assert.ok(guesses.filter((g) => g === 429).length >= 10, JSON.stringify(guesses));
  const stranger = await https('/.well-known/est/simpleenroll', { method: 'POST', auth: 'target:target-right-pw', localAddress: '127.0.0.71', body: csr });
  assert.equal(stranger.status, 429, stranger.body);
  assert.match(stranger.body, /for this account/);
  const withCert = await https('/.well-known/est/simpleenroll', { method: 'POST', auth: 'target:target-right-pw', localAddress: '127.0.0.71', body: csr, cert: certPem, key });
  assert.equal(withCert.status, 200, `proven by its client certificate: ${withCert.body}`);
});
