/**
 * Server load bench: N clients sign on over real loopback sockets and exchange
 * ~300-byte ICBM channel-1 IMs in pairs; we measure IMs relayed per second (wall and per relay-CPU-second) and
 * delivery latency p50/p99, against a baseline relay measured in the same run that only forwards FLAP frames
 * (bench/support/baseline-relay.ts). Memory per idle signed-on session = (RSS and heap after sign-on − before) / N,
 * measured 200 ms after the last sign-on of a fresh process; then N more sign on beside them and the same figure is
 * taken for those N on the now-warm process ("warm"), which leaves out what only the first burst pays.
 *
 * Both the server and the baseline run as child processes, so their CPU (from /proc) and memory are not mixed
 * with the load generator's. The server child is the real composition (src/server/main.ts startServer) on a fresh
 * data directory with SQLite; its IM rate class is relaxed (see server-child.ts), since with AIM's default
 * limits (one IM per ~4 s per client) the bench would measure the limiter, not the relay.
 *
 * Usage: npm run bench -- server          (N = 100 and 1,000)
 *        CERTIM_BENCH_N=100,1000,5000 npm run bench -- server
 *        CERTIM_BENCH_ROUNDS=5           (rounds per N, default 3: the two targets alternate which runs first, and the
 *                                         ratio is also given as the median over rounds)
 *        CERTIM_BENCH_TARGETS=baseline   (only the baseline; for developing the load generator)
 *        CERTIM_BENCH_PROFILE=/tmp/prof  (V8 CPU profiles of the children)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBenchChild, spawnServerChild, type BenchChild } from './support/child.js';
import { closedLoop, fixedRate, signOnAll, type PhaseResult } from './support/load-run.js';
import { createBenchAccounts, BENCH_PASSWORD, benchScreenName } from './support/bench-accounts.js';
import { fmt, median, sleep } from './support/stats.js';
import { IM_FRAME_BYTES } from './support/load-client.js';

const PHASE_SECONDS = Number(process.env.CERTIM_BENCH_SECONDS ?? 5);
// Even sizes only: clients and the baseline relay pair index i with i ^ 1.
const SIZES = (process.env.CERTIM_BENCH_N ?? '100,1000').split(',').map(Number).filter((n) => n >= 2 && n % 2 === 0);
const TARGETS = (process.env.CERTIM_BENCH_TARGETS ?? 'server,baseline').split(',');
// Rounds per N: each runs both targets on fresh processes, alternating which goes first; the summary is the median.
const ROUNDS = Math.max(1, Number(process.env.CERTIM_BENCH_ROUNDS ?? 3));

interface TargetRun {
  signOnPerSec: number;
  signOnCpuMs: number;
  rssPerSession: number;
  heapPerSession: number;
  /** RSS per session of a second burst of N more sessions on the warm process. */
  warmRssPerSession: number;
  closed: PhaseResult;
  closedPerCpuSec: number;
  fixed: PhaseResult;
}

async function startTarget(kind: string, n: number, dir: string): Promise<BenchChild> {
  if (kind === 'baseline') return spawnBenchChild('bench/support/baseline-relay-main.ts');
  await createBenchAccounts(dir, 2 * n); // N for the load, N more for the warm-memory burst
  return spawnServerChild('bench/support/server-child.ts', [dir]);
}

