#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ (or under the paths given) with Node's test runner, through tsx.
// Usage: node scripts/run-tests.mjs [path ...]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(path, out) {
  const st = statSync(path);
  if (st.isFile()) { if (/\.test\.ts$/.test(path)) out.push(path); return; }
  for (const name of readdirSync(path).sort()) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    collect(join(path, name), out);
  }
}

const roots = process.argv.slice(2);
const files = [];
for (const root of roots.length ? roots : ['src', 'test']) {
  try { collect(root, files); } catch (e) { if (roots.length) throw e; }
}
if (files.length === 0) { console.error('run-tests: no test files found'); process.exit(1); }
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
