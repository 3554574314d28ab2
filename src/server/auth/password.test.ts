import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aimMd5Strong, aimMd5Weak, checkLegacyLogin, hashPassword, makeLegacyVerifier, needsRehash, verifyPassword } from './password.js';

// Cheap parameters keep the suite fast; the default cost is exercised once below.
const FAST = { N: 1 << 10, r: 8, p: 1 };
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('scrypt hash verifies the right password only, salts differ per hash', async () => {
  const a = await hashPassword('correct horse', FAST);
  const b = await hashPassword('correct horse', FAST);
  assert.match(a, /^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert.notEqual(a, b);
  assert.equal(await verifyPassword('correct horse', a), true);
  assert.equal(await verifyPassword('correct horsf', a), false);
  assert.equal(await verifyPassword('', a), false);
});

test('default parameters hash and verify (32 MiB scrypt works within maxmem)', async () => {
  const h = await hashPassword('pw');
  assert.match(h, /^scrypt\$32768\$8\$1\$/);
  assert.equal(await verifyPassword('pw', h), true);
  assert.equal(needsRehash(h), false);
  assert.equal(needsRehash(await hashPassword('pw', FAST)), true);
});

test('malformed or hostile hash strings fail closed without throwing', async () => {
  for (const bad of ['', 'scrypt$', 'bcrypt$1$2$3$4$5', 'scrypt$1000$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==',
    `scrypt$${1 << 30}$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==`, `scrypt$${1 << 20}$32$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==`, 'scrypt$1024$8$1$$']) {
    assert.equal(await verifyPassword('x', bad), false, bad);
  }
});

test('AIM MD5 answers match known vectors computed with openssl md5', () => {
  // printf 'abc123secretAOL Instant Messenger (SM)' | openssl md5
  assert.equal(hex(aimMd5Weak('abc123', 'secret')), 'd121601b9b7fb4eda9114974854860c0');
  // (printf abc123; printf secret | openssl md5 -binary; printf 'AOL Instant Messenger (SM)') | openssl md5
  assert.equal(hex(aimMd5Strong('abc123', 'secret')), '3edbdf51dd09b9644fb77f0dd560d9e2');
});

test('legacy verifier accepts weak and strong logins for its key, nothing else', () => {
  const v = makeLegacyVerifier('hunter2');
  assert.match(v.authKey, /^[0-9a-f]{32}$/);
  assert.notEqual(makeLegacyVerifier('hunter2').authKey, v.authKey, 'key is random per account');
  assert.equal(checkLegacyLogin(v, aimMd5Weak(v.authKey, 'hunter2'), false), true);
  assert.equal(checkLegacyLogin(v, aimMd5Strong(v.authKey, 'hunter2'), true), true);
  // Mislabelled variant is still accepted (clients differ), wrong password / other key / bad length are not.
  assert.equal(checkLegacyLogin(v, aimMd5Strong(v.authKey, 'hunter2'), false), true);
  assert.equal(checkLegacyLogin(v, aimMd5Weak(v.authKey, 'hunter3'), false), false);
  assert.equal(checkLegacyLogin(v, aimMd5Weak('otherkey', 'hunter2'), false), false);
  assert.equal(checkLegacyLogin(v, new Uint8Array(15), true), false);
});
