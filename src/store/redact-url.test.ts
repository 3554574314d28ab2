import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactDatabaseUrl } from './redact-url.js';

test('database URLs lose their password and nothing else', () => {
  assert.equal(redactDatabaseUrl('postgres://certim:s3cr@t!@db.example:5432/im'), 'postgres://certim:***@db.example:5432/im');
  assert.equal(redactDatabaseUrl('postgresql://u:p@h/d'), 'postgresql://u:***@h/d');
  assert.equal(redactDatabaseUrl('postgres://postgres@127.0.0.1:5432/test'), 'postgres://postgres@127.0.0.1:5432/test');
  assert.equal(redactDatabaseUrl('sqlite:./data/certim.db'), 'sqlite:./data/certim.db');
});
