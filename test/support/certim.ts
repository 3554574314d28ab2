/**
 * Runs the certim CLI from source, as `npx certim` runs the built one: `node --import tsx test/support/certim.ts ARGS`.
 * Tests start real CLI processes through this entry so they need no build step.
 */
import { main } from '../../src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`certim: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
