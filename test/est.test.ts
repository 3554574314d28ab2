/**
 * EST (RFC 7030) against a real `certim server` process, with the standard tools as the client of record:
 * `openssl req` makes the CSRs, `curl` talks HTTPS pinned to the CA root only, `openssl pkcs7` / `openssl verify`
 * check what comes back. Covers cacerts, simpleenroll (HTTP Basic), refusals (another screen name, weak key,
 * wrong password, rate limiting), simplereenroll with the TLS client certificate, and the CRL.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../src/server/auth/password.js';
import { databaseUrlForDataDir, openStore } from '../src/store/index.js';
import { startServerProcess, type RunningCli } from './support/cli-harness.js';


let dir = '';
let server: RunningCli | undefined;
let port = 0;
let rootPem = '';

for (const tool of ['openssl', 'curl']) {
  const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  const found = r.status === 0 || (tool === 'openssl' && spawnSync('openssl', ['version']).status === 0);
  if (!found) throw new Error(`${tool} is required by the EST test (install it: apt-get install -y ${tool})`);
}

function f(name: string): string {
  return join(dir, name);
}

/** Runs a tool; throws with its stderr on failure. */
function run(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr ?? ''}${err.stdout ?? ''}${err.message}`);
  }
}

interface CurlResult {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** curl against the server, trusting only the pinned CA root. */
function curl(path: string, extra: string[] = []): CurlResult {
  const out = f(`resp-${Math.random().toString(36).slice(2)}`);
  const hdr = `${out}.h`;
  const code = run('curl', ['-sS', '--cacert', f('root.pem'), '-o', out, '-D', hdr, '-w', '%{http_code}', ...extra, `https://127.0.0.1:${port}${path}`]);
  const headers: Record<string, string> = {};
  for (const line of readFileSync(hdr, 'utf8').split(/\r?\n/)) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (m) headers[m[1]!.toLowerCase()] = m[2]!;
  }
  return { status: Number(code), headers, body: readFileSync(out) };
}

/** A base64 DER CSR (RFC 7030 §4.2.1) for /CN=<cn> with a new RSA key of `bits`; the key goes to <name>.key. */
function makeCsr(name: string, cn: string, bits = 2048): string {
  run('openssl', ['req', '-new', '-newkey', `rsa:${bits}`, '-nodes', '-keyout', f(`${name}.key`), '-subj', `/CN=${cn}`, '-outform', 'DER', '-out', f(`${name}.csr.der`)]);
  const b64 = f(`${name}.csr.b64`);
  writeFileSync(b64, readFileSync(f(`${name}.csr.der`)).toString('base64'));
  return b64;
}

function enroll(user: string, password: string, csrB64: string): CurlResult {
  return curl('/.well-known/est/simpleenroll', ['--user', `${user}:${password}`, '--data-binary', `@${csrB64}`, '-H', 'Content-Type: application/pkcs10']);
}

/** Decodes a base64 certs-only PKCS#7 response with openssl; returns the PEM certificates it holds. */
function printCerts(body: Buffer, name: string): string {
  writeFileSync(f(`${name}.p7.der`), Buffer.from(body.toString('latin1').replace(/\s+/g, ''), 'base64'));
  return run('openssl', ['pkcs7', '-inform', 'DER', '-in', f(`${name}.p7.der`), '-print_certs']);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certim-est-'));
  // Accounts are created in the server's database before it starts (the admin CLI is another module's test).
  const store = await openStore(databaseUrlForDataDir(dir));
  try {
    for (const [sn, pw] of [['Alice', 'alice-pw'], ['carol', 'carol-pw'], ['dave', 'dave-pw']] as const) {
      await store.accounts.create({ screenName: sn, passwordHash: await hashPassword(pw) });
    }
  } finally {
    await store.close();
  }
  const started = await startServerProcess(dir);
  server = started.cli;
  port = started.ready.https;
  rootPem = readFileSync(join(dir, 'ca', 'root.crt'), 'utf8');
  writeFileSync(f('root.pem'), rootPem); // the pinned root, and nothing else
  writeFileSync(f('issuing.pem'), readFileSync(join(dir, 'ca', 'issuing.crt')));
});

