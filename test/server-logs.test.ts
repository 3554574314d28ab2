/**
 * Operator logs and admin commands against a real `certim server` process and real CLI processes:
 *
 * - a scripted session (enroll, sign-on, secure IM, failed logins, a throttled account, unlock, revoke on the
 *   running server) produces the expected JSON events on stderr — one object per line, stable event names — and
 *   none of the random markers used as passwords, passphrases and message text appears in the log;
 * - `admin sessions` lists who is online, `admin user locked|unlock` reads and clears the running server's
 *   throttle, `admin cert revoke` takes effect at once (CRL, Locate withdrawal);
 * - a 17/02 screen name carrying a newline and a forged JSON object stays inside one encoded field;
 * - a flood of identical failures costs a bounded number of lines, with the count written at shutdown.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { openStore } from '../src/store/index.js';
import { adminSocketPath } from '../src/server/admin/admin-protocol.js';
import { LoginError } from '../src/wire/families/bucp.js';
import { DEFAULT_REPEAT_LIMITS } from '../src/server/log-repeat.js';
import { runCli, TestServer, TestUser } from './support/cli-harness.js';
import { login, signOn } from './support/oscar-test-client.js';
import { encodeSetInfo } from '../src/wire/families/locate.js';

function marker(what: string): string {
  return `${what}-${randomBytes(8).toString('hex')}`;
}

type LogLine = Record<string, unknown> & { event: string; level: string };

/** POSTs to the server's EST simpleenroll with HTTP Basic credentials, trusting only its CA; resolves the status. */
function estEnroll(server: TestServer, user: string, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.httpsUrl}/.well-known/est/simpleenroll`, {
      method: 'POST',
      ca: readFileSync(join(server.dataDir, 'ca', 'root.crt')),
      headers: { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, 'Content-Type': 'application/pkcs10' },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end('not a CSR');
  });
}

describe('operator logs and admin commands on a running server', { timeout: 600_000 }, () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  const secrets: string[] = [];

  /** Every stderr line of the server, parsed; fails on any line that is not one JSON object. */
  const logLines = (): LogLine[] =>
    server.cli.stderr.split('\n').filter((l) => l.length > 0).map((l) => {
      try {
        return JSON.parse(l) as LogLine;
      } catch {
        throw new Error(`not a JSON log line: ${l}`);
      }
    });
  const events = (name: string): LogLine[] => logLines().filter((l) => l.event === name);
  const waitForEvent = (name: string, pred: (l: LogLine) => boolean = () => true): Promise<void> =>
    server.cli.waitFor(() => events(name).some(pred), `log event ${name}`, 30_000);
  const admin = (...args: string[]) => runCli(['admin', ...args, '--data-dir', server.dataDir]);

  before(async () => {
    server = await TestServer.start();
    alice = new TestUser('alice', join(server.tmp, 'alice'), marker('alice-password'), marker('alice-passphrase'));
    bob = new TestUser('bob', join(server.tmp, 'bob'), marker('bob-password'), marker('bob-passphrase'));
    secrets.push(alice.password, alice.passphrase, bob.password, bob.passphrase);
    await server.addUser('alice', alice.password);
    await server.addUser('bob', bob.password);
    await server.addUser('carol', 'carol-password-1', { legacyLogin: true });
  });

  after(async () => {
    await server?.stop();
  });

  it('the admin socket is private: directory 0700, socket 0600', () => {
    const path = adminSocketPath(server.dataDir);
    assert.equal(statSync(join(server.dataDir, 'admin')).mode & 0o777, 0o700);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.ok(statSync(path).isSocket());
    const ready = events('server.ready')[0];
    assert.equal(ready?.adminSocket, path);
  });

  it('enrollment, sign-on, admin sessions and a secure IM are logged as events, without the text', async () => {
    for (const u of [alice, bob]) assert.equal((await u.keysInit(server)).code, 0);
    await waitForEvent('cert.issued', (l) => l.screenName === 'bob');
    assert.deepEqual(events('cert.issued').filter((l) => l.screenName === 'alice').map((l) => l.purpose).sort(), ['encrypt', 'sign']);
    assert.ok(events('login.ok').some((l) => l.screenName === 'alice' && l.via === 'est'), 'EST Basic login logged');

    const listen = bob.start(['listen', '--json', '--count', '1']);
    try {
      await listen.waitFor((_o, e) => e.includes('waiting for IMs'), 'bob signed on');
      const signOn = events('session.sign_on').find((l) => l.screenName === 'bob');
      assert.ok(signOn, 'session.sign_on for bob');
      assert.equal(signOn.address, '127.0.0.1');
      assert.equal(signOn.tls, true);
      assert.equal(typeof signOn.clientId, 'string');
      assert.equal(signOn.level, 'info');
      const loginOk = events('login.ok').find((l) => l.screenName === 'bob' && l.via === 'oscar');
      assert.deepEqual([loginOk?.via, loginOk?.method, loginOk?.tls], ['oscar', 'password', true]);

      await waitForEvent('session.sign_off', (l) => l.screenName === 'alice'); // her keys init session is over
      const sessions = await admin('sessions', '--json');
      assert.equal(sessions.code, 0, sessions.stderr);
      const online = JSON.parse(sessions.stdout) as Array<{ screenName: string; tls: boolean; address: string; clientId: string }>;
      assert.deepEqual(online.map((s) => [s.screenName, s.tls, s.address]), [['bob', true, '127.0.0.1']]);
      assert.equal(online[0]!.clientId, signOn.clientId);
      const table = await admin('sessions');
      assert.match(table.stdout, /^bob\s+127\.0\.0\.1\s+yes/m);

      const text = marker('secret-message-text');
      secrets.push(text);
      const sent = await alice.run(['send', 'bob', text]);
      assert.equal(sent.code, 0, sent.stderr);
      const done = await listen.finish();
      assert.equal(done.code, 0, done.stderr);
      assert.equal(listen.jsonLines()[0]?.text, text);
    } finally {
      if (listen.child.exitCode === null) listen.child.kill('SIGKILL');
    }
    await waitForEvent('session.sign_off', (l) => l.screenName === 'bob');
    const off = events('session.sign_off').find((l) => l.screenName === 'bob')!;
    assert.equal(typeof off.reason, 'string');
    assert.equal(typeof off.seconds, 'number');
  });

  it('failed logins, a throttled account, admin user locked and unlock', async () => {
    const wrong = marker('wrong-password');
    secrets.push(wrong);
    const bad = await alice.run(['send', 'bob', 'never sent'], { CERTIM_PASSWORD: wrong });
    assert.notEqual(bad.code, 0);
    await waitForEvent('login.failed', (l) => l.screenName === 'alice');
    const failed = events('login.failed').find((l) => l.screenName === 'alice')!;
    assert.deepEqual([failed.level, failed.address, failed.tls, failed.via], ['warn', '127.0.0.1', true, 'oscar']);

    // Over EST: a wrong password (401, login.failed via est), and a bad CSR with the right one (400, est.enroll_refused).
    const wrongEst = marker('wrong-est-password');
    secrets.push(wrongEst);
    assert.equal(await estEnroll(server, 'bob', wrongEst), 401);
    await waitForEvent('login.failed', (l) => l.screenName === 'bob' && l.via === 'est');
    assert.equal(await estEnroll(server, 'bob', bob.password), 400);
    await waitForEvent('est.enroll_refused', (l) => l.screenName === 'bob');
    assert.equal(events('est.enroll_refused').find((l) => l.screenName === 'bob')?.status, 400);

    // Carol's guesser runs out of free guesses from its address (3 per account and address, then an exponential
    // delay); the next attempt is refused before any check, and says how long to wait.
    const ep = { port: server.ready.oscar };
    for (let i = 0; i < 3; i++) assert.equal((await login(ep, 'carol', `guess-${i}`, 'md5-strong')).error, LoginError.INVALID_SN_OR_PASSWORD);
    assert.equal((await login(ep, 'carol', 'carol-password-1', 'md5-strong')).error, LoginError.CONNECTING_TOO_OFTEN);
    await waitForEvent('login.throttled', (l) => l.screenName === 'carol');
    assert.equal(events('login.throttled').find((l) => l.screenName === 'carol')?.scope, 'pair');

    const locked = await admin('user', 'locked', '--json');
    assert.equal(locked.code, 0, locked.stderr);
    const entries = JSON.parse(locked.stdout) as Array<{ kind: string; key: string; locked: boolean; failures: number; retryAfterSeconds: number }>;
    const carol = entries.find((e) => e.kind === 'pair' && e.key.endsWith(' carol'));
    // The first delay is 1 s, so whether it is still locked when the admin asks depends on the machine's speed:
    // the refusal itself was proven by login.throttled above; here the count and a consistent state.
    assert.equal(carol?.failures, 3);
    assert.ok(carol!.locked ? carol!.retryAfterSeconds > 0 && carol!.retryAfterSeconds <= 900 : carol!.retryAfterSeconds >= 0);
    const text = await admin('user', 'locked');
    assert.match(text.stdout, /^pair\s+\S+ carol\s+3\s+(locked for \d+s|counted \(clears in \d+s\))$/m);

    const unlock = await admin('user', 'unlock', 'Carol');
    assert.equal(unlock.code, 0, unlock.stderr);
    assert.match(unlock.stdout, /unlocked carol/);
    assert.equal((await login(ep, 'carol', 'carol-password-1', 'md5-strong')).ok, true, 'carol gets in after the unlock');
    await waitForEvent('account.unlocked', (l) => l.screenName === 'carol');
  });

  it('admin cert list spans users; revoke on the running server withdraws the published block at once', async () => {
    const all = await admin('cert', 'list', '--json');
    assert.equal(all.code, 0, all.stderr);
    const certs = JSON.parse(all.stdout) as Array<{ serial: string; screenName: string; purpose: string; revokedAt: string | null }>;
    assert.deepEqual([...new Set(certs.map((c) => c.screenName))].sort(), ['alice', 'bob']);
    assert.ok(!certs.some((c) => c.purpose === 'tls-server'), 'server TLS certificates are not listed');
    const target = certs.find((c) => c.screenName === 'alice' && c.purpose === 'encrypt')!;

    const store = await openStore(`sqlite:${join(server.dataDir, 'certim.db')}`);
    let oldBlock: Uint8Array | null = null;
    try {
      oldBlock = (await store.userInfo.get('alice')).certBlock;
      assert.ok(oldBlock, 'alice published her certificates');
      const r = await admin('cert', 'revoke', target.serial, '--reason', 'keyCompromise');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /on the running server/);
      assert.match(r.stdout, /published certificates were withdrawn/);
      assert.equal((await store.userInfo.get('alice')).certBlock, null, 'the stored block is gone');
    } finally {
      await store.close();
    }
    await waitForEvent('cert.withdrawn', (l) => l.screenName === 'alice');
    const revoked = events('cert.revoked')[0]!;
    assert.deepEqual([revoked.serial, revoked.screenName, revoked.reason, revoked.by], [target.serial, 'alice', 'keyCompromise', 'admin']);
    assert.ok(events('admin.command').some((l) => l.command === 'cert.revoke' && l.ok === true));
    // Alice's certim client now refuses to publish (or use) her revoked certificate; a client that still uploads the
    // old block anyway (a classic client, or a stale copy) is refused, and that is logged.
    const later = marker('after-revocation-text');
    secrets.push(later);
    const refusedSend = await alice.run(['send', 'bob', later]);
    assert.notEqual(refusedSend.code, 0);
    assert.match(refusedSend.stderr, /OWN_CERT_REVOKED|revoked/i);
    const tlsEp = { port: server.ready.oscarTls, tlsCa: readFileSync(join(server.dataDir, 'ca', 'root.crt')) };
    const raw = await signOn(tlsEp, 'alice', alice.password, 'tls-password', { multiConn: 1 });
    try {
      raw.conn.sendSnac(0x0002, 0x0004, encodeSetInfo({ certInfo: oldBlock! }));
      await waitForEvent('cert.upload_refused', (l) => l.screenName === 'alice');
    } finally {
      raw.conn.close();
    }
    assert.equal(events('cert.upload_refused').find((l) => l.screenName === 'alice')?.code, 'REVOKED');

    const again = await admin('cert', 'revoke', 'ffffffffffff');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /UNKNOWN_SERIAL/);
  });

  it('log injection: a screen name with a newline and a forged JSON object stays one encoded field', async () => {
    const forged = 'mallory\n{"level":"info","event":"session.sign_on","screenName":"admin"}\r\u2028x';
    const r = await login({ port: server.ready.oscar }, forged, 'whatever', 'md5-strong');
    assert.equal(r.ok, false);
    await waitForEvent('login.failed', (l) => String(l.screenName).startsWith('mallory'));
    const line = events('login.failed').find((l) => String(l.screenName).startsWith('mallory'))!;
    assert.equal(line.screenName, 'mallory\\x0a{"level":"info","event":"session.sign_on","screenName":"admin"}\\x0d\\u{2028}x');
    assert.ok(!events('session.sign_on').some((l) => l.screenName === 'admin'), 'no forged sign-on line');
    // Every line of the log is exactly one JSON object (logLines throws otherwise).
    assert.ok(logLines().length > 10);
  });

  it('a flood of identical failures is one line plus a count; no secret ever reaches the log', async () => {
    // Lines of the flood: `repeated` marks a summary (a count of suppressed attempts), any other is an attempt's line.
    const flood = (summaries: boolean): Array<Record<string, unknown>> => [...events('login.failed'), ...events('login.throttled')]
      .filter((l) => l.screenName === 'nobody-here' && (typeof l.repeated === 'number') === summaries);
    const t0 = Date.now();
    for (let i = 0; i < 30; i++) await login({ port: server.ready.oscar }, 'nobody-here', 'x', 'md5-strong');
    // Each distinct event (failed, throttled) writes one line when its repeat window opens and, if the flood
    // outlasts the window, one summary line when it closes. A loaded host may stretch the 30 attempts over more
    // than one window: 2 lines within one window, 4 more per further window, never one line per attempt.
    const windows = Math.ceil((Date.now() - t0) / DEFAULT_REPEAT_LIMITS.windowMs);
    const added = flood(false).length + flood(true).length;
    assert.ok(added <= 4 * windows - 2, `at most one line per distinct event per ${DEFAULT_REPEAT_LIMITS.windowMs / 1000} s window, plus its summary (${windows} windows), got ${added}`);

    await server.cli.stop();
    const total = flood(true).reduce((n, l) => n + (l.repeated as number), 0) + flood(false).length;
    assert.equal(total, 30, 'every attempt is accounted for: first lines plus repeat counts written at shutdown');
    assert.ok(events('server.stopped').length === 1);

    const log = server.cli.stderr;
    for (const s of secrets) assert.ok(!log.includes(s), `the log contains a secret marker (${s.split('-')[0]})`);
    assert.doesNotMatch(log, /PRIVATE KEY|BEGIN [A-Z ]+-----/);
    // And the profile's private keys (PEM bodies) never appear either.
    for (const u of [alice, bob]) {
      const pem = readFileSync(join(u.profile, 'signing.key'), 'utf8').split('\n')[1]!;
      assert.ok(!log.includes(pem));
    }
  });
});
