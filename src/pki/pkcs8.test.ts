import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { generateRsaKeyPair } from './keys.js';
import { encryptPrivateKey, readPrivateKey } from './pkcs8.js';
import { PkiError } from './errors.js';

const dir = mkdtempSync(join(tmpdir(), 'certim-pkcs8-'));
let key: KeyObject;
const PW = 'correct horse battery staple';

before(async () => {
  key = (await generateRsaKeyPair(2048)).privateKey;
});

const same = (a: KeyObject, b: KeyObject): boolean =>
  Buffer.from(a.export({ type: 'pkcs8', format: 'der' })).equals(Buffer.from(b.export({ type: 'pkcs8', format: 'der' })));

test('our scrypt PKCS#8 opens in openssl pkcs8 and carries scrypt + aes-256-cbc', async () => {
  const pem = await encryptPrivateKey(key, PW);
  assert.match(pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  const f = join(dir, 'ours.pem');
  writeFileSync(f, pem);
  const out = execFileSync('openssl', ['pkcs8', '-in', f, '-passin', `pass:${PW}`]).toString();
  assert.ok(same(createPrivateKey(out), key), 'openssl recovered the same key');
  const dump = execFileSync('openssl', ['asn1parse', '-in', f]).toString();
  assert.match(dump, /:scrypt/);
  assert.match(dump, /:aes-256-cbc/);
  assert.match(dump, /INTEGER\s+:8000\b/, 'N = 2^15');
  // Node can read it too (same OpenSSL limits).
  assert.ok(same(createPrivateKey({ key: pem, passphrase: PW }), key));
  // And we can read it back.
  assert.ok(same(await readPrivateKey(pem, PW), key));
});

test('wrong passphrase on our file is BAD_PASSPHRASE', async () => {
  const pem = await encryptPrivateKey(key, PW);
  await assert.rejects(readPrivateKey(pem, 'wrong'), (e) => PkiError.is(e, 'BAD_PASSPHRASE'));
  await assert.rejects(readPrivateKey(pem), (e) => PkiError.is(e, 'BAD_PASSPHRASE'));
});

for (const [name, args] of [
  ['pbkdf2 + aes-256-cbc', ['-v2', 'aes-256-cbc']],
  ['pbkdf2-sha1 + aes-256-cbc', ['-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA1']],
  ['scrypt + aes-256-cbc', ['-v2', 'aes-256-cbc', '-scrypt']],
  ['PBE-SHA1-3DES (PKCS#12 PBE)', ['-v1', 'PBE-SHA1-3DES']],
  ['des-ede3-cbc PBES2', ['-v2', 'des3']],
] as const) {
  test(`reads a key openssl wrote with ${name}; wrong passphrase is BAD_PASSPHRASE`, async () => {
    const plainF = join(dir, 'plain.pem');
    writeFileSync(plainF, key.export({ type: 'pkcs8', format: 'pem' }));
    const outF = join(dir, `theirs-${name.replace(/\W+/g, '_')}.pem`);
    execFileSync('openssl', ['pkcs8', '-topk8', '-in', plainF, '-out', outF, '-passout', `pass:${PW}`, ...args]);
    const pem = readFileSync(outF, 'utf8');
    assert.ok(same(await readPrivateKey(pem, PW), key));
    await assert.rejects(readPrivateKey(pem, 'nope'), (e) => PkiError.is(e, 'BAD_PASSPHRASE'));
  });
}

test('reads unencrypted PKCS#8 and PKCS#1 PEM, and legacy Proc-Type encrypted PEM', async () => {
  assert.ok(same(await readPrivateKey(key.export({ type: 'pkcs8', format: 'pem' }) as string), key));
  assert.ok(same(await readPrivateKey(key.export({ type: 'pkcs1', format: 'pem' }) as string), key));
  const legacy = key.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: PW }) as string;
  assert.ok(same(await readPrivateKey(legacy, PW), key));
  await assert.rejects(readPrivateKey(legacy, 'nope'), (e) => PkiError.is(e, 'BAD_PASSPHRASE'));
});

test('garbage is MALFORMED, not a crash', async () => {
  await assert.rejects(readPrivateKey('hello'), (e) => PkiError.is(e, 'MALFORMED'));
  await assert.rejects(readPrivateKey(Uint8Array.of(0x30, 0x03, 0x02, 0x01)), (e) => PkiError.is(e, 'MALFORMED'));
});
