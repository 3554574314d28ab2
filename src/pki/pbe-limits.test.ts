/**
 * Work caps before any decryption (RFC 8018 §4.2 leaves the iteration count to the writer, so a reader must bound
 * it): files asking for 2^31-1 PBKDF2 iterations, a huge scrypt cost or a huge PKCS#12 KDF count are refused in
 * milliseconds with WORK_LIMIT_EXCEEDED — including a cipher certim hands to OpenSSL, which applies no cap itself.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { der, parseAsn1, seqOf, rawOf, toPem } from './asn1/der.js';
import { generateRsaKeyPair } from './keys.js';
import { readPrivateKey } from './pkcs8.js';
import { pbeDecrypt } from './pbe.js';
import { exportIdentityPkcs12, importPkcs12 } from './pkcs12.js';
import { makeTestCa } from './test-ca.test-support.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';

const dir = mkdtempSync(join(tmpdir(), 'certim-pbe-'));
const PW = 'limits';
const HUGE = 2 ** 31 - 1;
let key: KeyObject;

before(async () => {
  key = (await generateRsaKeyPair(2048)).privateKey;
});

/** Runs `fn`, expects a PkiError with `code`, and returns how long it took (ms). */
async function refusedWith(code: string, fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await assert.rejects(fn(), (e) => PkiError.is(e) && e.code === code ? true : assert.fail(`expected ${code}, got ${String(e)}`));
  return performance.now() - t0;
}

function epki(alg: Uint8Array, data: Uint8Array = randomBytes(1216)): string {
  return toPem('ENCRYPTED PRIVATE KEY', der.seq(alg, der.octets(data)));
}

const pbkdf2Alg = (iter: number, cipherOid: string, ivLen: number): Uint8Array => der.seq(der.oid(OID.pbes2), der.seq(
  der.seq(der.oid(OID.pbkdf2), der.seq(der.octets(randomBytes(16)), der.int(iter), der.seq(der.oid(OID.hmacWithSHA256), der.null()))),
  der.seq(der.oid(cipherOid), der.octets(randomBytes(ivLen)))));

