import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, statSync, existsSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { openCertificateAuthority, type CertificateAuthority } from './ca.js';
import { MemoryCertificateLedger } from './ledger-memory.js';
import { generateRsaKeyPair, type RsaKeyPair } from './keys.js';
import { buildCsr, buildCsrPem } from './csr.js';
import { crlToPem, parseCrl } from './crl.js';
import { toPem } from './asn1/der.js';
import { PkiError } from './errors.js';
import { OID } from './oids.js';

const tmp = mkdtempSync(join(tmpdir(), 'certim-ca-'));
const dataDir = join(tmp, 'data');
const ledger = new MemoryCertificateLedger();
const warnings: string[] = [];
const notices: string[] = [];
let ca: CertificateAuthority;
let user: RsaKeyPair;

function openssl(args: string[], input?: string): { ok: boolean; out: string } {
  const r = spawnSync('openssl', args, { input, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}
function file(name: string, content: string): string {
  const f = join(tmp, name);
  writeFileSync(f, content);
  return f;
}

before(async () => {
  [ca, user] = await Promise.all([
    openCertificateAuthority({ dataDir, domain: 'example.org', ledger, env: {}, warn: (m) => warnings.push(m), issuingKeyBits: 2048, rootPassphraseNotice: (p) => notices.push(p) }),
    generateRsaKeyPair(2048),
  ]);
});

test('first start: root RSA-3072 self-signed pathLen 1, issuing CA, root key encrypted, its passphrase shown once and never written', async () => {
  assert.equal(ca.rootCertificate.keyBits, 3072);
  assert.deepEqual(ca.rootCertificate.basicConstraints, { ca: true, pathLen: 1 });
  assert.deepEqual(ca.issuingCertificate.basicConstraints, { ca: true, pathLen: 0 });
  const dir = join(dataDir, 'ca');
  assert.ok(!existsSync(join(dir, 'root.pass')), 'the root passphrase is not in the data directory');
  assert.equal(statSync(join(dir, 'root.key')).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'issuing.pass')).mode & 0o777, 0o600);
  assert.equal(warnings.length, 0);
  assert.equal(notices.length, 1);
  const pass = notices[0]!;
  for (const f of ['root.key', 'issuing.key', 'issuing.pass', 'root.crt', 'issuing.crt']) {
    assert.ok(!readFileSync(join(dir, f), 'utf8').includes(pass), `${f} does not hold the root passphrase`);
  }
  const rootKey = readFileSync(join(dir, 'root.key'), 'utf8');
  assert.match(rootKey, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  assert.doesNotMatch(rootKey, /BEGIN (RSA )?PRIVATE KEY/);
  assert.equal(openssl(['pkcs8', '-in', join(dir, 'root.key'), '-passin', `file:${join(dir, 'issuing.pass')}`]).ok, false, 'the issuing passphrase does not open it');
  const r = openssl(['pkcs8', '-in', join(dir, 'root.key'), '-passin', `pass:${pass}`]);
  assert.ok(r.ok, r.out);
  // the decrypted root key matches the root certificate
  const pub = createPublicKey(createPrivateKey(r.out)).export({ type: 'spki', format: 'der' });
  assert.ok(Buffer.from(pub).equals(Buffer.from(ca.rootCertificate.spki)));
  assert.match(ca.rootFingerprint(), /^[0-9a-f]{64}$/);
  const osslFp = openssl(['x509', '-in', join(dir, 'root.crt'), '-noout', '-fingerprint', '-sha256']).out;
  assert.equal(osslFp.split('=')[1]!.trim().replace(/:/g, '').toLowerCase(), ca.rootFingerprint());
});

test('restart reuses the CA (same fingerprint, no new keys, no notice); a root.pass left by an older certim is reported', async () => {
  const again = await openCertificateAuthority({ dataDir, domain: 'example.org', ledger, env: {}, warn: (m) => warnings.push(m), rootPassphraseNotice: (p) => notices.push(p) });
  assert.equal(again.rootFingerprint(), ca.rootFingerprint());
  assert.equal(again.issuingCertificate.fingerprint256, ca.issuingCertificate.fingerprint256);
  assert.deepEqual([warnings.length, notices.length], [0, 1]);
  const third = await openCertificateAuthority({ dataDir, domain: 'example.org', ledger, env: { CERTIM_CA_PASSPHRASE: 'set later' }, warn: (m) => warnings.push(m) });
  assert.equal(third.rootFingerprint(), ca.rootFingerprint(), 'setting the env var later does not break restarts');
  assert.equal(warnings.length, 0);
  writeFileSync(join(dataDir, 'ca', 'root.pass'), 'old\n', { mode: 0o600 });
  await openCertificateAuthority({ dataDir, domain: 'example.org', ledger, env: {}, warn: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /root\.pass.*usable from the data directory alone.*delete the file/s);
  renameSync(join(dataDir, 'ca', 'root.pass'), join(tmp, 'root.pass.gone'));
});

test('no notice sink: the generated root passphrase is discarded (with a warning); CERTIM_ROOT_PASSPHRASE chooses it', async () => {
  const d = join(tmp, 'sealed');
  const w: string[] = [];
  await openCertificateAuthority({ dataDir: d, domain: 'example.org', ledger: new MemoryCertificateLedger(), env: {}, warn: (m) => w.push(m), issuingKeyBits: 2048 });
  assert.ok(!existsSync(join(d, 'ca', 'root.pass')));
  assert.match(w.join('\n'), /CERTIM_ROOT_PASSPHRASE.*sealed/s);
  const e = join(tmp, 'rootenv');
  await openCertificateAuthority({ dataDir: e, domain: 'example.org', ledger: new MemoryCertificateLedger(), env: { CERTIM_ROOT_PASSPHRASE: 'root only' }, warn: () => assert.fail('no warning'), issuingKeyBits: 2048 });
  assert.ok(openssl(['pkcs8', '-in', join(e, 'ca', 'root.key'), '-passin', 'pass:root only']).ok);
  assert.ok(existsSync(join(e, 'ca', 'issuing.pass')), 'the issuing key still opens unattended');
  assert.ok(!existsSync(join(e, 'ca', 'root.pass')));
});

test('CERTIM_CA_PASSPHRASE: no pass files are written and the keys open with it', async () => {
  const d = join(tmp, 'envdata');
  const c = await openCertificateAuthority({ dataDir: d, domain: 'example.org', ledger: new MemoryCertificateLedger(), env: { CERTIM_CA_PASSPHRASE: 's3cret-ca' }, warn: () => assert.fail('no warning expected'), issuingKeyBits: 2048 });
  assert.ok(!existsSync(join(d, 'ca', 'root.pass')));
  assert.ok(!existsSync(join(d, 'ca', 'issuing.pass')));
  assert.ok(openssl(['pkcs8', '-in', join(d, 'ca', 'root.key'), '-passin', 'pass:s3cret-ca']).ok);
  const c2 = await openCertificateAuthority({ dataDir: d, domain: 'example.org', ledger: new MemoryCertificateLedger(), env: { CERTIM_CA_PASSPHRASE: 's3cret-ca' } });
  assert.equal(c2.rootFingerprint(), c.rootFingerprint());
  await assert.rejects(
    openCertificateAuthority({ dataDir: d, domain: 'example.org', ledger: new MemoryCertificateLedger(), env: { CERTIM_CA_PASSPHRASE: 'not it' } }),
    (e) => PkiError.is(e, 'BAD_PASSPHRASE'),
  );
  await assert.rejects(
    openCertificateAuthority({ dataDir: d, domain: 'example.org', ledger: new MemoryCertificateLedger(), env: {} }),
    (e) => PkiError.is(e, 'BAD_PASSPHRASE') && /CERTIM_CA_PASSPHRASE/.test(e.message),
  );
  assert.ok(!existsSync(join(d, 'ca', 'issuing.pass')), 'no passphrase file invented for an existing key');
});

test('issued encryption / signing certificates pass openssl verify -purpose smimeencrypt / smimesign', async () => {
  const root = file('root.pem', toPem('CERTIFICATE', ca.rootCertificate.der));
  const issuing = file('issuing.pem', toPem('CERTIFICATE', ca.issuingCertificate.der));
  const enc = await ca.issueUserCertificate(buildCsr({ screenName: 'Bob Smith', privateKey: user.privateKey, keyUsage: ['keyEncipherment'] }), 'Bob Smith', 'encrypt');
  const sig = await ca.issueUserCertificate(user.publicKey, 'Bob Smith', 'sign');
  const encF = file('enc.pem', enc.pem);
  const sigF = file('sig.pem', sig.pem);
  for (const [f, purpose] of [[encF, 'smimeencrypt'], [sigF, 'smimesign']] as const) {
    const r = openssl(['verify', '-CAfile', root, '-untrusted', issuing, '-purpose', purpose, f]);
    assert.ok(r.ok && /: OK/.test(r.out), r.out);
  }
  // and the wrong purpose fails in openssl too (so the check above means something)
  assert.ok(!openssl(['verify', '-CAfile', root, '-untrusted', issuing, '-purpose', 'smimesign', encF]).ok);
  const text = openssl(['x509', '-in', encF, '-noout', '-text']).out;
  assert.match(text, /URI:im:bobsmith@example\.org/);
  assert.match(text, /Subject: CN ?= ?Bob Smith/);
  assert.match(text, /E-mail Protection/);
  assert.match(text, /Key Encipherment/);
  assert.match(text, /URI:https:\/\/example\.org\/ca\/crl/);
  assert.equal(enc.certificate.serial.length, 32);
  assert.notEqual(enc.certificate.serial, sig.certificate.serial);
  const days = (enc.certificate.notAfter.getTime() - enc.certificate.notBefore.getTime()) / 86_400_000;
  assert.equal(days, 365);
  const recs = await ledger.listByScreenName('bobsmith');
  assert.equal(recs.length, 2);
  assert.ok((await ca.verify(enc.der, { purpose: 'encrypt', screenName: 'bobsmith' })).ok);
});

test('CSR without proof of possession is refused (BAD_SIGNATURE); weak CSR key is refused (WEAK_KEY)', async () => {
  const csr = buildCsr({ screenName: 'bob', privateKey: user.privateKey, keyUsage: ['keyEncipherment'] });
  csr[csr.length - 5]! ^= 0x40;
  await assert.rejects(ca.issueUserCertificate(csr, 'bob', 'encrypt'), (e) => PkiError.is(e, 'BAD_SIGNATURE'));
  const weakKey = file('weak.key', execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']).toString());
  const weakCsr = execFileSync('openssl', ['req', '-new', '-key', weakKey, '-subj', '/CN=bob']).toString();
  await assert.rejects(ca.issueUserCertificate(weakCsr, 'bob', 'encrypt'), (e) => PkiError.is(e, 'WEAK_KEY'));
});

test('revoke + CRL: openssl accepts the CRL signature and refuses the revoked cert with -crl_check', async () => {
  const c = await ca.issueUserCertificate(user.publicKey, 'carol', 'sign');
  const keep = await ca.issueUserCertificate(user.publicKey, 'carol', 'encrypt');
  await ca.revoke(c.certificate.serial, 'keyCompromise');
  await assert.rejects(ca.revoke('abcdef', 'superseded'), (e) => PkiError.is(e, 'UNKNOWN_SERIAL'));
  const crlDer = await ca.crl();
  const parsed = parseCrl(crlDer);
  assert.equal(parsed.entries.get(c.certificate.serial)?.reason, 'keyCompromise');
  assert.ok(!parsed.entries.has(keep.certificate.serial));
  const crlF = file('ca.crl', crlToPem(crlDer));
  const issuing = file('issuing2.pem', toPem('CERTIFICATE', ca.issuingCertificate.der));
  const chainF = file('chain.pem', toPem('CERTIFICATE', ca.issuingCertificate.der) + toPem('CERTIFICATE', ca.rootCertificate.der));
  assert.ok(openssl(['crl', '-in', crlF, '-CAfile', issuing, '-noout']).out.includes('verify OK'));
  const bad = openssl(['verify', '-CAfile', chainF, '-crl_check', '-CRLfile', crlF, '-purpose', 'smimesign', file('rev.pem', c.pem)]);
  assert.ok(!bad.ok);
  assert.match(bad.out, /revoked/);
  const good = openssl(['verify', '-CAfile', chainF, '-crl_check', '-CRLfile', crlF, '-purpose', 'smimeencrypt', file('keep.pem', keep.pem)]);
  assert.ok(good.ok, good.out);
  const v = await ca.verify(c.der, { purpose: 'sign', screenName: 'carol' });
  assert.equal(v.ok ? 'ok' : v.code, 'REVOKED');
});

test('server TLS certificate chains to the same root (openssl -purpose sslserver)', async () => {
  const tls = await ca.issueServerTlsCertificate(['im.example.org', 'localhost'], ['127.0.0.1']);
  const root = file('root3.pem', toPem('CERTIFICATE', ca.rootCertificate.der));
  const [leafPem, ...rest] = tls.certChainPem.split(/(?=-----BEGIN CERTIFICATE-----)/);
  const r = openssl(['verify', '-CAfile', root, '-untrusted', file('tlschain.pem', rest.join('')), '-purpose', 'sslserver', file('tls.pem', leafPem!)]);
  assert.ok(r.ok, r.out);
  assert.deepEqual(tls.certificate.subjectAltName.ips, ['127.0.0.1']);
  assert.ok((await ca.verify(tls.certificate, { purpose: 'tls-server', hostname: 'localhost' })).ok);
  assert.ok(createPrivateKey(tls.keyPem));
});

test('import of an openssl-made issuing CA', async () => {
  const d = join(tmp, 'ossl');
  execFileSync('mkdir', ['-p', d]);
  const ext = file('ossl-ext.cnf', [
    '[root]', 'basicConstraints=critical,CA:TRUE,pathlen:1', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash',
    '[inter]', 'basicConstraints=critical,CA:TRUE,pathlen:0', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid',
  ].join('\n'));
  const sh = (args: string[]): void => { execFileSync('openssl', args, { cwd: d, stdio: 'pipe' }); };
  sh(['req', '-x509', '-newkey', 'rsa:3072', '-nodes', '-keyout', 'root.key', '-out', 'root.crt', '-subj', '/O=Corp/CN=Corp Root', '-days', '3650', '-extensions', 'root', '-config', ext]);
  sh(['req', '-newkey', 'rsa:2048', '-passout', 'pass:interpw', '-keyout', 'inter.key', '-out', 'inter.csr', '-subj', '/O=Corp/CN=Corp Issuing']);
  sh(['x509', '-req', '-in', 'inter.csr', '-CA', 'root.crt', '-CAkey', 'root.key', '-CAcreateserial', '-out', 'inter.crt', '-days', '1000', '-extfile', ext, '-extensions', 'inter']);
  const imp = await openCertificateAuthority({ dataDir: join(tmp, 'impdata'), domain: 'corp.example', ledger: new MemoryCertificateLedger(), env: {}, warn: () => {}, issuingKeyBits: 2048 });
  const rd = (f: string): string => readFileSync(join(d, f), 'utf8');
  await assert.rejects(imp.importIssuingCa(rd('inter.crt'), rd('inter.key'), rd('root.crt'), 'wrong'), (e) => PkiError.is(e, 'BAD_PASSPHRASE'));
  await assert.rejects(imp.importIssuingCa(rd('inter.crt'), rd('root.key'), rd('root.crt')), (e) => PkiError.is(e, 'CA_MISMATCH'));
  await imp.importIssuingCa(rd('inter.crt'), rd('inter.key'), rd('root.crt'), 'interpw');
  const osslFp = openssl(['x509', '-in', join(d, 'root.crt'), '-noout', '-fingerprint', '-sha256']).out.split('=')[1]!.trim().replace(/:/g, '').toLowerCase();
  assert.equal(imp.rootFingerprint(), osslFp);
  const cert = await imp.issueUserCertificate(user.publicKey, 'dave', 'encrypt');
  const r = openssl(['verify', '-CAfile', join(d, 'root.crt'), '-untrusted', join(d, 'inter.crt'), '-purpose', 'smimeencrypt', file('dave.pem', cert.pem)]);
  assert.ok(r.ok, r.out);
  // persisted: a restart comes back with the imported CA
  const again = await openCertificateAuthority({ dataDir: join(tmp, 'impdata'), domain: 'corp.example', ledger: new MemoryCertificateLedger(), env: {} });
  assert.equal(again.rootFingerprint(), osslFp);
  assert.equal(again.issuingCertificate.subjectCN, 'Corp Issuing');
  assert.ok(existsSync(join(tmp, 'impdata', 'ca', 'root.key.replaced')));
});

test('EKU of signing certs allows TLS client auth (EST simplereenroll)', async () => {
  const c = await ca.issueUserCertificate(user.publicKey, 'erin', 'sign');
  assert.ok(c.certificate.extKeyUsage?.includes(OID.clientAuth));
  assert.ok((await ca.verify(c.der, { purpose: 'tls-client', screenName: 'erin' })).ok);
});

test('CSR PEM built here is accepted by openssl req -verify', () => {
  const pem = buildCsrPem({ screenName: 'Frank', privateKey: user.privateKey, keyUsage: ['digitalSignature', 'nonRepudiation'], sanUris: ['im:frank@example.org'] });
  const r = openssl(['req', '-in', file('frank.csr', pem), '-verify', '-noout', '-text']);
  assert.ok(r.ok, r.out);
  assert.match(r.out, /verify OK|Certificate request self-signature verify OK/);
  assert.match(r.out, /Non Repudiation/);
});

test('normalizeSerial keeps byte boundaries', async () => {
  const { normalizeSerial } = await import('./ca.js');
  assert.equal(normalizeSerial('0A:12'), '0a12');
  assert.equal(normalizeSerial('00ff'), 'ff');
  assert.equal(normalizeSerial('A12'), '0a12');
  assert.equal(normalizeSerial('00'), '00');
  assert.throws(() => normalizeSerial('xyz'), (e) => PkiError.is(e, 'INVALID_ARGUMENT'));
});
