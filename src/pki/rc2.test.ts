import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rc2EncryptBlock, rc2CbcEncrypt, rc2CbcDecrypt } from './rc2.js';
import { PkiError } from './errors.js';
import { toHex as hex } from '../wire/bytes.js';

const h = (s: string): Uint8Array => Buffer.from(s, 'hex');

test('RFC 2268 §5 known-answer vectors', () => {
  assert.equal(hex(rc2EncryptBlock(h('0000000000000000'), 63, h('0000000000000000'))), 'ebb773f993278eff');
  assert.equal(hex(rc2EncryptBlock(h('ffffffffffffffff'), 64, h('ffffffffffffffff'))), '278b27e42e2f0d49');
  assert.equal(hex(rc2EncryptBlock(h('3000000000000000'), 64, h('1000000000000001'))), '30649edf9be7d2c2');
  assert.equal(hex(rc2EncryptBlock(h('88bca90e90875a7f0f79c384627bafb2'), 128, h('0000000000000000'))), '2269552ab0f85ca6');
});

test('RC2-40-CBC matches openssl enc (legacy provider) both ways', () => {
  const key = h('0102030405');
  const iv = h('0011223344556677');
  const plain = Buffer.from('certim legacy pkcs12 bag, more than one block long');
  const ours = rc2CbcEncrypt(key, 40, iv, plain);
  const theirs = execFileSync('openssl', ['enc', '-rc2-40-cbc', '-provider', 'legacy', '-provider', 'default',
    '-K', hex(key), '-iv', hex(iv)], { input: plain });
  assert.equal(hex(ours), theirs.toString('hex'));
  assert.deepEqual(Buffer.from(rc2CbcDecrypt(key, 40, iv, theirs)), plain);
});

test('RC2 decrypt with the wrong key reports BAD_PASSPHRASE', () => {
  const iv = h('0011223344556677');
  const c = rc2CbcEncrypt(h('0102030405'), 40, iv, Buffer.from('x'.repeat(40)));
  let bad = 0;
  for (let k = 6; k < 40; k++) {
    try { rc2CbcDecrypt(h(`01020304${k.toString(16).padStart(2, '0')}`), 40, iv, c); } catch (e) { if (PkiError.is(e, 'BAD_PASSPHRASE')) bad++; }
  }
  assert.ok(bad >= 30, `wrong keys mostly rejected, got ${bad}`);
});
