import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, publicEncrypt, randomBytes } from 'node:crypto';
import { implicitRejectionKey, pkcs1Type2Select, unwrapPkcs1v15 } from './rsa-pkcs1-unwrap.js';
import { fixtures } from './fixtures.test-support.js';

function em(k: number, ps: number[], payload: number[], header = [0x00, 0x02]): Uint8Array {
  const out = new Uint8Array(k);
  const body = [...header, ...ps, 0x00, ...payload];
  out.set(body.slice(0, k), k - Math.min(k, body.length));
  return out;
}

test('valid type-2 padding yields the payload', () => {
  const key = Array.from({ length: 16 }, (_, i) => i + 1);
  const fb = new Uint8Array(16).fill(0xee);
  const r = pkcs1Type2Select(em(64, new Array(64 - 3 - 16).fill(0x55), key), 16, fb);
  assert.equal(r.paddingOk, true);
  assert.deepEqual([...r.key], key);
});

test('every invalid padding yields the fallback key of the expected length', () => {
  const k = 64;
  const key = new Array(16).fill(7);
  const fb = new Uint8Array(16).fill(0xee);
  const cases: [string, Uint8Array][] = [
    ['first byte not 0', (() => { const e = em(k, new Array(45).fill(1), key); e[0] = 1; return e; })()],
    ['block type 1', em(k, new Array(45).fill(0xff), key, [0x00, 0x01])],
    ['no separator', new Uint8Array(k).fill(3).map((v, i) => (i === 0 ? 0 : i === 1 ? 2 : v))],
    ['PS shorter than 8', (() => { const e = em(k, new Array(45).fill(1), key); e[2 + 5] = 0; return e; })()],
    ['payload too long', em(k, new Array(44).fill(1), [...key, 9])],
    ['payload too short', em(k, new Array(46).fill(1), key.slice(1))],
  ];
  for (const [name, e] of cases) {
    const r = pkcs1Type2Select(e, 16, fb);
    assert.equal(r.paddingOk, false, name);
    assert.equal(r.key.length, 16, name);
    assert.deepEqual([...r.key], [...fb], name);
  }
});

test('unwrap with a real RSA key: good ciphertext returns the key, bad returns a synthetic key of the right length', () => {
  const alice = fixtures().ids.alice!;
  const cek = randomBytes(16);
  const ek = publicEncrypt({ key: alice.cert.publicKey, padding: constants.RSA_PKCS1_PADDING }, cek);
  const ok = unwrapPkcs1v15(alice.key, 256, ek, 16);
  assert.equal(ok.paddingOk, true);
  assert.deepEqual(ok.key, cek);

  const wrongLen = unwrapPkcs1v15(alice.key, 256, ek, 32); // expecting an AES-256 key from a 16-byte payload
  assert.equal(wrongLen.paddingOk, false);
  assert.equal(wrongLen.key.length, 32);

  const bad = Buffer.from(ek);
  bad[100]! ^= 1;
  const r1 = unwrapPkcs1v15(alice.key, 256, bad, 16);
  const r2 = unwrapPkcs1v15(alice.key, 256, bad, 16);
  assert.equal(r1.paddingOk, false);
  assert.deepEqual(r1.key, r2.key, 'implicit rejection: the same ciphertext always gets the same synthetic key');
  assert.notDeepEqual(r1.key, cek);
  const bad2 = Buffer.from(ek);
  bad2[101]! ^= 1;
  assert.notDeepEqual(unwrapPkcs1v15(alice.key, 256, bad2, 16).key, r1.key, 'another ciphertext, another key');
  assert.deepEqual(implicitRejectionKey(alice.key, bad, 16), r1.key);

  const tooBig = Buffer.alloc(256, 0xff); // >= modulus: OpenSSL refuses; still no throw
  assert.equal(unwrapPkcs1v15(alice.key, 256, tooBig, 16).key.length, 16);
  assert.equal(unwrapPkcs1v15(alice.key, 256, ek.subarray(1), 16).paddingOk, false);
});
