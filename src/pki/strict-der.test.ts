/**
 * Strict DER for CSRs and CRLs (certificates: verifier-openssl.test.ts and differential.test.ts): bytes appended inside
 * the outer SEQUENCE, a re-encoded outer AlgorithmIdentifier and impossible times are refused, as `openssl req` /
 * `openssl crl` refuse them, so the signed and the fingerprinted bytes have one encoding.
 */
import { test, before } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { der, parseAsn1, seqOf, rawOf, tlv, TAG } from './asn1/der.js';
import { parseCsr } from './csr.js';
import { parseCrl } from './crl.js';
import { PkiError } from './errors.js';
import { makeOpensslPki, openssl, crlDer, type OpensslPki, type MadeCert } from './openssl.test-support.js';

let P: OpensslPki;
let ca: MadeCert;
let csr: Uint8Array;
let crl: Uint8Array;

before(() => {
  P = makeOpensslPki('certim-strict-');
  ca = P.issue('ca', { subj: '/O=certim-test/CN=CA', ext: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash'] });
  const out = `${P.dir}/ca.csr.der`;
  assert.ok(openssl(['req', '-new', '-key', ca.key, '-subj', '/CN=CA', '-outform', 'DER', '-out', out]).ok);
  csr = new Uint8Array(readFileSync(out));
  crl = crlDer(P.crl('c', ca));
});

const appendInside = (d: Uint8Array, extra = Uint8Array.of(0x05, 0x00)): Uint8Array => {
  const kids = seqOf(parseAsn1(d), 'outer').map(rawOf);
  return der.seq(...kids, extra);
};
const malformed = (e: unknown): boolean => PkiError.is(e, 'MALFORMED');

test('CSR: the openssl-made request parses; appended bytes inside the SEQUENCE are refused by both', () => {
  assert.equal(parseCsr(csr).subjectCN, 'CA');
  const bad = appendInside(csr);
  assert.throws(() => parseCsr(bad), malformed);
  assert.equal(openssl(['req', '-inform', 'DER', '-noout'], bad).ok, false);
  const extraInInfo = (() => {
    const [info, alg, sig] = seqOf(parseAsn1(csr), 'CSR', 3);
    return der.seq(der.seq(...seqOf(info, 'info').map(rawOf), der.int(1)), rawOf(alg!), rawOf(sig!));
  })();
  assert.throws(() => parseCsr(extraInInfo), malformed);
  assert.equal(openssl(['req', '-inform', 'DER', '-noout'], extraInInfo).ok, false);
});

test('CRL: appended bytes, a re-encoded outer AlgorithmIdentifier and an impossible nextUpdate are refused', () => {
  assert.ok(parseCrl(crl).crlNumber !== undefined);
  const bad = appendInside(crl);
  assert.throws(() => parseCrl(bad), malformed);
  assert.equal(openssl(['crl', '-inform', 'DER', '-noout'], bad).ok, false);
  const [tbs, , sig] = seqOf(parseAsn1(crl), 'CRL', 3);
  const reAlg = der.seq(rawOf(tbs!), der.seq(der.oid('1.2.840.10045.4.3.2'), der.null()), rawOf(sig!));
  assert.throws(() => parseCrl(reAlg), malformed);
  // nextUpdate 31 April: TBSCertList edited (signature no longer matters: the parse must refuse first).
  const kids = seqOf(tbs, 'TBSCertList').map(rawOf);
  const times = kids.findIndex((k) => k[0] === TAG.UTC_TIME);
  kids[times + 1] = tlv(TAG.UTC_TIME, Buffer.from('260431000000Z', 'latin1'));
  const april31 = der.seq(der.seq(...kids), rawOf(seqOf(parseAsn1(crl), 'CRL', 3)[1]!), rawOf(sig!));
  assert.throws(() => parseCrl(april31), malformed);
});
