import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { der } from './asn1/der.js';
import { encodeName } from './name.js';
import { encodeExtension, encodeBasicConstraints } from './extensions.js';
import { makeTestCa, type TestCa } from './test-ca.test-support.js';
import { generateRsaKeyPair } from './keys.js';
import { verifyCertificate, type VerifyOptions } from './verifier.js';
import { buildCrl } from './crl.js';
import { OID } from './oids.js';
import { parseCertificate, type Certificate } from './x509-parse.js';

let ca: TestCa;
let other: TestCa;
let key: KeyObject;
let enc: Certificate;
let sig: Certificate;

const ENC = { keyUsage: ['keyEncipherment' as const], eku: [OID.emailProtection] };
const SIG = { keyUsage: ['digitalSignature' as const, 'nonRepudiation' as const], eku: [OID.emailProtection] };

before(async () => {
  [ca, other, key] = await Promise.all([makeTestCa('A'), makeTestCa('B'), generateRsaKeyPair(2048).then((k) => k.publicKey)]);
  enc = ca.issue({ publicKey: key, cn: 'Bob Smith', uris: ['im:bobsmith@example.org'], ...ENC });
  sig = ca.issue({ publicKey: key, cn: 'Bob Smith', uris: ['im:bobsmith@example.org'], ...SIG });
});

const opts = (o: Partial<VerifyOptions> = {}): VerifyOptions => ({
  purpose: 'encrypt', screenName: 'BOBSMITH', trustAnchors: [ca.root], intermediates: [ca.issuing], ...o,
});

async function expectCode(c: Certificate | Uint8Array, o: Partial<VerifyOptions>, code: string): Promise<string> {
  const r = await verifyCertificate(c, opts(o));
  assert.equal(r.ok, false, `expected ${code}`);
  if (r.ok) return '';
  assert.equal(r.code, code, r.reason);
  assert.ok(r.reason.length > 10);
  return r.reason;
}

test('accepts a good encryption and signing certificate, name compared the OSCAR way', async () => {
  const r = await verifyCertificate(enc, opts({ screenName: 'bob smith' }));
  assert.ok(r.ok, r.ok ? '' : r.reason);
  assert.equal(r.chain.length, 3);
  assert.equal(r.chain[2], ca.root);
  const s = await verifyCertificate(sig.der, opts({ purpose: 'sign', screenName: 'Bob Smith' }));
  assert.ok(s.ok, s.ok ? '' : s.reason);
});

test('WRONG_NAME: certificate for another screen name', async () => {
  const reason = await expectCode(enc, { screenName: 'alice' }, 'WRONG_NAME');
  assert.match(reason, /bobsmith/);
  // CN matches but the im: SAN names someone else
  const mixed = ca.issue({ publicKey: key, cn: 'alice', uris: ['im:mallory@example.org'], ...ENC });
  await expectCode(mixed, { screenName: 'alice' }, 'WRONG_NAME');
});

test('EXPIRED and NOT_YET_VALID', async () => {
  await expectCode(enc, { now: new Date(Date.now() + 90 * 86_400_000) }, 'EXPIRED');
  await expectCode(enc, { now: new Date(Date.now() - 2 * 3_600_000) }, 'NOT_YET_VALID');
  const old = ca.issue({ publicKey: key, cn: 'bobsmith', notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000), ...ENC });
  assert.match(await expectCode(old, {}, 'EXPIRED'), /expired on/);
});

test('WRONG_KEY_USAGE: encryption cert used to sign, signing cert used to encrypt, TLS cert for S/MIME', async () => {
  await expectCode(enc, { purpose: 'sign' }, 'WRONG_KEY_USAGE');
  await expectCode(sig, { purpose: 'encrypt' }, 'WRONG_KEY_USAGE');
  const tls = ca.issue({ publicKey: key, cn: 'bobsmith', keyUsage: ['keyEncipherment', 'digitalSignature'], eku: [OID.serverAuth] });
  await expectCode(tls, { purpose: 'encrypt' }, 'WRONG_KEY_USAGE');
});

test('UNTRUSTED_ISSUER: a certificate from a CA we do not trust', async () => {
  const foreign = other.issue({ publicKey: key, cn: 'bobsmith', ...ENC });
  await expectCode(foreign, {}, 'UNTRUSTED_ISSUER');
  // even with its own chain supplied, the root is not an anchor
  await expectCode(foreign, { intermediates: [other.issuing, other.root] }, 'UNTRUSTED_ISSUER');
  // and trusting the other CA (admin-configured anchor) makes it pass
  const r = await verifyCertificate(foreign, opts({ trustAnchors: [ca.root, other.root], intermediates: [ca.issuing, other.issuing] }));
  assert.ok(r.ok);
});

