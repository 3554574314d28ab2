import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginThrottle } from './login-throttle.js';

test('failures are limited per account and per address within the window', () => {
  const t = new LoginThrottle({ perAccount: 2, perAddress: 3, windowMs: 1000 });
  t.fail('bob', '1.1.1.1', 0);
  assert.equal(t.check('bob', '1.1.1.1', 1), 'ok');
  t.fail('bob', '2.2.2.2', 1);
  assert.equal(t.check('bob', '9.9.9.9', 2), 'account');
  t.fail('carol', '1.1.1.1', 2);
  t.fail('dave', '1.1.1.1', 3);
  assert.equal(t.check('erin', '1.1.1.1', 4), 'address');
  assert.equal(t.check('bob', '9.9.9.9', 1500), 'ok', 'window slid past');
  t.succeed('bob');
  assert.equal(t.check('bob', '9.9.9.9', 5), 'ok');
});
