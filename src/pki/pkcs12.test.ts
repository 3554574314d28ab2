import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { makeTestCa, pemOf, type TestCa } from './test-ca.test-support.js';
import { openssl, outsidePem } from './openssl.test-support.js';
import { generateRsaKeyPair, type RsaKeyPair } from './keys.js';
import { exportIdentityPkcs12, importIdentityPkcs12, importPkcs12, type Identity } from './pkcs12.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';
import type { Certificate } from './x509-parse.js';

const dir = mkdtempSync(join(tmpdir(), 'certim-p12-'));
const PW = 'p12 pass wörd';
let ca: TestCa;
let encKeys: RsaKeyPair;
let sigKeys: RsaKeyPair;
let encCert: Certificate;
let sigCert: Certificate;
let identity: Identity;

function f(name: string, data: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}
const sameKey = (a: KeyObject, b: KeyObject): boolean =>
  Buffer.from(createPublicKey(a).export({ type: 'spki', format: 'der' })).equals(Buffer.from(createPublicKey(b).export({ type: 'spki', format: 'der' })));

before(async () => {
  [ca, encKeys, sigKeys] = await Promise.all([makeTestCa('P12'), generateRsaKeyPair(2048), generateRsaKeyPair(2048)]);
  encCert = ca.issue({ publicKey: encKeys.publicKey, cn: 'Bob Smith', keyUsage: ['keyEncipherment'], eku: [OID.emailProtection] });
  sigCert = ca.issue({ publicKey: sigKeys.publicKey, cn: 'Bob Smith', keyUsage: ['digitalSignature', 'nonRepudiation'], eku: [OID.emailProtection] });
  identity = {
    screenName: 'Bob Smith', numCerts: 2,
    encryption: { privateKey: encKeys.privateKey, certificate: encCert },
    signing: { privateKey: sigKeys.privateKey, certificate: sigCert },
    caCertificates: [ca.issuing, ca.root],
  };
});

function checkRoundTrip(back: Identity): void {
  assert.equal(back.numCerts, 2);
  assert.equal(back.screenName, 'Bob Smith');
  assert.equal(back.encryption.certificate.fingerprint256, encCert.fingerprint256);
  assert.equal(back.signing.certificate.fingerprint256, sigCert.fingerprint256);
  assert.ok(sameKey(back.encryption.privateKey, encKeys.privateKey));
  assert.ok(sameKey(back.signing.privateKey, sigKeys.privateKey));
  assert.equal(back.caCertificates.length, 2);
}

test('modern export opens in openssl pkcs12 (PBES2/PBKDF2/AES-256, SHA-256 MAC) and round-trips', async () => {
  const p12 = await exportIdentityPkcs12(identity, PW);
  const file = f('modern.p12', p12);
  const r = openssl(['pkcs12', '-in', file, '-info', '-nodes', '-passin', `pass:${PW}`]);
  assert.ok(r.ok, r.out);
  assert.match(r.out, /MAC: sha256/);
  assert.match(r.out, /PBES2, PBKDF2, AES-256-CBC/);
  assert.match(r.out, /friendlyName: Bob Smith encryption/);
  assert.match(r.out, /friendlyName: Bob Smith signing/);
  assert.equal((r.out.match(/BEGIN PRIVATE KEY/g) ?? []).length, 2);
  assert.equal((r.out.match(/BEGIN CERTIFICATE/g) ?? []).length, 4);
  checkRoundTrip(await importIdentityPkcs12(p12, PW));
});

test('legacy export: 3DES bags + SHA-1 MAC, opens in openssl -legacy, round-trips', async () => {
  const p12 = await exportIdentityPkcs12(identity, PW, { legacy: true });
  const r = openssl(['pkcs12', '-legacy', '-in', f('legacy.p12', p12), '-info', '-nodes', '-passin', `pass:${PW}`]);
  assert.ok(r.ok, r.out);
  assert.match(r.out, /MAC: sha1/);
  assert.match(r.out, /pbeWithSHA1And3-KeyTripleDES-CBC/);
  assert.doesNotMatch(outsidePem(r.out), /PBES2/);
  checkRoundTrip(await importIdentityPkcs12(p12, PW));
});

test('wrong password is BAD_PASSPHRASE (and openssl agrees the MAC fails)', async () => {
  const p12 = await exportIdentityPkcs12(identity, PW, { iterations: 2048, macIterations: 2048 });
  await assert.rejects(importPkcs12(p12, 'wrong'), (e) => PkiError.is(e, 'BAD_PASSPHRASE'));
  assert.ok(!openssl(['pkcs12', '-in', f('w.p12', p12), '-info', '-nodes', '-passin', 'pass:wrong']).ok);
  const tampered = Uint8Array.from(p12);
  tampered[200]! ^= 1;
  await assert.rejects(importPkcs12(tampered, PW), (e) => PkiError.is(e, 'BAD_PASSPHRASE') || PkiError.is(e, 'MALFORMED'));
});

for (const legacy of [false, true]) {
  test(`imports a single-key file from openssl pkcs12 -export${legacy ? ' -legacy (RC2-40 cert bag)' : ''} as a common identity`, async () => {
    const key = f(`k${legacy}.pem`, encKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    const cert = f(`c${legacy}.pem`, pemOf(encCert));
    const chain = f(`ch${legacy}.pem`, pemOf(ca.issuing));
    const out = join(dir, `ossl${legacy}.p12`);
    const r = openssl(['pkcs12', '-export', ...(legacy ? ['-legacy'] : []), '-inkey', key, '-in', cert, '-certfile', chain,
      '-name', 'Classic Bob', '-out', out, '-passout', `pass:${PW}`]);
    assert.ok(r.ok, r.out);
    const info = openssl(['pkcs12', ...(legacy ? ['-legacy'] : []), '-in', out, '-info', '-noout', '-passin', `pass:${PW}`]).out;
    assert.match(info, legacy ? /pbeWithSHA1And40BitRC2-CBC/ : /PBES2, PBKDF2, AES-256-CBC/);
    const bytes = new Uint8Array(readFileSync(out));
    const id = await importIdentityPkcs12(bytes, PW);
    assert.equal(id.numCerts, 1);
    assert.equal(id.screenName, 'Bob Smith');
    assert.equal(id.encryption, id.signing);
    assert.equal(id.encryption.certificate.fingerprint256, encCert.fingerprint256);
    assert.ok(sameKey(id.encryption.privateKey, encKeys.privateKey));
    assert.equal(id.caCertificates.length, 1);
    const raw = await importPkcs12(bytes, PW);
    assert.equal(raw.keys[0]?.friendlyName, 'Classic Bob');
    await assert.rejects(importPkcs12(bytes, 'nope'), (e) => PkiError.is(e, 'BAD_PASSPHRASE'));
  });
}

test('garbage is MALFORMED', async () => {
  await assert.rejects(importPkcs12(Uint8Array.of(0x30, 0x80, 0, 0), PW), (e) => PkiError.is(e, 'MALFORMED'));
  await assert.rejects(importPkcs12(Uint8Array.of(1, 2, 3), PW), (e) => PkiError.is(e, 'MALFORMED'));
});
