/**
 * A process remembering ids in a shared replay store, for replay-store.test.ts: `FILE PREFIX COUNT COMPACT_LINES`.
 * Each id `PREFIX-i` must come back `fresh`; prints `done` when all did.
 */
import { ProfileReplayCache } from './replay-store.js';

const [file, prefix, count, compactLines] = process.argv.slice(2);
if (!file || !prefix || !count || !compactLines) throw new Error('usage: FILE PREFIX COUNT COMPACT_LINES');
const cache = new ProfileReplayCache(file, { compactLines: Number(compactLines) });
const now = new Date();
for (let i = 0; i < Number(count); i++) {
  const outcome = await cache.checkAndRemember('sender', new TextEncoder().encode(`${prefix}-${i}`), now, now);
  if (outcome !== 'fresh') throw new Error(`${prefix}-${i}: ${outcome}`);
}
process.stdout.write('done\n');
