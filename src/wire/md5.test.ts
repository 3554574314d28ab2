import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { toHex } from './bytes.js';
import { Prng } from './fuzz-kit.test-support.js';
import { md5 } from './md5.js';

test('RFC 1321 test suite vectors', () => {
  const v: [string, string][] = [
    ['', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['a', '0cc175b9c0f1b6a831c399e269772661'],
    ['abc', '900150983cd24fb0d6963f7d28e17f72'],
    ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
    ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', '57edf4a22be3c955ac49da2e2107b67a'],
  ];
  for (const [input, want] of v) assert.equal(toHex(md5(new TextEncoder().encode(input))), want);
});

test('agrees with node:crypto on every length around block boundaries and random inputs', () => {
  const rng = new Prng(17);
  for (let n = 0; n < 300; n++) {
    const b = rng.bytes(n);
    assert.equal(toHex(md5(b)), createHash('md5').update(b).digest('hex'), `length ${n}`);
  }
  const big = rng.bytes(70000);
  assert.equal(toHex(md5(big)), createHash('md5').update(big).digest('hex'));
});
