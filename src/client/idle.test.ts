import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdleTracker } from './idle.js';

test('idle is reported once after the quiet time, active again at the next key (injected clock)', () => {
  let now = 0;
  const t = new IdleTracker(() => now, 600_000);
  now = 599_999;
  assert.equal(t.check(), undefined);
  now = 600_500;
  assert.equal(t.check(), 600);
  now = 700_000;
  assert.equal(t.check(), undefined, 'reported once');
  assert.equal(t.activity(), true, 'the next key ends the idle spell');
  assert.equal(t.activity(), false);
  now = 1_299_999;
  assert.equal(t.check(), undefined);
});
