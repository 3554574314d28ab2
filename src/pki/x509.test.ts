import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { parseCertificate } from './x509-parse.js';
import { parseCsr, verifyCsrSignature, buildCsr } from './csr.js';
import { parseCrl, verifyCrlSignature } from './crl.js';
import { encodeKeyUsage, decodeKeyUsage } from './extensions.js';
import { parseAsn1 } from './asn1/der.js';
import { generateRsaKeyPair } from './keys.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';

const dir = mkdtempSync(join(tmpdir(), 'certim-x509-'));
const sh = (args: string[]): string => execFileSync('openssl', args, { cwd: dir }).toString();

test('parses an openssl-made certificate into the typed view (cross-checked with node X509Certificate)', () => {
  writeFileSync(join(dir, 'ext.cnf'), [
    '[e]', 'basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,nonRepudiation',
    'extendedKeyUsage=emailProtection,clientAuth', 'subjectAltName=URI:im:bob@example.org,DNS:bob.example.org,IP:10.0.0.1',
    'subjectKeyIdentifier=hash', 'crlDistributionPoints=URI:http://example.org/crl',
  ].join('\n'));
  sh(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-subj', '/O=Ex/CN=Bob Smith',
    '-days', '30', '-set_serial', '0x00ff0102', '-extensions', 'e', '-config', 'ext.cnf']);
  const pem = sh(['x509', '-in', 'c.pem']);
  const c = parseCertificate(pem);
  const x = new X509Certificate(pem);
  assert.equal(c.subjectCN, 'Bob Smith');
  assert.equal(c.serial, 'ff0102');
  assert.equal(c.serial.toUpperCase(), x.serialNumber.replace(/^0+/, ''));
  assert.equal(c.fingerprint256, x.fingerprint256.replace(/:/g, '').toLowerCase());
  assert.equal(c.notAfter.getTime(), new Date(x.validTo).getTime());
  assert.deepEqual(c.sanUris, ['im:bob@example.org']);
  assert.deepEqual(c.subjectAltName.dns, ['bob.example.org']);
  assert.deepEqual(c.subjectAltName.ips, ['10.0.0.1']);
  assert.deepEqual(c.keyUsage, ['digitalSignature', 'nonRepudiation']);
  assert.deepEqual(c.extKeyUsage, [OID.emailProtection, OID.clientAuth]);
  assert.deepEqual(c.basicConstraints, { ca: false });
  assert.deepEqual(c.crlDistributionPoints, ['http://example.org/crl']);
  assert.equal(c.keyBits, 2048);
  assert.equal(c.subjectKeyId?.length, 20);
  assert.ok(x.publicKey.equals(c.publicKey));
  assert.ok(Buffer.from(c.issuer.der).equals(Buffer.from(c.subject.der)), 'self-signed');
});

test('keyUsage BIT STRING is minimal DER (trailing zero bits dropped)', () => {
  assert.deepEqual([...encodeKeyUsage(['keyEncipherment'])], [0x03, 0x02, 0x05, 0x20]);
  assert.deepEqual([...encodeKeyUsage(['digitalSignature', 'nonRepudiation'])], [0x03, 0x02, 0x06, 0xc0]);
  assert.deepEqual([...encodeKeyUsage(['decipherOnly'])], [0x03, 0x03, 0x07, 0x00, 0x80]);
  assert.deepEqual(decodeKeyUsage(parseAsn1(encodeKeyUsage(['keyCertSign', 'cRLSign']))), ['keyCertSign', 'cRLSign']);
});

test('CSR: openssl-made parses and verifies; a tampered one fails PoP; ours carries keyUsage', async () => {
  sh(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'r.key', '-out', 'r.csr', '-subj', '/CN=Bob Smith',
    '-addext', 'keyUsage=critical,keyEncipherment', '-addext', 'subjectAltName=URI:im:bobsmith@example.org']);
  const pem = sh(['req', '-in', 'r.csr']);
  const csr = parseCsr(pem);
  assert.equal(csr.subjectCN, 'Bob Smith');
  assert.deepEqual(csr.keyUsage, ['keyEncipherment']);
  assert.deepEqual(csr.sanUris, ['im:bobsmith@example.org']);
  assert.equal(csr.keyBits, 2048);
  assert.ok(verifyCsrSignature(csr));
  const t = Uint8Array.from(csr.der);
  t[Buffer.from(t).indexOf(Buffer.from('Bob'))] = 0x52; // "Rob Smith"
  const tampered = parseCsr(t);
  assert.equal(tampered.subjectCN, 'Rob Smith');
  assert.equal(verifyCsrSignature(tampered), false);
  const k = await generateRsaKeyPair(2048);
  const ours = parseCsr(buildCsr({ screenName: 'alice', privateKey: k.privateKey, keyUsage: ['digitalSignature', 'nonRepudiation'] }));
  assert.ok(verifyCsrSignature(ours));
  assert.deepEqual(ours.keyUsage, ['digitalSignature', 'nonRepudiation']);
  assert.throws(() => parseCsr(Uint8Array.of(0x30, 0x00)), (e) => PkiError.is(e, 'MALFORMED'));
});

test('CRL made by openssl ca parses with reasons and verifies against the issuer', () => {
  writeFileSync(join(dir, 'ca.cnf'), [
    '[ca]', 'default_ca=d', '[d]', `dir=${dir}`, 'database=$dir/index.txt', 'crlnumber=$dir/crlnumber', 'default_md=sha256',
    'default_crl_days=7', 'crl_extensions=crlext', '[crlext]', 'authorityKeyIdentifier=keyid',
  ].join('\n'));
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'crlnumber'), '1000\n');
  sh(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=Test CA', '-days', '30']);
  sh(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'u.key', '-out', 'u.pem', '-subj', '/CN=u', '-days', '30', '-set_serial', '0x1234']);
  // Add a revoked line to the CA database by hand (openssl ca -revoke needs the cert to be signed by this CA's files).
  const exp = sh(['x509', '-in', 'u.pem', '-noout', '-enddate']).trim().split('=')[1]!;
  const d = new Date(exp);
  const ts = (x: Date): string => x.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  writeFileSync(join(dir, 'index.txt'), `R\t${ts(d)}\t${ts(new Date(Date.now() - 60_000))},keyCompromise\t1234\tunknown\t/CN=u\n`);
  sh(['ca', '-gencrl', '-config', 'ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-out', 'crl.pem']);
  const crl = parseCrl(sh(['crl', '-in', 'crl.pem']));
  assert.equal(crl.entries.get('1234')?.reason, 'keyCompromise');
  assert.equal(crl.crlNumber, 0x1000n);
  assert.ok(crl.nextUpdate && crl.nextUpdate > crl.thisUpdate);
  const ca = parseCertificate(sh(['x509', '-in', 'ca.pem']));
  assert.ok(verifyCrlSignature(crl, ca));
  const other = parseCertificate(sh(['x509', '-in', 'u.pem']));
  assert.ok(!verifyCrlSignature(crl, other));
});

test('certificate parse errors are MALFORMED', () => {
  assert.throws(() => parseCertificate('nope'), (e) => PkiError.is(e, 'MALFORMED'));
  assert.throws(() => parseCertificate(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00)), (e) => PkiError.is(e, 'MALFORMED'));
});