/** Runs one target at N clients; `rateFor` picks the open-loop rate from the closed-loop result. */
async function runTarget(kind: 'server' | 'baseline', n: number, rateFor: (closed: PhaseResult) => number): Promise<TargetRun> {
  const dir = mkdtempSync(join(tmpdir(), 'certim-bench-'));
  const child = await startTarget(kind, n, dir);
  try {
    const port = Number(child.ready.oscar);
    const before = await child.memory();
    const cpuStart = child.cpuSeconds();
    const signOn = await signOnAll({ kind, host: '127.0.0.1', port }, n, benchScreenName, BENCH_PASSWORD);
    const signOnCpu = child.cpuSeconds() - cpuStart;
    await sleep(200);
    const idle = await child.memory();
    // N more sessions while the first N stay on: what a session costs once the process's one-time costs of the first
    // burst (code compiled for sign-on, the malloc arenas of V8's background compiler) are paid.
    const more = await signOnAll({ kind, host: '127.0.0.1', port }, n, benchScreenName, BENCH_PASSWORD, n);
    await sleep(200);
    const warm = await child.memory();
    for (const c of more.clients) c.close();
    await sleep(500);
    const cpu0 = child.cpuSeconds();
    const closed = await closedLoop(signOn.clients, PHASE_SECONDS);
    const cpu = child.cpuSeconds() - cpu0;
    await sleep(300);
    const fixed = await fixedRate(signOn.clients, rateFor(closed), PHASE_SECONDS);
    for (const c of signOn.clients) c.close();
    return {
      signOnPerSec: n / signOn.seconds,
      signOnCpuMs: (1000 * signOnCpu) / n,
      rssPerSession: (idle.rss - before.rss) / n,
      heapPerSession: (idle.heapUsed + idle.external - before.heapUsed - before.external) / n,
      warmRssPerSession: (warm.rss - idle.rss) / n,
      closed,
      closedPerCpuSec: cpu > 0 ? closed.delivered / cpu : NaN,
      fixed,
    };
  } finally {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function line(name: string, r: TargetRun): string {
  const f = r.fixed;
  return [
    `  ${name.padEnd(8)}`,
    `sign-on ${fmt(r.signOnPerSec).padStart(6)}/s (${fmt(r.signOnCpuMs, 2)} CPU-ms each)`,
    `| closed loop ${fmt(r.closed.perSecond).padStart(7)} IM/s, ${fmt(r.closedPerCpuSec).padStart(7)} IM/relay-CPU-s, p50 ${fmt(r.closed.p50, 2)} ms p99 ${fmt(r.closed.p99, 2)} ms`,
    `| at ${fmt(f.sent / f.seconds)}/s offered: delivered ${fmt((100 * f.delivered) / Math.max(1, f.sent), 1)}%, p50 ${fmt(f.p50, 2)} ms p99 ${fmt(f.p99, 2)} ms`,
    `| idle session ${fmt(r.rssPerSession / 1024, 1)} KB RSS (N more, warm: ${fmt(r.warmRssPerSession / 1024, 1)} KB), ${fmt(r.heapPerSession / 1024, 1)} KB heap+buffers`,
  ].join(' ');
}

console.log(`server bench: loopback, ${IM_FRAME_BYTES}-byte ICBM ch-1 frames, phases of ${PHASE_SECONDS} s, N = ${SIZES.join(', ')}, ${ROUNDS} round(s) each`);
for (const n of SIZES) {
  console.log(`\nN = ${fmt(n)} clients (${n / 2} pairs)`);
  // Offered rate for the latency phase: half of what the server sustained flat out in the first round (or the
  // baseline's, when the server is not benched), the same for both targets and every round, so they are compared
  // below saturation at the same load.
  let rate = 0;
  const pick = (closed: PhaseResult): number => (rate ||= Math.max(100, Math.round(0.5 * closed.perSecond)));
  const perCpu: number[] = [];
  const p99s: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    if (ROUNDS > 1) console.log(`  round ${round}`);
    // Odd rounds run the server first, even rounds the baseline first: a host that drifts during the run (other
    // tenants, thermal state) tilts the rounds both ways instead of always favouring one target.
    const order = TARGETS.filter((t): t is 'server' | 'baseline' => t === 'server' || t === 'baseline');
    if (round % 2 === 0) order.reverse();
    const runs = new Map<string, TargetRun>();
    for (const kind of order) {
      const r = await runTarget(kind, n, pick);
      runs.set(kind, r);
      console.log(line(kind, r));
    }
    const server = runs.get('server');
    const base0 = runs.get('baseline');
    if (server && base0) {
      perCpu.push(server.closedPerCpuSec / base0.closedPerCpuSec);
      p99s.push(server.fixed.p99 / base0.fixed.p99);
      console.log(
        `  ratio server/baseline: throughput ${fmt(server.closed.perSecond / base0.closed.perSecond, 2)} (wall), ` +
          `${fmt(server.closedPerCpuSec / base0.closedPerCpuSec, 2)} (per relay-CPU-second); ` +
          `p99 at ${fmt(rate)}/s: ${fmt(server.fixed.p99 / base0.fixed.p99, 2)}x the baseline's`,
      );
    }
  }
  if (perCpu.length > 1) {
    console.log(
      `  over ${perCpu.length} rounds: per relay-CPU-second median ${fmt(median(perCpu), 2)} (${perCpu.map((x) => fmt(x, 2)).join(', ')}); ` +
        `p99 median ${fmt(median(p99s), 2)}x the baseline's`,
    );
  }
}
