import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createHash, generateKeyPairSync, privateEncrypt, sign, verify, type KeyObject } from 'node:crypto';
import { verifyRsaPkcs1 } from './rsa-pkcs1-verify.js';
import { nodeCmsCrypto } from './node-crypto.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const K = 256;
const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
const data = new TextEncoder().encode('signed attributes of one room message');

const SHA256_PREFIX = '3031300d060960864801650304020105000420';

/** EM = 00 01 FF.. 00 || tHex || H, k bytes (RFC 8017 §9.2), then the raw private operation on it. */
function rawSign(tHex: string, h: Uint8Array, opts: { type?: number; ps?: (ps: Buffer) => void; k?: number } = {}): Buffer {
  const k = opts.k ?? K;
  const t = Buffer.concat([Buffer.from(tHex, 'hex'), h]);
  const em = Buffer.alloc(k, 0xff);
  em[0] = 0;
  em[1] = opts.type ?? 1;
  em[k - t.length - 1] = 0;
  opts.ps?.(em.subarray(2, k - t.length - 1));
  t.copy(em, k - t.length);
  return privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, em);
}

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

test('signatures from crypto.sign verify for every accepted digest, as crypto.verify says', () => {
  for (const d of ['md5', 'sha1', 'sha256', 'sha384', 'sha512']) {
    const sig = sign(d, data, privateKey);
    assert.equal(verify(d, data, publicKey, sig), true);
    assert.equal(verifyRsaPkcs1(d, publicKey, data, sig), true, d);
  }
});

test('our own encoding of EM is what crypto.sign produces (the test helper is right)', () => {
  assert.deepEqual(rawSign(SHA256_PREFIX, sha256(data)), sign('sha256', data, privateKey));
});

test('wrong data, wrong hash and a hash that is not accepted fail', () => {
  const sig = sign('sha256', data, privateKey);
  assert.equal(verifyRsaPkcs1('sha256', publicKey, new TextEncoder().encode('other data'), sig), false);
  assert.equal(verifyRsaPkcs1('sha512', publicKey, data, sig), false, 'signed with SHA-256, checked as SHA-512');
  assert.equal(verifyRsaPkcs1('sha256', publicKey, data, sign('sha1', data, privateKey)), false, 'a SHA-1 signature is no SHA-256 one');
  assert.equal(verifyRsaPkcs1('sha224', publicKey, data, sig), false);
  assert.equal(verifyRsaPkcs1('SHA-256', publicKey, data, sig), false);
});

test('any other DigestInfo encoding of the right hash fails (exact prefix only)', () => {
  const h = sha256(data);
  const cases: [string, string][] = [
    ['parameters absent', '302f300b06096086480165030402010420'],
    ['long-form length', '308131300d060960864801650304020105000420'],
    ['SHA-512 OID with a SHA-256 value', '3031300d060960864801650304020305000420'],
    ['MD5 prefix', '3020300c06082a864886f70d020505000410'],
  ];
  for (const [what, prefix] of cases) assert.equal(verifyRsaPkcs1('sha256', publicKey, data, rawSign(prefix, h)), false, what);
  // Digest value followed by a stray byte (PS one byte shorter).
  const withTrailer = rawSign(`${SHA256_PREFIX}`, Buffer.concat([h, Buffer.of(0)]));
  assert.equal(verifyRsaPkcs1('sha256', publicKey, data, withTrailer), false, 'trailing byte after the hash');
});

test('bad padding fails: block type 2, a non-0xFF byte in PS', () => {
  const h = sha256(data);
  assert.equal(verifyRsaPkcs1('sha256', publicKey, data, rawSign(SHA256_PREFIX, h, { type: 2 })), false);
  assert.equal(verifyRsaPkcs1('sha256', publicKey, data, rawSign(SHA256_PREFIX, h, { ps: (ps) => { ps[17] = 0xfe; } })), false);
  assert.equal(verifyRsaPkcs1('sha256', publicKey, data, rawSign(SHA256_PREFIX, h, { ps: (ps) => { ps[0] = 0x00; } })), false);
});

test('a signature that is not exactly k bytes, or not below the modulus, fails', () => {
  const sig = sign('sha256', data, privateKey);
  assert.equal(verifyRsaPkcs1('sha256', publicKey, data, sig.subarray(1)), false, 'truncated');
  assert.equal(verifyRsaPkcs1('sha256', publicKey, data, sig.subarray(0, K - 1)), false, 'truncated at the end');
  assert.equal(verifyRsaPkcs1('sha256', publicKey, data, Buffer.concat([Buffer.of(0), sig])), false, 'left-padded to k + 1');
  assert.equal(verifyRsaPkcs1('sha256', publicKey, data, new Uint8Array(0)), false, 'empty');
  assert.equal(verifyRsaPkcs1('sha256', publicKey, data, new Uint8Array(K).fill(0xff)), false, 's >= n');
  const n = Buffer.from(publicKey.export({ format: 'jwk' }).n!, 'base64url');
  assert.equal(n.length, K);
  assert.equal(verifyRsaPkcs1('sha256', publicKey, data, n), false, 's = n');
});

test('a non-RSA key fails instead of throwing', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey as KeyObject;
  assert.equal(verifyRsaPkcs1('sha256', ec, data, sign('sha256', data, privateKey)), false);
});

test('the Node provider answers the same through its sync, legacy and WebCrypto-shaped calls', async () => {
  const good = sign('sha256', data, privateKey);
  const bad = Buffer.from(good);
  bad[K - 1]! ^= 1;
  const key = await nodeCmsCrypto.subtle.importKey('spki', spki, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, true, ['verify']);
  for (const [sig, want] of [[good, true], [bad, false], [good.subarray(1), false]] as const) {
    assert.equal(nodeCmsCrypto.sync!.verifyPkcs1('sha256', spki, data, sig), want);
    assert.equal(await nodeCmsCrypto.legacy!.verify('sha256', spki, data, sig), want);
    assert.equal(await nodeCmsCrypto.subtle.verify({ name: 'RSASSA-PKCS1-v1_5' }, key, new Uint8Array(sig), data), want);
  }
  assert.equal(nodeCmsCrypto.sync!.verifyPkcs1('sha256', new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]), data, good), false, 'an SPKI that does not parse');
});
