import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from './main.js';

test('unknown subcommand exits 2', async () => {
  assert.equal(await main(['no-such-command']), 2);
});
