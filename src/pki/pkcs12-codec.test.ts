/**
 * The portable PKCS#12 codec (docs/protocol.md §18.5) with the WebCrypto modern-profile engine the web client runs:
 * round trips, OpenSSL reading what it writes and it reading what OpenSSL writes, the CLI's node engine and the
 * WebCrypto one reading each other's files, one wrong-password error whatever check failed, and the legacy profile
 * refused by name.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { makeTestCa, pemOf, type TestCa } from './test-ca.test-support.js';
import { openssl, outsidePem } from './openssl.test-support.js';
import { generateRsaKeyPair, type RsaKeyPair } from './keys.js';
import { decodePkcs12, encodeIdentityPkcs12, pairIdentity, PKCS12_BAD_PASSPHRASE, type Pkcs12Describe, type Pkcs12Engine, type Pkcs12Identity } from './pkcs12-codec.js';
import { webCryptoPkcs12Engine, LEGACY_P12_REFUSED } from './pkcs12-webcrypto.js';
import { exportIdentityPkcs12, importIdentityPkcs12, nodePkcs12Engine } from './pkcs12.js';
import { pbes2Encrypt } from './pbe.js';
import { parseCertificate, type Certificate } from './x509-parse.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';

const dir = mkdtempSync(join(tmpdir(), 'certim-p12c-'));
const PW = 'p12 pass wörd';
let ca: TestCa;
let encKeys: RsaKeyPair;
let sigKeys: RsaKeyPair;
let encCert: Certificate;
let sigCert: Certificate;
let id: Pkcs12Identity;

function f(name: string, data: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}
const pkcs8 = (k: RsaKeyPair): Uint8Array => new Uint8Array(k.privateKey.export({ type: 'pkcs8', format: 'der' }));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** What pairing needs, from node:crypto and certim's X.509 parser (the page uses WebCrypto and the same parser). */
const describe: Pkcs12Describe = {
  keySpki: (p) => new Uint8Array(createPublicKey(createPrivateKey({ key: Buffer.from(p), format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' })),
  cert: (d) => parseCertificate(d),
};

/** The same private key, compared by public key. */
function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return hex(describe.keySpki(a) as Uint8Array) === hex(describe.keySpki(b) as Uint8Array);
}

before(async () => {
  [ca, encKeys, sigKeys] = await Promise.all([makeTestCa('P12C'), generateRsaKeyPair(2048), generateRsaKeyPair(2048)]);
  encCert = ca.issue({ publicKey: encKeys.publicKey, cn: 'Web Bob', keyUsage: ['keyEncipherment'], eku: [OID.emailProtection] });
  sigCert = ca.issue({ publicKey: sigKeys.publicKey, cn: 'Web Bob', keyUsage: ['digitalSignature', 'nonRepudiation'], eku: [OID.emailProtection] });
  id = {
    screenName: 'Web Bob', numCerts: 2,
    encryption: { pkcs8: pkcs8(encKeys), certDer: encCert.der },
    signing: { pkcs8: pkcs8(sigKeys), certDer: sigCert.der },
    caCertificates: [ca.issuing.der, ca.root.der],
  };
});

function checkIdentity(back: Pkcs12Identity): void {
  assert.equal(back.numCerts, 2);
  assert.equal(back.screenName, 'Web Bob');
  assert.equal(hex(back.encryption.certDer), hex(encCert.der));
  assert.equal(hex(back.signing.certDer), hex(sigCert.der));
  assert.ok(sameKey(back.encryption.pkcs8, pkcs8(encKeys)));
  assert.ok(sameKey(back.signing.pkcs8, pkcs8(sigKeys)));
  assert.deepEqual(back.caCertificates.map(hex).sort(), [ca.issuing.der, ca.root.der].map(hex).sort());
}

let webP12: Uint8Array;

test('the WebCrypto engine writes the modern profile; openssl pkcs12 -info reads it (keys, 4 certificates, names)', async () => {
  webP12 = await encodeIdentityPkcs12(id, PW, webCryptoPkcs12Engine());
  const r = openssl(['pkcs12', '-in', f('web.p12', webP12), '-info', '-nodes', '-passin', `pass:${PW}`]);
  assert.ok(r.ok, r.out);
  assert.match(r.out, /MAC: sha256, Iteration 20000/);
  assert.match(r.out, /PBES2, PBKDF2, AES-256-CBC, Iteration 600000, PRF hmacWithSHA256/);
  assert.doesNotMatch(outsidePem(r.out), /RC2|3DES|TripleDES|hmacWithSHA1\b/);
  assert.match(r.out, /friendlyName: Web Bob encryption/);
  assert.match(r.out, /friendlyName: Web Bob signing/);
  assert.equal((r.out.match(/BEGIN PRIVATE KEY/g) ?? []).length, 2);
  assert.equal((r.out.match(/BEGIN CERTIFICATE/g) ?? []).length, 4);
  // The keys openssl extracted are ours.
  const keys = [...r.out.matchAll(/-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/g)].map((m) => new Uint8Array(createPrivateKey(m[0]).export({ type: 'pkcs8', format: 'der' })));
  assert.ok(keys.some((k) => sameKey(k, pkcs8(encKeys))) && keys.some((k) => sameKey(k, pkcs8(sigKeys))));
  // -noout with the right password checks the MAC; with a wrong one it fails.
  assert.ok(openssl(['pkcs12', '-in', f('web.p12', webP12), '-noout', '-passin', `pass:${PW}`]).ok);
  assert.equal(openssl(['pkcs12', '-in', f('web.p12', webP12), '-noout', '-passin', 'pass:wrong']).ok, false);
});

test('round trip through the WebCrypto engine', async () => {
  checkIdentity(await pairIdentity(await decodePkcs12(webP12, PW, webCryptoPkcs12Engine()), describe));
});

test('the CLI (node engine) imports what the browser engine writes, and the browser engine what the CLI writes', async () => {
  const viaCli = await importIdentityPkcs12(webP12, PW);
  assert.equal(viaCli.encryption.certificate.fingerprint256, encCert.fingerprint256);
  assert.equal(viaCli.signing.certificate.fingerprint256, sigCert.fingerprint256);
  const cliP12 = await exportIdentityPkcs12({
    screenName: 'Web Bob', numCerts: 2,
    encryption: { privateKey: encKeys.privateKey, certificate: encCert },
    signing: { privateKey: sigKeys.privateKey, certificate: sigCert },
    caCertificates: [ca.issuing, ca.root],
  }, PW);
  checkIdentity(await pairIdentity(await decodePkcs12(cliP12, PW, webCryptoPkcs12Engine()), describe));
});

test('reads what openssl pkcs12 -export -keypbe AES-256-CBC -certpbe AES-256-CBC -macalg sha256 writes', async () => {
  const keyFile = f('enc.key', encKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  const certFile = f('enc.crt', pemOf(encCert));
  const chain = f('chain.pem', pemOf(ca.issuing) + pemOf(ca.root));
  const out = join(dir, 'ossl.p12');
  const r = openssl(['pkcs12', '-export', '-keypbe', 'AES-256-CBC', '-certpbe', 'AES-256-CBC', '-macalg', 'sha256', '-inkey', keyFile,
    '-in', certFile, '-certfile', chain, '-name', 'Web Bob', '-passout', `pass:${PW}`, '-out', out]);
  assert.ok(r.ok, r.out);
  const bytes = new Uint8Array(readFileSync(out));
  const raw = await decodePkcs12(bytes, PW, webCryptoPkcs12Engine());
  assert.equal(raw.keys.length, 1);
  assert.equal(raw.certificates.length, 3);
  const single = await pairIdentity(raw, describe);
  assert.equal(single.numCerts, 1);
  assert.equal(single.screenName, 'Web Bob');
  assert.equal(hex(single.encryption.certDer), hex(encCert.der));
  assert.ok(sameKey(single.encryption.pkcs8, pkcs8(encKeys)));
  assert.equal(single.caCertificates.length, 2);
});

test('a wrong password is one BAD_PASSPHRASE with one message, whether the MAC or a bag failed', async () => {
  const engine = webCryptoPkcs12Engine({ iterations: 1000 });
  const seen: string[] = [];
  const check = (e: unknown): boolean => {
    assert.ok(PkiError.is(e, 'BAD_PASSPHRASE'), String(e));
    seen.push((e as Error).message);
    return true;
  };
  // MAC fails.
  await assert.rejects(decodePkcs12(webP12, 'not the password', engine), check);
  // The MAC is right but the bags were encrypted under another password: the bag check fails.
  const split: Pkcs12Engine = { ...engine, encrypt: (plain) => engine.encrypt(plain, 'another password') };
  const mixed = await encodeIdentityPkcs12(id, PW, split);
  await assert.rejects(decodePkcs12(mixed, PW, engine), check);
  // The CLI reads through the same codec.
  await assert.rejects(importIdentityPkcs12(mixed, PW), check);
  await assert.rejects(importIdentityPkcs12(webP12, 'not the password'), check);
  assert.equal(seen.length, 4);
  for (const m of seen) assert.equal(m, PKCS12_BAD_PASSPHRASE);
  assert.doesNotMatch(PKCS12_BAD_PASSPHRASE, /MAC|integrity|padding|bag|decrypt/i);
});

test('the browser engine refuses the legacy profile by name, before checking the password', async () => {
  const web = webCryptoPkcs12Engine();
  const refused = (what: RegExp) => (e: unknown): boolean => {
    assert.ok(PkiError.is(e, 'UNSUPPORTED_ALGORITHM'), String(e));
    assert.ok((e as Error).message.startsWith(LEGACY_P12_REFUSED), (e as Error).message);
    assert.match((e as Error).message, what);
    return true;
  };
  // certim keys export --legacy: 3DES bags, SHA-1 MAC.
  const cliLegacy = await encodeIdentityPkcs12(id, PW, nodePkcs12Engine({ legacy: true }));
  await assert.rejects(decodePkcs12(cliLegacy, PW, web), refused(/SHA1 MAC/));
  await assert.rejects(decodePkcs12(cliLegacy, 'wrong', web), refused(/SHA1 MAC/));
  // openssl pkcs12 -export -legacy: RC2-40 certificates, 3DES key, SHA-1 MAC.
  const keyFile = f('sig.key', sigKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  const out = join(dir, 'legacy.p12');
  const r = openssl(['pkcs12', '-export', '-legacy', '-inkey', keyFile, '-in', f('sig.crt', pemOf(sigCert)), '-passout', `pass:${PW}`, '-out', out]);
  assert.ok(r.ok, r.out);
  await assert.rejects(decodePkcs12(new Uint8Array(readFileSync(out)), PW, web), refused(/SHA1 MAC/));
  // A SHA-256 MAC over 3DES bags: refused at the bag, naming 3DES.
  const node = nodePkcs12Engine({ legacy: true });
  const mixed = await encodeIdentityPkcs12(id, PW, { ...node, writeMac: { hash: 'sha256', iterations: 2048, saltBytes: 16 } });
  await assert.rejects(decodePkcs12(mixed, PW, web), refused(/3DES/));
  // PBES2 with PBKDF2-HMAC-SHA-1 (the PRF's default): refused, naming it.
  const sha1Prf = await encodeIdentityPkcs12(id, PW, {
    ...webCryptoPkcs12Engine({ iterations: 1000 }),
    encrypt: (plain, pw) => pbes2Encrypt(plain, pw, { kdf: 'pbkdf2', iterations: 1000, hash: 'sha1' }),
  });
  await assert.rejects(decodePkcs12(sha1Prf, PW, web), refused(/PBKDF2-HMAC-SHA-1/));
  // The CLI reads all of them (they are legacy, not broken).
  assert.equal((await importIdentityPkcs12(cliLegacy, PW)).numCerts, 2);
  assert.equal((await importIdentityPkcs12(sha1Prf, PW)).numCerts, 2);
});

test('a MAC iteration count above the limit is refused before any work, in the browser engine too', async () => {
  const big = await encodeIdentityPkcs12(id, PW, { ...webCryptoPkcs12Engine({ iterations: 1000 }), writeMac: { hash: 'sha256', iterations: 200_001, saltBytes: 16 } });
  await assert.rejects(decodePkcs12(big, PW, webCryptoPkcs12Engine()), (e) => PkiError.is(e, 'WORK_LIMIT_EXCEEDED'));
});
