import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateRsaKeyPair, generateIdentityKeys, rsaKeyBits, assertStrongRsaKey, DEFAULT_RSA_BITS } from './keys.js';
import { PkiError } from './errors.js';
import { normalizeScreenName, sameScreenName } from './screen-name.js';
import { generateKeyPairSync } from 'node:crypto';

test('default key size is 3072 and generation does not block the event loop', async () => {
  assert.equal(DEFAULT_RSA_BITS, 3072);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const k = await generateRsaKeyPair();
  clearInterval(timer);
  assert.equal(rsaKeyBits(k.privateKey), 3072);
  assert.equal(rsaKeyBits(k.publicKey), 3072);
  assert.ok(ticks > 0, 'timers ran while the key was generated');
});

test('identity = two distinct pairs', async () => {
  const id = await generateIdentityKeys(2048);
  assert.notDeepEqual(id.encryption.publicKey.export({ type: 'spki', format: 'der' }), id.signing.publicKey.export({ type: 'spki', format: 'der' }));
});

test('keys under 2048 bits are refused (WEAK_KEY), non-RSA is UNSUPPORTED_ALGORITHM', async () => {
  await assert.rejects(generateRsaKeyPair(1024), (e) => PkiError.is(e, 'WEAK_KEY'));
  await assert.rejects(generateRsaKeyPair(2047), (e) => PkiError.is(e, 'WEAK_KEY'));
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
  assert.throws(() => assertStrongRsaKey(small.publicKey), (e) => PkiError.is(e, 'WEAK_KEY'));
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  assert.throws(() => assertStrongRsaKey(ec.publicKey), (e) => PkiError.is(e, 'UNSUPPORTED_ALGORITHM'));
});

test('OSCAR screen-name normalization ignores case and spaces', () => {
  assert.equal(normalizeScreenName('Bob Smith'), 'bobsmith');
  assert.equal(normalizeScreenName('  B O B  '), 'bob');
  assert.ok(sameScreenName('BobSmith', 'bob smith'));
  assert.ok(!sameScreenName('bob', 'bobby'));
});
