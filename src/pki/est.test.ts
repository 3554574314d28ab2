import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCertificateAuthority, type CertificateAuthority } from './ca.js';
import { MemoryCertificateLedger } from './ledger-memory.js';
import { estCaCerts, estSimpleEnroll, estSimpleReenroll } from './est.js';
import { decodeCertsOnly } from './certs-only.js';
import { parseCertificate } from './x509-parse.js';
import { buildCsr } from './csr.js';
import { generateRsaKeyPair } from './keys.js';
import { toPem } from './asn1/der.js';

const dir = mkdtempSync(join(tmpdir(), 'certim-est-'));
let ca: CertificateAuthority;
let key2048: string;

function ossl(args: string[], input?: string | Uint8Array): string {
  return execFileSync('openssl', args, { cwd: dir, input }).toString();
}

before(async () => {
  ca = await openCertificateAuthority({ dataDir: dir, domain: 'example.org', ledger: new MemoryCertificateLedger(), env: {}, warn: () => {}, issuingKeyBits: 2048 });
  key2048 = join(dir, 'k.pem');
  ossl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key2048]);
});

/** The RFC 7030 body an `openssl req ... -outform DER | base64` pipeline produces. */
function opensslCsrBody(cn: string, extra: string[] = [], key = key2048): Uint8Array {
  const derCsr = execFileSync('openssl', ['req', '-new', '-key', key, '-subj', `/CN=${cn}`, '-outform', 'DER', ...extra]);
  return new Uint8Array(Buffer.from(derCsr.toString('base64').replace(/.{64}/g, '$&\n')));
}

test('cacerts: base64 certs-only PKCS#7 that openssl pkcs7 reads (issuing + root)', () => {
  const r = estCaCerts(ca);
  assert.equal(r.status, 200);
  assert.equal(r.contentType, 'application/pkcs7-mime');
  const derBytes = Buffer.from(r.body, 'base64');
  const printed = ossl(['pkcs7', '-inform', 'DER', '-print_certs', '-noout'], derBytes);
  assert.match(printed, /certim Issuing CA/);
  assert.match(printed, /certim Root CA/);
});

test('simpleenroll with an openssl req CSR: issued cert names the account, openssl verifies it', async () => {
  const body = opensslCsrBody('Bob Smith', ['-addext', 'keyUsage=critical,keyEncipherment']);
  const r = await estSimpleEnroll(ca, 'bobsmith', body);
  assert.equal(r.status, 200, r.reason);
  assert.equal(r.contentType, 'application/pkcs7-mime; smime-type=certs-only');
  const certs = decodeCertsOnly(new Uint8Array(Buffer.from(r.body, 'base64')));
  assert.equal(certs.length, 1);
  const c = parseCertificate(certs[0]!);
  assert.equal(c.subjectCN, 'Bob Smith');
  assert.deepEqual(c.sanUris, ['im:bobsmith@example.org']);
  assert.deepEqual(c.keyUsage, ['keyEncipherment']);
  const pem = ossl(['pkcs7', '-inform', 'DER', '-print_certs'], Buffer.from(r.body, 'base64'));
  writeFileSync(join(dir, 'bob.pem'), pem);
  writeFileSync(join(dir, 'root.pem'), toPem('CERTIFICATE', ca.rootCertificate.der));
  writeFileSync(join(dir, 'issuing.pem'), toPem('CERTIFICATE', ca.issuingCertificate.der));
  const v = spawnSync('openssl', ['verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', '-purpose', 'smimeencrypt', 'bob.pem'], { cwd: dir, encoding: 'utf8' });
  assert.equal(v.status, 0, v.stdout + v.stderr);
});

test('a CSR without keyUsage gets a common certificate (numcerts 1 profile)', async () => {
  const r = await estSimpleEnroll(ca, 'Bob Smith', opensslCsrBody('bobsmith'));
  assert.equal(r.status, 200, r.reason);
  const c = parseCertificate(decodeCertsOnly(new Uint8Array(Buffer.from(r.body, 'base64')))[0]!);
  assert.deepEqual(c.keyUsage, ['digitalSignature', 'nonRepudiation', 'keyEncipherment']);
});

test('refusals: other screen name 403, no auth 401, weak key 400, bad PoP 400, garbage 400, huge 413', async () => {
  const other = await estSimpleEnroll(ca, 'alice', opensslCsrBody('Bob Smith'));
  assert.equal(other.status, 403);
  assert.match(other.reason!, /bobsmith.*alice/);
  const noAuth = await estSimpleEnroll(ca, undefined, opensslCsrBody('Bob Smith'));
  assert.equal(noAuth.status, 401);
  assert.match(noAuth.headers['WWW-Authenticate'] ?? '', /^Basic/);
  const weak = join(dir, 'weak.pem');
  ossl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', weak]);
  const w = await estSimpleEnroll(ca, 'bobsmith', opensslCsrBody('bobsmith', [], weak));
  assert.equal(w.status, 400);
  assert.match(w.reason!, /1024/);
  const k = await generateRsaKeyPair(2048);
  const csr = buildCsr({ screenName: 'bobsmith', privateKey: k.privateKey });
  csr[csr.length - 3]! ^= 0xff;
  const pop = await estSimpleEnroll(ca, 'bobsmith', csr);
  assert.equal(pop.status, 400);
  assert.match(pop.reason!, /proof of possession/);
  assert.equal((await estSimpleEnroll(ca, 'bobsmith', new Uint8Array(Buffer.from('hello!')))).status, 400);
  assert.equal((await estSimpleEnroll(ca, 'bobsmith', new Uint8Array(70_000).fill(0x41))).status, 413);
  const sanMismatch = await estSimpleEnroll(ca, 'bobsmith', opensslCsrBody('bobsmith', ['-addext', 'subjectAltName=URI:im:mallory@example.org']));
  assert.equal(sanMismatch.status, 403);
});

test('simplereenroll: authenticated by the current (signing) certificate; a revoked one is refused', async () => {
  const k = await generateRsaKeyPair(2048);
  const current = await ca.issueUserCertificate(k.publicKey, 'Carol', 'sign');
  const r = await estSimpleReenroll(ca, current.der, opensslCsrBody('carol', ['-addext', 'keyUsage=critical,digitalSignature,nonRepudiation']));
  assert.equal(r.status, 200, r.reason);
  const other = await estSimpleReenroll(ca, current.der, opensslCsrBody('dave'));
  assert.equal(other.status, 403);
  assert.equal((await estSimpleReenroll(ca, undefined, opensslCsrBody('carol'))).status, 401);
  await ca.revoke(current.certificate.serial, 'superseded');
  const rev = await estSimpleReenroll(ca, current.der, opensslCsrBody('carol'));
  assert.equal(rev.status, 403);
  assert.match(rev.reason!, /revoked/);
});
