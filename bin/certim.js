#!/usr/bin/env node
// The `certim` command: a thin launcher for the compiled CLI (built by `npm ci` via the prepare script).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`certim: ${err instanceof Error ? err.message : String(err)}`); process.exitCode = 1; },
);
