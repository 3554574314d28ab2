/**
 * The profile's replay cache (src/client/node/replay-store.ts): what remembering one received modern IM costs when
 * the cache already holds N ids (a full cache is 20,000).
 *
 * Figures, per fresh id, median of rounds: the store (check + journal line, compactions included: every
 * 2,000th id rewrites the snapshot); baseline 1, appending the same line to a file (the least a durable record
 * costs); baseline 2, rewriting the whole state per id (the store's way before the journal).
 *
 *   CERTIM_BENCH_N=1000,20000 (ids already remembered)   CERTIM_BENCH_ROUNDS=5
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MemoryReplayCache, replayKey } from '../src/pki/cms/replay-cache.js';
import { writePrivateFile } from '../src/client/node/profile.js';
import { ProfileReplayCache } from '../src/client/node/replay-store.js';
import { median } from './support/stats.js';

const SIZES = (process.env.CERTIM_BENCH_N ?? '1000,20000').split(',').map(Number);
const ROUNDS = Math.max(1, Number(process.env.CERTIM_BENCH_ROUNDS ?? 5));
const IDS_PER_ROUND = 400;

const dir = mkdtempSync(join(tmpdir(), 'certim-replay-bench-'));
const now = new Date();
const ms = (t0: number, n: number): number => (performance.now() - t0) / n;

try {
  console.log(`replay bench: ms per remembered id, ${ROUNDS} rounds of ${IDS_PER_ROUND} ids`);
  for (const n of SIZES) {
    const store = new ProfileReplayCache(join(dir, `replay-${n}.json`), { maxEntries: 20_000 });
    const memory = new MemoryReplayCache({ maxEntries: 20_000 });
    for (let i = 0; i < n; i++) {
      const idBytes = randomBytes(16);
      await store.checkAndRemember(`s${i % 50}`, idBytes, now, now);
      memory.check(`s${i % 50}`, idBytes, now, now);
    }
    const s: number[] = [];
    const append: number[] = [];
    const rewrite: number[] = [];
    const appendFile = join(dir, `append-${n}.log`);
    const rewriteFile = join(dir, `rewrite-${n}.json`);
    for (let r = 0; r < ROUNDS; r++) {
      let t0 = performance.now();
      for (let i = 0; i < IDS_PER_ROUND; i++) await store.checkAndRemember('alice', randomBytes(16), now, now);
      s.push(ms(t0, IDS_PER_ROUND));
      t0 = performance.now();
      for (let i = 0; i < IDS_PER_ROUND; i++) appendFileSync(appendFile, `${JSON.stringify([replayKey('alice', randomBytes(16)), now.getTime()])}\n`, { mode: 0o600 });
      append.push(ms(t0, IDS_PER_ROUND));
      t0 = performance.now();
      for (let i = 0; i < IDS_PER_ROUND / 10; i++) {
        memory.check('alice', randomBytes(16), now, now);
        const { floor, ids, floors } = memory.state();
        writePrivateFile(rewriteFile, JSON.stringify({ version: 1, floor: Number.isFinite(floor) ? floor : -1, ids, floors }));
      }
      rewrite.push(ms(t0, IDS_PER_ROUND / 10));
    }
    console.log(
      `  ${String(n).padStart(6)} ids: store ${median(s).toFixed(3)} ms | append a line ${median(append).toFixed(3)} ms (store/append ${(median(s) / median(append)).toFixed(2)}) | ` +
        `rewrite the state ${median(rewrite).toFixed(3)} ms (rewrite/store ${(median(rewrite) / median(s)).toFixed(1)})`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