after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('cacerts: the server certificate verifies against the pinned root; the CA certificates come as certs-only PKCS#7', () => {
  const r = curl('/.well-known/est/cacerts');
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'] ?? '', /^application\/pkcs7-mime/);
  assert.equal(r.headers['content-transfer-encoding'], 'base64');
  const pems = printCerts(r.body, 'cacerts');
  assert.equal(pems.match(/BEGIN CERTIFICATE/g)?.length, 2, 'issuing CA + root');
  assert.ok(pems.replace(/\r/g, '').includes(rootPem.replace(/\r/g, '').trim().split('\n').slice(1, 3).join('\n')), 'includes our root');
});

test('simpleenroll with openssl req + curl: 200, and the certificate passes openssl verify', () => {
  const csr = makeCsr('alice', 'Alice');
  const r = enroll('Alice', 'alice-pw', csr);
  assert.equal(r.status, 200, r.body.toString());
  assert.match(r.headers['content-type'] ?? '', /^application\/pkcs7-mime; *smime-type=certs-only/);
  assert.equal(r.headers['content-transfer-encoding'], 'base64');
  const pem = printCerts(r.body, 'alice');
  writeFileSync(f('alice.pem'), pem);
  assert.match(run('openssl', ['verify', '-CAfile', f('root.pem'), '-untrusted', f('issuing.pem'), f('alice.pem')]), /OK/);
  assert.match(run('openssl', ['verify', '-purpose', 'smimesign', '-CAfile', f('root.pem'), '-untrusted', f('issuing.pem'), f('alice.pem')]), /OK/);
  const text = run('openssl', ['x509', '-in', f('alice.pem'), '-noout', '-subject', '-ext', 'subjectAltName']);
  assert.match(text, /CN ?= ?Alice/);
  assert.match(text, /URI:im:alice@/);
  // The issued key is the CSR's key.
  const certPub = run('openssl', ['x509', '-in', f('alice.pem'), '-noout', '-pubkey']);
  const keyPub = run('openssl', ['pkey', '-in', f('alice.key'), '-pubout']);
  assert.equal(certPub, keyPub);
});

test('simpleenroll refuses a CSR for another screen name (403) and a 1024-bit key (400), with reasons', () => {
  const other = enroll('Alice', 'alice-pw', makeCsr('bob', 'bob'));
  assert.equal(other.status, 403);
  assert.match(other.body.toString(), /bob/);
  const weak = enroll('Alice', 'alice-pw', makeCsr('weak', 'Alice', 1024));
  assert.equal(weak.status, 400);
  assert.match(weak.body.toString(), /1024 bits.*2048/);
  const noAuth = curl('/.well-known/est/simpleenroll', ['--data-binary', `@${f('alice.csr.b64')}`, '-H', 'Content-Type: application/pkcs10']);
  assert.equal(noAuth.status, 401);
  assert.match(noAuth.headers['www-authenticate'] ?? '', /^Basic/);
});

test('simplereenroll authenticates with the TLS client certificate (curl --cert/--key)', () => {
  const csr = makeCsr('alice2', 'Alice');
  const r = curl('/.well-known/est/simplereenroll', ['--cert', f('alice.pem'), '--key', f('alice.key'), '--data-binary', `@${csr}`, '-H', 'Content-Type: application/pkcs10']);
  assert.equal(r.status, 200, r.body.toString());
  const pem = printCerts(r.body, 'alice2');
  writeFileSync(f('alice2.pem'), pem);
  assert.match(run('openssl', ['verify', '-CAfile', f('root.pem'), '-untrusted', f('issuing.pem'), f('alice2.pem')]), /OK/);
  const serial = (p: string): string => run('openssl', ['x509', '-in', p, '-noout', '-serial']);
  assert.notEqual(serial(f('alice2.pem')), serial(f('alice.pem')));
  // Without a client certificate: 401. With the certificate but a CSR for someone else: 403.
  const none = curl('/.well-known/est/simplereenroll', ['--data-binary', `@${csr}`, '-H', 'Content-Type: application/pkcs10']);
  assert.equal(none.status, 401);
  const other = curl('/.well-known/est/simplereenroll', ['--cert', f('alice.pem'), '--key', f('alice.key'), '--data-binary', `@${f('bob.csr.b64')}`, '-H', 'Content-Type: application/pkcs10']);
  assert.equal(other.status, 403);
  // A certificate from some other CA is refused with the verifier's reason.
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('self.key'), '-out', f('self.pem'), '-subj', '/CN=Alice', '-days', '1']);
  const self = curl('/.well-known/est/simplereenroll', ['--cert', f('self.pem'), '--key', f('self.key'), '--data-binary', `@${csr}`, '-H', 'Content-Type: application/pkcs10']);
  assert.equal(self.status, 403);
  assert.match(self.body.toString(), /not a trusted CA|untrusted|not acceptable|refused/i);
});

