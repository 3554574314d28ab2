#!/usr/bin/env node
// Runs every bench/*.bench.ts (or the ones named) one after another; each prints its own figures and ratios.
// Usage: npm run bench [-- name ...]   e.g. npm run bench -- wire
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const want = process.argv.slice(2);
const files = readdirSync('bench').filter((f) => f.endsWith('.bench.ts')).sort()
  .filter((f) => want.length === 0 || want.some((w) => f.includes(w)));
let failed = 0;
for (const f of files) {
  console.log(`\n=== bench/${f}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', `bench/${f}`], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