test('a cipher certim hands to OpenSSL (camellia) opens at a sane count, and is refused at 2^31-1 before OpenSSL runs', async () => {
  const plainF = join(dir, 'plain.pem');
  writeFileSync(plainF, key.export({ type: 'pkcs8', format: 'pem' }));
  const outF = join(dir, 'camellia.pem');
  execFileSync('openssl', ['pkcs8', '-topk8', '-in', plainF, '-out', outF, '-passout', `pass:${PW}`, '-v2', 'camellia-256-cbc', '-iter', '1000']);
  const pem = readFileSync(outF, 'utf8');
  const back = await readPrivateKey(pem, PW);
  assert.equal(back.asymmetricKeyDetails?.modulusLength, 2048, 'the OpenSSL fallback still works for bounded files');
  // The same file with the iteration count rewritten: everything else exactly as OpenSSL wrote it.
  const [alg, data] = seqOf(parseAsn1(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64')), 'EPKI', 2);
  const [, params] = seqOf(alg, 'alg', 2);
  const [kdf, enc] = seqOf(params, 'PBES2-params', 2);
  const [kdfOid, kdfParams] = seqOf(kdf, 'kdf', 2);
  const [salt, , ...rest] = seqOf(kdfParams, 'PBKDF2-params', 2);
  const hugeAlg = der.seq(der.oid(OID.pbes2), der.seq(der.seq(rawOf(kdfOid!), der.seq(rawOf(salt!), der.int(HUGE), ...rest.map(rawOf))), rawOf(enc!)));
  const ms = await refusedWith('WORK_LIMIT_EXCEEDED', () => readPrivateKey(toPem('ENCRYPTED PRIVATE KEY', der.seq(hugeAlg, rawOf(data!))), PW));
  assert.ok(ms < 1000, `refused in ${ms.toFixed(0)} ms`);
});

test('PBES2 with a cipher certim implements, PBES1 and PKCS#12 PBE: 2^31-1 iterations refused at once', async () => {
  const cases: [string, Uint8Array][] = [
    ['PBES2 aes-256-cbc', pbkdf2Alg(HUGE, OID.aes256Cbc, 16)],
    ['PBES2 unknown cipher', pbkdf2Alg(HUGE, '1.2.3.4.5', 16)],
    ['PBES1 MD5-DES', der.seq(der.oid(OID.pbeWithMD5AndDESCBC), der.seq(der.octets(randomBytes(8)), der.int(HUGE)))],
    ['PKCS#12 PBE 3DES', der.seq(der.oid(OID.pbeWithSHAAnd3KeyTripleDESCBC), der.seq(der.octets(randomBytes(8)), der.int(HUGE)))],
    ['PKCS#12 PBE RC4', der.seq(der.oid(OID.pbeWithSHAAnd128BitRC4), der.seq(der.octets(randomBytes(8)), der.int(HUGE)))],
    ['iteration count of 2^64', der.seq(der.oid(OID.pbeWithMD5AndDESCBC), der.seq(der.octets(randomBytes(8)), der.int(2n ** 64n)))],
  ];
  for (const [name, alg] of cases) {
    const ms = await refusedWith('WORK_LIMIT_EXCEEDED', () => readPrivateKey(epki(alg), PW));
    assert.ok(ms < 500, `${name}: refused in ${ms.toFixed(0)} ms`);
  }
  await refusedWith('WORK_LIMIT_EXCEEDED', () => pbeDecrypt(parseAsn1(cases[3]![1]), randomBytes(64), PW));
});

test('scrypt above the memory/work cap is refused; an unknown KDF is never handed to OpenSSL', async () => {
  const scryptAlg = (log2N: number, r: number, p: number): Uint8Array => der.seq(der.oid(OID.pbes2), der.seq(
    der.seq(der.oid(OID.scrypt), der.seq(der.octets(randomBytes(16)), der.int(2 ** log2N), der.int(r), der.int(p))),
    der.seq(der.oid(OID.aes256Cbc), der.octets(randomBytes(16)))));
  await refusedWith('WORK_LIMIT_EXCEEDED', () => readPrivateKey(epki(scryptAlg(30, 8, 1)), PW));
  await refusedWith('WORK_LIMIT_EXCEEDED', () => readPrivateKey(epki(scryptAlg(14, 8, 2 ** 20)), PW));
  const unknownKdf = der.seq(der.oid(OID.pbes2), der.seq(der.seq(der.oid('1.2.3.4'), der.seq(der.int(HUGE))), der.seq(der.oid(OID.aes256Cbc), der.octets(randomBytes(16)))));
  const ms = await refusedWith('UNSUPPORTED_ALGORITHM', () => readPrivateKey(epki(unknownKdf), PW));
  assert.ok(ms < 500);
});

test('PKCS#12 with a 2^31-1 MAC iteration count is refused before the MAC runs', async () => {
  const ca = await makeTestCa('Limits');
  const cert = ca.issue({ publicKey: createPublicKey(key), cn: 'bob' });
  const p12 = await exportIdentityPkcs12({
    screenName: 'bob', numCerts: 1, encryption: { privateKey: key, certificate: cert }, signing: { privateKey: key, certificate: cert },
    caCertificates: [],
  }, PW, { iterations: 2048, macIterations: 2048 });
  const [ver, auth, mac] = seqOf(parseAsn1(p12), 'PFX', 3);
  const [digestInfo, macSalt] = seqOf(mac, 'MacData', 3);
  const tampered = der.seq(rawOf(ver!), rawOf(auth!), der.seq(rawOf(digestInfo!), rawOf(macSalt!), der.int(HUGE)));
  const ms = await refusedWith('WORK_LIMIT_EXCEEDED', () => importPkcs12(tampered, PW));
  assert.ok(ms < 500, `refused in ${ms.toFixed(0)} ms`);
});
