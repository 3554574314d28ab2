import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBasicAuth } from './request.js';
import { renderPrometheus, snakeCase } from './metrics.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

test('parseBasicAuth: splits at the first colon; passwords may contain colons; junk is undefined', () => {
  assert.deepEqual(parseBasicAuth(`Basic ${b64('Bob Smith:pa:ss')}`), { user: 'Bob Smith', password: 'pa:ss' });
  assert.deepEqual(parseBasicAuth(`basic ${b64('bob:')}`), { user: 'bob', password: '' });
  assert.equal(parseBasicAuth(undefined), undefined);
  assert.equal(parseBasicAuth('Bearer abc'), undefined);
  assert.equal(parseBasicAuth(`Basic ${b64('no-colon')}`), undefined);
  assert.equal(parseBasicAuth(`Basic ${b64(':pw')}`), undefined);
  assert.equal(parseBasicAuth('Basic !!!'), undefined);
});

test('renderPrometheus: snake_case names, _total on counters, HELP/TYPE for known ones, non-finite skipped', () => {
  assert.equal(snakeCase('imsRelayed'), 'ims_relayed');
  const text = renderPrometheus({ imsRelayed: 7, sessions: 2, somethingNew: 1, broken: NaN });
  assert.match(text, /^# TYPE certim_ims_relayed_total counter\ncertim_ims_relayed_total 7$/m);
  assert.match(text, /^# TYPE certim_sessions gauge\ncertim_sessions 2$/m);
  assert.match(text, /^certim_something_new 1$/m);
  assert.doesNotMatch(text, /broken/);
  assert.ok(text.endsWith('\n'));
});
