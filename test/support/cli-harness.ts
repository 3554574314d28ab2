/**
 * Test harness for end-to-end client tests: the real `certim` processes of cli-process.ts, plus a root-level
 * node:test hook that kills the ones still running when the test file ends, pass or fail. Without it, a
 * long-running `listen` whose test failed keeps the test process (and the whole suite) waiting forever.
 */
import { after } from 'node:test';
import { killLiveCliProcesses } from './cli-process.js';

export * from './cli-process.js';

after(killLiveCliProcesses);