test('REVOKED: via a signed CRL and via the lookup callback; a forged CRL is ignored', async () => {
  const crl = buildCrl({
    issuer: ca.issuing, issuerKey: ca.issuingKeys.privateKey, revoked: [{ serial: enc.serial, revokedAt: new Date(), reason: 'keyCompromise' }],
    thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 86_400_000), crlNumber: 1n,
  });
  assert.match(await expectCode(enc, { crls: [crl] }, 'REVOKED'), /keyCompromise/);
  assert.ok((await verifyCertificate(sig, opts({ purpose: 'sign', crls: [crl] }))).ok, 'other serials unaffected');
  const forged = buildCrl({
    issuer: ca.issuing, issuerKey: other.issuingKeys.privateKey, revoked: [{ serial: sig.serial, revokedAt: new Date(), reason: 'unspecified' }],
    thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 86_400_000), crlNumber: 2n,
  });
  assert.ok((await verifyCertificate(sig, opts({ purpose: 'sign', crls: [forged] }))).ok, 'CRL signed by the wrong key is ignored');
  await expectCode(sig, { purpose: 'sign', isRevoked: (s) => (s === sig.serial ? { revokedAt: new Date(), reason: 'superseded' } : undefined) }, 'REVOKED');
  await expectCode(sig, { purpose: 'sign', requireRevocationInfo: true }, 'REVOCATION_UNKNOWN');
});

test('BAD_SIGNATURE: a tampered certificate', async () => {
  const t = Uint8Array.from(enc.der);
  const at = Buffer.from(t).indexOf(Buffer.from('Bob Smith'));
  t[at] = 'R'.charCodeAt(0); // "Rob Smith"
  await expectCode(t, { screenName: 'robsmith' }, 'BAD_SIGNATURE');
  const s = Uint8Array.from(enc.der);
  s[s.length - 1]! ^= 1; // flip a signature bit
  await expectCode(s, {}, 'BAD_SIGNATURE');
});

test('WEAK_KEY: an RSA-1024 key made by openssl', async () => {
  const pem = execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']).toString();
  const weak = createPublicKey(createPrivateKey(pem));
  const c = ca.issue({ publicKey: weak, cn: 'bobsmith', ...ENC });
  assert.match(await expectCode(c, {}, 'WEAK_KEY'), /1024-bit/);
});

test('MALFORMED: garbage and truncated input', async () => {
  await expectCode(Uint8Array.of(1, 2, 3), {}, 'MALFORMED');
  await expectCode(enc.der.subarray(0, 100), {}, 'MALFORMED');
});

test('tls-server purpose checks the host name', async () => {
  const tls = ca.issue({ publicKey: key, cn: 'im.example.org', dns: ['im.example.org', '*.nodes.example.org'], keyUsage: ['digitalSignature', 'keyEncipherment'], eku: [OID.serverAuth] });
  assert.ok((await verifyCertificate(tls, opts({ purpose: 'tls-server', screenName: undefined, hostname: 'a.nodes.example.org' }))).ok);
  await expectCode(tls, { purpose: 'tls-server', screenName: undefined, hostname: 'evil.example.com' }, 'WRONG_NAME');
});

test('parsed view: typed fields', () => {
  const c = parseCertificate(enc.der);
  assert.equal(c.subjectCN, 'Bob Smith');
  assert.deepEqual(c.sanUris, ['im:bobsmith@example.org']);
  assert.deepEqual(c.keyUsage, ['keyEncipherment']);
  assert.deepEqual(c.extKeyUsage, [OID.emailProtection]);
  assert.equal(c.keyBits, 2048);
  assert.match(c.serial, /^[0-9a-f]{32}$/);
  assert.equal(c.version, 3);
});

test('path search is bounded: a web of same-name cross-signed CAs ends quickly as UNTRUSTED_ISSUER', async () => {
  const alg = der.seq(der.oid(OID.ecdsaWithSHA256));
  const name = encodeName([['CN', 'Loop']]);
  const keys = Array.from({ length: 8 }, () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }));
  let serial = 1;
  const cert = (subject: Uint8Array, subjectKey: KeyObject, signer: KeyObject, ca: boolean): Uint8Array => {
    const tbs = der.seq(der.explicit(0, der.int(2)), der.int(serial++), alg, name, der.seq(der.time(new Date(Date.now() - 3_600_000)), der.time(new Date(Date.now() + 86_400_000))),
      subject, new Uint8Array(subjectKey.export({ type: 'spki', format: 'der' })),
      der.explicit(3, der.seq(encodeExtension(OID.basicConstraints, true, encodeBasicConstraints({ ca })))));
    return der.seq(tbs, alg, der.bitString(sign('sha256', tbs, signer)));
  };
  const web = keys.flatMap((a) => keys.map((b) => cert(name, a.publicKey, b.privateKey, true)));
  const leaf = cert(encodeName([['CN', 'bobsmith']]), keys[0]!.publicKey, keys[1]!.privateKey, false);
  const t0 = performance.now();
  const r = await verifyCertificate(leaf, opts({ purpose: 'sign', intermediates: web }));
  assert.equal(r.ok ? 'ok' : r.code, 'UNTRUSTED_ISSUER');
  assert.ok(performance.now() - t0 < 3000, `gave up in ${(performance.now() - t0).toFixed(0)} ms`);
});