test('CRL is served as DER application/pkix-crl signed by the issuing CA', () => {
  for (const path of ['/crl', '/ca/crl']) {
    const r = curl(path);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/pkix-crl');
    writeFileSync(f('crl.der'), r.body);
    const out = run('openssl', ['crl', '-inform', 'DER', '-in', f('crl.der'), '-noout', '-issuer', '-CAfile', f('issuing.pem')]);
    assert.match(out, /Issuing CA/);
  }
});

test('after revocation the certificate can no longer reenroll, and the served CRL lists it', async () => {
  const serial = run('openssl', ['x509', '-in', f('alice.pem'), '-noout', '-serial']).trim().replace(/^serial=/, '').toLowerCase().replace(/^0+(?=.)/, '');
  // Revoke through the CA ledger in the server's database (what `certim admin cert revoke` does).
  const store = await openStore(databaseUrlForDataDir(dir));
  try {
    assert.equal(await store.ledger.revoke(serial, 'keyCompromise', new Date()), true);
  } finally {
    await store.close();
  }
  const r = curl('/.well-known/est/simplereenroll', ['--cert', f('alice.pem'), '--key', f('alice.key'), '--data-binary', `@${f('alice2.csr.b64')}`, '-H', 'Content-Type: application/pkcs10']);
  assert.equal(r.status, 403);
  assert.match(r.body.toString(), /revoked/);
  const crl = curl('/ca/crl');
  writeFileSync(f('crl2.der'), crl.body);
  const text = run('openssl', ['crl', '-inform', 'DER', '-in', f('crl2.der'), '-noout', '-text']);
  assert.match(text.toLowerCase().replace(/[:\s]/g, ''), new RegExp(`serialnumber${serial}`));
  // The newer certificate is unaffected.
  const ok = curl('/.well-known/est/simplereenroll', ['--cert', f('alice2.pem'), '--key', f('alice2.key'), '--data-binary', `@${f('alice.csr.b64')}`, '-H', 'Content-Type: application/pkcs10']);
  assert.equal(ok.status, 200, ok.body.toString());
});

test('bounded bodies (413), wrong methods (405) and unknown paths (404) get clear text errors', () => {
  writeFileSync(f('big.b64'), 'A'.repeat(70 * 1024));
  const big = enroll('Alice', 'alice-pw', f('big.b64'));
  assert.equal(big.status, 413);
  assert.match(big.body.toString(), /^BODY_TOO_LARGE\n.*65536-byte limit/);
  const get = curl('/.well-known/est/simpleenroll');
  assert.equal(get.status, 405);
  assert.equal(get.headers.allow, 'POST');
  const missing = curl('/.well-known/est/fullcmc');
  assert.equal(missing.status, 404);
  assert.match(missing.body.toString(), /unknown EST operation/);
});

test('health and metrics', () => {
  const h = curl('/healthz');
  assert.equal(h.status, 200);
  assert.equal((JSON.parse(h.body.toString()) as { status: string }).status, 'ok');
  const m = curl('/metrics');
  assert.equal(m.status, 200);
  assert.match(m.body.toString(), /^certim_sessions \d+$/m);
  assert.match(m.body.toString(), /^certim_est_enrollments_total [1-9]\d*$/m);
});

// Last: it spends the address's failure budget.
test('wrong passwords get 401, then 429 with Retry-After; the right password is throttled too while limited', () => {
  const csr = makeCsr('carol', 'carol');
  const first = enroll('carol', 'wrong', csr);
  assert.equal(first.status, 401);
  assert.match(first.body.toString(), /wrong screen name or password/);
  let limited: CurlResult | undefined;
  for (let i = 0; i < 8 && !limited; i++) {
    const r = enroll('carol', `wrong-${i}`, csr);
    if (r.status === 429) limited = r;
    else assert.equal(r.status, 401);
  }
  assert.ok(limited, 'rate-limited within 9 attempts');
  assert.match(limited.headers['retry-after'] ?? '', /^\d+$/);
  assert.equal(enroll('carol', 'carol-pw', csr).status, 429);
  // Another account from the same address is not locked out by carol's failures.
  assert.equal(enroll('dave', 'dave-pw', makeCsr('dave', 'dave')).status, 200);
});
