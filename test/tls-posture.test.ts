/**
 * TLS and secrets posture of a real `certim server` process, checked with `openssl s_client` on both TLS listeners
 * (OSCAR over TLS and HTTPS): TLS 1.2+ only, ECDHE with AEAD ciphers only (static RSA, CBC and DHE refused), no
 * renegotiation (secure or legacy); and on disk: the database files are 0600, the CA root passphrase is nowhere in
 * the data directory.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type RunningCli, type ServerReady } from './support/cli-harness.js';

let tmp = '';
let dataDir = '';
let server: RunningCli | undefined;
let ready: ServerReady;

before(async () => {
  if (spawnSync('openssl', ['version']).status !== 0) throw new Error('openssl is required by this test (apt-get install -y openssl)');
  tmp = mkdtempSync(join(tmpdir(), 'certim-tls-'));
  dataDir = join(tmp, 'data');
  ({ cli: server, ready } = await startServerProcess(dataDir));
});

after(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs s_client against a port with extra args; `input` is what the interactive client reads (e.g. "R\n"). */
function sClient(port: number, args: string[], input = ''): { ok: boolean; out: string } {
  const r = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', join(dataDir, 'ca', 'root.crt'), '-servername', 'localhost', ...args], {
    input, encoding: 'latin1', timeout: 20_000,
  });
  const out = `${r.stdout}${r.stderr}`;
  return { ok: r.status === 0 && /Cipher is (?!\(NONE\))/.test(out), out };
}

const listeners = (): Array<[string, number]> => [['OSCAR over TLS', ready.oscarTls], ['HTTPS', ready.https]];

test('TLS 1.2 and 1.3 with ECDHE + AEAD are accepted, and the certificate verifies against the pinned root', () => {
  for (const [name, port] of listeners()) {
    const t12 = sClient(port, ['-tls1_2']);
    assert.ok(t12.ok, `${name}: ${t12.out}`);
    assert.match(t12.out, /Cipher is ECDHE-(RSA|ECDSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)/, name);
    assert.match(t12.out, /Verify return code: 0 \(ok\)/, name);
    const t13 = sClient(port, ['-tls1_3']);
    assert.ok(t13.ok, `${name}: ${t13.out}`);
    assert.match(t13.out, /TLSv1\.3, Cipher is TLS_/, name);
  }
});

test('static-RSA, CBC and DHE suites and TLS 1.0/1.1 are refused', () => {
  for (const [name, port] of listeners()) {
    for (const cipher of ['AES128-SHA', 'AES256-GCM-SHA384', 'AES128-SHA256', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA384', 'DHE-RSA-AES128-GCM-SHA256']) {
      const r = sClient(port, ['-tls1_2', '-cipher', cipher]);
      assert.equal(r.ok, false, `${name} accepted ${cipher}`);
      assert.match(r.out, /handshake failure|no cipher/i, `${name} ${cipher}`);
    }
    for (const v of ['-tls1', '-tls1_1']) {
      const r = sClient(port, [v, '-cipher', 'DEFAULT@SECLEVEL=0']);
      assert.equal(r.ok, false, `${name} accepted ${v}`);
    }
  }
});

test('client-initiated renegotiation is refused (secure and legacy)', () => {
  for (const [name, port] of listeners()) {
    for (const extra of [[], ['-legacy_renegotiation']]) {
      // s_client renegotiates when it reads "R" on a line; wait for the handshake first.
      const r = spawnSync('sh', ['-c', `(sleep 1; printf 'R\\n'; sleep 2) | openssl s_client -connect 127.0.0.1:${port} -CAfile ${join(dataDir, 'ca', 'root.crt')} -tls1_2 ${extra.join(' ')}`], {
        encoding: 'latin1', timeout: 20_000,
      });
      const out = `${r.stdout}${r.stderr}`;
      assert.match(out, /RENEGOTIATING/, `${name}: the client tried (${extra.join(' ')})`);
      assert.match(out, /no renegotiation/, `${name}: the server refused (${extra.join(' ')}): ${out.slice(-400)}`);
    }
  }
});

test('on disk: database files are 0600, the CA root passphrase is in no file of the data directory', () => {
  const db = readdirSync(dataDir).filter((f) => f.startsWith('certim.db'));
  assert.ok(db.includes('certim.db') && db.includes('certim.db-wal'), db.join(','));
  for (const f of db) assert.equal(statSync(join(dataDir, f)).mode & 0o777, 0o600, f);
  const ca = readdirSync(join(dataDir, 'ca'));
  assert.ok(!ca.includes('root.pass'), ca.join(','));
  assert.ok(ca.includes('root.key'));
  // The issuing passphrase (kept for unattended starts) does not open the root key.
  const r = spawnSync('openssl', ['pkcs8', '-in', join(dataDir, 'ca', 'root.key'), '-passin', `file:${join(dataDir, 'ca', 'issuing.pass')}`], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(readFileSync(join(dataDir, 'ca', 'root.key'), 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
});
