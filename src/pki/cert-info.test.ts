import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestCa, type TestCa } from './test-ca.test-support.js';
import { generateRsaKeyPair } from './keys.js';
import { buildCertificateInfo, parseCertificateInfo } from './cert-info.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';
import { encodeClearedCertificateInfo, md5 } from '../wire/index.js';
import type { Certificate } from './x509-parse.js';

let ca: TestCa;
let enc: Certificate;
let sig: Certificate;

before(async () => {
  const [c, k1, k2] = await Promise.all([makeTestCa('CI'), generateRsaKeyPair(2048), generateRsaKeyPair(2048)]);
  ca = c;
  enc = ca.issue({ publicKey: k1.publicKey, cn: 'bob', keyUsage: ['keyEncipherment'], eku: [OID.emailProtection] });
  sig = ca.issue({ publicKey: k2.publicKey, cn: 'bob', keyUsage: ['digitalSignature'], eku: [OID.emailProtection] });
});

test('numcerts 2 round trip keeps roles; hash is MD5 of the block', () => {
  const block = buildCertificateInfo({ encryption: enc, signing: sig });
  const p = parseCertificateInfo(block);
  assert.equal(p.cleared, false);
  if (p.cleared) return;
  assert.equal(p.numCerts, 2);
  assert.equal(p.encryption.fingerprint256, enc.fingerprint256);
  assert.equal(p.signing.fingerprint256, sig.fingerprint256);
  assert.deepEqual(p.hash, md5(block));
  // TLV 0x0004 first with value 2 (AIM order)
  assert.deepEqual([...block.subarray(0, 6)], [0x00, 0x04, 0x00, 0x02, 0x00, 0x02]);
});

test('numcerts 1: one common cert for both roles (also when both roles are the same cert)', () => {
  for (const block of [buildCertificateInfo({ common: enc.der }), buildCertificateInfo({ encryption: enc, signing: enc })]) {
    const p = parseCertificateInfo(block);
    if (p.cleared) assert.fail('not cleared');
    assert.equal(p.numCerts, 1);
    assert.equal(p.encryption, p.signing);
    assert.equal(p.encryption.fingerprint256, enc.fingerprint256);
  }
});

test('cleared block and malformed blocks', () => {
  assert.equal(parseCertificateInfo(encodeClearedCertificateInfo()).cleared, true);
  assert.throws(() => parseCertificateInfo(Uint8Array.of(0, 4, 0, 2, 0, 9)), (e) => PkiError.is(e, 'MALFORMED'));
  assert.throws(() => parseCertificateInfo(Uint8Array.of(0, 1, 0, 3, 1, 2, 3)), (e) => PkiError.is(e, 'MALFORMED'));
});
