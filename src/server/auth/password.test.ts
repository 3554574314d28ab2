import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { aimMd5Strong, aimMd5Weak, checkLegacyLogin, hashPassword, makeLegacyVerifier, needsRehash, newChallengeKey, UNMATCHABLE_HASH, verifyPassword } from './password.js';

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

test('legacy verifier: MD5(password) answers any fresh key with the strong form; weak form and pass-the-hash fail', () => {
  const v = makeLegacyVerifier('hunter2');
  assert.equal(Buffer.from(v.md5Password).toString('hex'), createHash('md5').update('hunter2').digest('hex'));
  const k1 = newChallengeKey();
  const k2 = newChallengeKey();
  assert.match(k1, /^[0-9a-f]{32}$/);
  assert.notEqual(k1, k2, 'a fresh key every time');
  assert.equal(checkLegacyLogin(v, k1, aimMd5Strong(k1, 'hunter2'), true), true);
  assert.equal(checkLegacyLogin(v, k1, aimMd5Strong(k1, 'hunter2'), false), true, 'a mislabelled strong answer is accepted');
  assert.equal(checkLegacyLogin(v, k2, aimMd5Strong(k1, 'hunter2'), true), false, 'an answer to another key (replay) fails');
  assert.equal(checkLegacyLogin(v, k1, aimMd5Weak(k1, 'hunter2'), false), false, 'weak form cannot be checked');
  assert.equal(checkLegacyLogin(v, k1, aimMd5Strong(k1, 'hunter3'), true), false);
  assert.equal(checkLegacyLogin(v, k1, v.md5Password, true), false, 'the stored digest is not an answer');
  assert.equal(checkLegacyLogin(v, k1, new Uint8Array(15), true), false);
});

test('the unmatchable hash is well-formed, costs a real check and never matches', async () => {
  assert.equal(needsRehash(UNMATCHABLE_HASH), false);
  assert.equal(await verifyPassword('', UNMATCHABLE_HASH), false);
  assert.equal(await verifyPassword('anything', UNMATCHABLE_HASH), false);
});
