import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './main.js';
import { captureMain } from './capture.test-support.js';

test('unknown subcommand exits 2', async () => {
  assert.equal(await main(['no-such-command']), 2);
});

const capture = captureMain;

test('--help works on every command and subcommand: usage on stdout, exit 0, nothing else done', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'certim-help-'));
  const here = process.cwd();
  process.chdir(cwd);
  try {
    const cases = [
      ['--help'], ['help'],
      ['server', '--help'], ['admin', '--help'], ['admin', 'user', '--help'], ['admin', 'user', 'add', 'bob', '--help'],
      ['admin', 'ca', 'show', '--help'], ['admin', 'cert', 'list', 'bob', '-h'], ['admin', 'cert', 'revoke', '--help'],
      ['keys', '--help'], ['keys', 'init', '--help'], ['keys', 'show', '--help'], ['keys', 'rotate', '--help'],
      ['trust', 'show', 'bob', '--help'], ['trust', 'verify', '--help'],
      ['send', 'bob', 'hi', '--help'], ['listen', '--help'], ['chat', '--help'],
      ['message', 'encode', '--help'], ['message', 'decode', '--help'],
      ['buddy', '--help'], ['buddy', 'add', 'bob', '--help'], ['buddy', 'block', '-h'],
      ['away', 'set', 'x', '--help'], ['profile', 'show', '--help'],
      ['file', '--help'], ['file', 'send', 'bob', 'x', '--help'], ['file', 'receive', '-h'],
    ];
    for (const argv of cases) {
      const r = await capture(argv);
      assert.equal(r.code, 0, `${argv.join(' ')}: exit ${r.code}\n${r.err}`);
      assert.match(r.out, /usage/i, `${argv.join(' ')} printed no usage on stdout:\n${r.out}${r.err}`);
    }
    assert.deepEqual(readdirSync(cwd), [], 'asking for help created no files (no store, no profile)');
  } finally {
    process.chdir(here);
    rmSync(cwd, { recursive: true, force: true });
  }
});
