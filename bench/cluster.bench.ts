/**
 * Cluster bench: two real cluster nodes (child processes: startServer with Postgres and NATS) and N load clients
 * in pairs exchanging ~300-byte ICBM channel-1 IMs, in two placements measured in the same run on the same nodes:
 *
 * - **one node**: both users of every pair signed on at node A (B idles, still in the cluster: heartbeats, watch);
 * - **cross node**: the two users of every pair on different nodes, so every IM goes A -> NATS -> B or back.
 *
 * Figures: IMs per total server CPU-second (both nodes' user+system CPU from /proc; the shared nats-server's CPU is
 * printed apart when readable, it is not ours alone on this host), throughput flat out (closed loop), p50/p99
 * latency at half of the cross-node maximum offered to both placements, and the cost again at 90 % of the cross-node
 * maximum. The ratio line is the cross-node cost per IM over the one-node cost per IM at the same offered rates; flat
 * out it is printed too, but there the two placements run at different rates, and one node's cost per IM falls with
 * its rate (it batches more writes per system call), so that figure compares loads as much as placements
 * (docs/performance.md §2.6). The latency baseline is the do-nothing FLAP relay of the server bench
 * (bench/support/baseline-relay.ts), offered the same rate by the same load generator in the same run: whatever
 * p99 it shows comes from the host and the load generator, not from certim. A second baseline is one NATS hop alone at
 * the same rate (publish -> subscriber through the same nats-server): what a cross-node IM's hop costs on this host.
 * Beside every latency phase runs an idle probe (bench/support/idle-probe-main.ts), a process that does nothing: its
 * timer delay p99/max is what the host (the VM, and every other process competing for the cores) does to any process
 * in that phase; on the VMs here an idle process sees 5-10 ms stalls about once a second even when the host is idle.
 *
 * Usage: npm run bench -- cluster     (CERTIM_BENCH_N=200 clients, CERTIM_BENCH_SECONDS=5 per phase, CERTIM_BENCH_RATE
 * to fix the offered rate of the latency phases instead of half the cross-node maximum; CERTIM_BENCH_WINDOW=2 IMs in
 * flight per client in the closed loop; CERTIM_BENCH_SERVER_FLAGS= extra node flags for both nodes, e.g.
 * "--max-semi-space-size=2")
 * Needs Postgres (CERTIM_TEST_PG) and NATS (CERTIM_TEST_NATS), like the cluster tests.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { hashPassword, makeLegacyVerifier } from '../src/server/auth/password.js';
import { openStore } from '../src/store/index.js';
import { BENCH_PASSWORD, benchScreenName } from './support/bench-accounts.js';
import { spawnBenchChild, spawnServerChild, type BenchChild } from './support/child.js';
import type { LoopDelaySample } from './support/child-ipc.js';
import { IM_FRAME_BYTES, LoadClient } from './support/load-client.js';
import { closedLoop, fixedRate, paced, signOnAll, type PhaseResult } from './support/load-run.js';
import { fmt, quantile, sleep } from './support/stats.js';

const N = Number(process.env.CERTIM_BENCH_N ?? 200);
const SECONDS = Number(process.env.CERTIM_BENCH_SECONDS ?? 5);
/** IMs in flight per client in the closed loop (the flat-out phase). */
const WINDOW = Math.max(1, Number(process.env.CERTIM_BENCH_WINDOW ?? 2));
const PG_URL = process.env.CERTIM_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const NATS = process.env.CERTIM_TEST_NATS ?? 'nats://127.0.0.1:4222';
const RUN = randomBytes(3).toString('hex');
const SCHEMA = `certim_bench_${RUN}`;
const CLUSTER = `bench${RUN}`;

/** CPU seconds of the local nats-server, if there is one we may read (shared: indicative only). */
function natsCpuSeconds(): number | undefined {
  try {
    const pid = execFileSync('pidof', ['nats-server'], { encoding: 'utf8' }).trim().split(/\s+/)[0];
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / 100;
  } catch {
    return undefined;
  }
}

/**
 * Runs a phase while measuring the load generator's own event-loop delay: a stalled generator timestamps late and
 * reads late, and every IM it stalls on shows as latency of whatever is being measured.
 */
async function generatorDelay(phase: () => Promise<PhaseResult>): Promise<PhaseResult & { generatorP99: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  try {
    const r = await phase();
    return { ...r, generatorP99: h.percentile(99) / 1e6 };
  } finally {
    h.disable();
  }
}

/**
 * One NATS hop alone at `rate` messages/s (5 ms tick, like fixedRate): publish on one connection to a subscriber on
 * another, both in this process, IM-sized payloads; the latency a cross-node IM's NATS hop gets from this nats-server
 * and host, with no certim code on the path.
 */
async function natsHop(rate: number, seconds: number): Promise<{ p50: number; p99: number }> {
  const servers = NATS.replace(/^nats:\/\//, '').replace(/[/?].*$/, '');
  const [pub, sub] = await Promise.all([connect({ servers }), connect({ servers })]);
  try {
    const subject = `certim.${CLUSTER}.benchhop`;
    const sentAt = new Map<number, number>();
    const latencies: number[] = [];
    sub.subscribe(subject, {
      callback: (_err, m) => {
        const id = new DataView(m.data.buffer, m.data.byteOffset, 8).getFloat64(0);
        const t = sentAt.get(id);
        if (t !== undefined) latencies.push(performance.now() - t);
      },
    });
    await sub.flush();
    const payload = new Uint8Array(IM_FRAME_BYTES);
    await paced(rate, seconds, (i) => {
      new DataView(payload.buffer).setFloat64(0, i + 1);
      sentAt.set(i + 1, performance.now());
      pub.publish(subject, payload);
    });
    await sleep(1000);
    return { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
  } finally {
    await Promise.all([pub.close(), sub.close()]);
  }
}

/** The 1-minute load average (how crowded the shared host was during the run). */
function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? '?';
  } catch {
    return '?';
  }
}

interface Placement {
  closed: PhaseResult;
  /** IMs per server CPU-second (both nodes), flat out. */
  perCpuSec: number;
  natsCpuPerIm: number | undefined;
  fixed: PhaseResult & { generatorP99: number };
  /** Each node's event-loop delay during the fixed-rate phase. */
  nodeDelay: LoopDelaySample[];
  /** The idle probe's event-loop delay during the fixed-rate phase (the host's own stalls). */
  hostDelay: LoopDelaySample;
  /** IMs per server CPU-second (both nodes) at the fixed offered rate. */
  fixedPerCpuSec: number;
  /** The phase at 90 % of the cross-node maximum (cost near full load, both placements offered the same rate). */
  high: PhaseResult;
  /** IMs per server CPU-second (both nodes) in that phase. */
  highPerCpuSec: number;
}

async function signOnAt(nodes: BenchChild[], nodeOf: (i: number) => number): Promise<LoadClient[]> {
  const clients = new Array<LoadClient>(N);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < N) {
      const i = next++;
      clients[i] = await LoadClient.signOn({ kind: 'server', host: '127.0.0.1', port: Number(nodes[nodeOf(i)]!.ready.oscar) }, benchScreenName(i), BENCH_PASSWORD, i);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  for (let i = 0; i < N; i++) clients[i]!.setPartner(benchScreenName(i ^ 1));
  await sleep(500);
  return clients;
}

async function measure(
  nodes: BenchChild[], probe: BenchChild, nodeOf: (i: number) => number, rateFor: (closed: PhaseResult) => number, highFor: (closed: PhaseResult) => number,
): Promise<Placement> {
  const clients = await signOnAt(nodes, nodeOf);
  try {
    const cpu0 = nodes.reduce((s, n) => s + n.cpuSeconds(), 0);
    const nats0 = natsCpuSeconds();
    const closed = await closedLoop(clients, SECONDS, WINDOW);
    const cpu = nodes.reduce((s, n) => s + n.cpuSeconds(), 0) - cpu0;
    const nats1 = natsCpuSeconds();
    await sleep(300);
    const fcpu0 = nodes.reduce((s, n) => s + n.cpuSeconds(), 0);
    await Promise.all([...nodes, probe].map((n) => n.loopDelay()));
    const fixed = await generatorDelay(() => fixedRate(clients, rateFor(closed), SECONDS));
    const nodeDelay = await Promise.all(nodes.map((n) => n.loopDelay()));
    const hostDelay = await probe.loopDelay();
    const fcpu = nodes.reduce((s, n) => s + n.cpuSeconds(), 0) - fcpu0;
    await sleep(300);
    const hcpu0 = nodes.reduce((s, n) => s + n.cpuSeconds(), 0);
    const high = await fixedRate(clients, highFor(closed), SECONDS);
    const hcpu = nodes.reduce((s, n) => s + n.cpuSeconds(), 0) - hcpu0;
    return {
      closed,
      perCpuSec: closed.delivered / cpu,
      natsCpuPerIm: nats0 !== undefined && nats1 !== undefined && closed.delivered > 0 ? (nats1 - nats0) / closed.delivered : undefined,
      fixed,
      nodeDelay,
      hostDelay,
      fixedPerCpuSec: fixed.delivered / fcpu,
      high,
      highPerCpuSec: high.delivered / hcpu,
    };
  } finally {
    for (const c of clients) c.close();
    await sleep(1500); // sign-offs reach the directory before the next placement signs the same users on
  }
}

function line(name: string, p: Placement): string {
  const f = p.fixed;
  return [
    `  ${name.padEnd(10)} closed loop ${fmt(p.closed.perSecond).padStart(6)} IM/s, ${fmt(p.perCpuSec).padStart(6)} IM per server-CPU-s`,
    `(p99 ${fmt(p.closed.p99, 2)} ms)`,
    `| at ${fmt(f.sent / f.seconds)}/s offered: ${fmt(p.fixedPerCpuSec).padStart(6)} IM per server-CPU-s, delivered ${fmt((100 * f.delivered) / Math.max(1, f.sent), 1)}%, p50 ${fmt(f.p50, 2)} ms, p99 ${fmt(f.p99, 2)} ms (generator event-loop delay p99 ${fmt(f.generatorP99, 1)} ms;`,
    `node event-loop delay p99/max ${p.nodeDelay.map((d) => `${fmt(d.p99, 1)}/${fmt(d.max, 0)}`).join(', ')} ms; idle probe ${fmt(p.hostDelay.p99, 1)}/${fmt(p.hostDelay.max, 0)} ms)`,
    `| at ${fmt(p.high.sent / p.high.seconds)}/s offered: ${fmt(p.highPerCpuSec).padStart(6)} IM per server-CPU-s, delivered ${fmt((100 * p.high.delivered) / Math.max(1, p.high.sent), 1)}%`,
    p.natsCpuPerIm !== undefined ? `| nats-server ${fmt(p.natsCpuPerIm * 1e6, 1)} CPU-µs/IM` : '',
  ].join(' ');
}

const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
await admin.connect();
await admin.query(`CREATE SCHEMA ${SCHEMA}`);
const tmp = mkdtempSync(join(tmpdir(), 'certim-cluster-bench-'));
process.env.CERTIM_CA_PASSPHRASE = randomBytes(12).toString('hex');
const dbUrl = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${SCHEMA}`)}`;
const nodes: BenchChild[] = [];
let probe: BenchChild | undefined;
try {
  const store = await openStore(PG_URL, { schema: SCHEMA });
  const passwordHash = await hashPassword(BENCH_PASSWORD);
  for (let i = 0; i < N; i++) {
    await store.accounts.create({ screenName: benchScreenName(i), passwordHash, legacyVerifier: makeLegacyVerifier(BENCH_PASSWORD), legacyLoginEnabled: true });
  }
  await store.close();
  for (const name of ['a', 'b']) nodes.push(await spawnServerChild('bench/support/cluster-node-child.ts', [join(tmp, name), dbUrl, `${NATS}?name=${CLUSTER}`]));

  const idle0 = nodes.reduce((s, n) => s + n.cpuSeconds(), 0);
  await sleep(2000);
  const idleCpu = (nodes.reduce((s, n) => s + n.cpuSeconds(), 0) - idle0) / 2;
  console.log(`cluster bench: 2 nodes (Postgres + NATS), ${N} clients in ${N / 2} pairs, ${IM_FRAME_BYTES}-byte ICBM ch-1 frames, phases of ${SECONDS} s`);
  // Cross-node first: half of its maximum is the load both placements are offered for the latency figures.
  // CERTIM_BENCH_RATE fixes it instead (to compare runs, e.g. two builds, at one offered rate).
  let rate = Number(process.env.CERTIM_BENCH_RATE ?? 0);
  const pick = (closed: PhaseResult): number => (rate ||= Math.max(100, Math.round(0.5 * closed.perSecond)));
  // The cost comparison near full load: both placements offered 90 % of the cross-node maximum.
  let high = 0;
  const pickHigh = (closed: PhaseResult): number => (high ||= Math.max(100, Math.round(0.9 * closed.perSecond)));
  // A process doing nothing, whose timer delay during each latency phase is the host's share of any tail.
  probe = await spawnBenchChild('bench/support/idle-probe-main.ts');
  const cross = await measure(nodes, probe, (i) => i & 1, pick, pickHigh);
  const one = await measure(nodes, probe, () => 0, pick, pickHigh);
  // The same offered rate through the do-nothing relay: the latency the host and the load generator alone cause.
  const relay = await spawnBenchChild('bench/support/baseline-relay-main.ts');
  let base: PhaseResult & { generatorP99: number };
  let baseHost: LoopDelaySample;
  try {
    const signOn = await signOnAll({ kind: 'baseline', host: '127.0.0.1', port: Number(relay.ready.oscar) }, N, benchScreenName, BENCH_PASSWORD);
    await probe.loopDelay();
    base = await generatorDelay(() => fixedRate(signOn.clients, rate, SECONDS));
    baseHost = await probe.loopDelay();
    for (const c of signOn.clients) c.close();
  } finally {
    await relay.stop();
  }
  const hop = await natsHop(rate, SECONDS);
  console.log(`  idle cluster: both nodes together use ${fmt(100 * idleCpu, 1)}% of a core (heartbeats, watch, timers)`);
  console.log(line('one node', one));
  console.log(line('cross node', cross));
  console.log(
    `  ratio cross/one: cost per IM at the same offered rate ${fmt(one.fixedPerCpuSec / cross.fixedPerCpuSec, 2)}x at ${fmt(rate)}/s (half the cross-node maximum), ` +
      `${fmt(one.highPerCpuSec / cross.highPerCpuSec, 2)}x at ${fmt(high)}/s (90 %); flat out ${fmt(one.perCpuSec / cross.perCpuSec, 2)}x at different rates (server CPU, both nodes), ` +
      `throughput ${fmt(cross.closed.perSecond / one.closed.perSecond, 2)}; p99 at ${fmt(rate)}/s: ${fmt(cross.fixed.p99, 2)} ms vs ${fmt(one.fixed.p99, 2)} ms`,
  );
  console.log(
    `  baseline (do-nothing relay, same rate, same generator): p50 ${fmt(base.p50, 2)} ms, p99 ${fmt(base.p99, 2)} ms (generator event-loop delay p99 ${fmt(base.generatorP99, 1)} ms; idle probe ${fmt(baseHost.p99, 1)}/${fmt(baseHost.max, 0)} ms); ` +
      `p99 over the baseline's: cross-node ${fmt(cross.fixed.p99 / base.p99, 2)}x, one node ${fmt(one.fixed.p99 / base.p99, 2)}x; host load average ${loadAverage()}`,
  );
  console.log(`  one NATS hop alone (publish -> subscriber, same rate, this nats-server): p50 ${fmt(hop.p50, 2)} ms, p99 ${fmt(hop.p99, 2)} ms (a cross-node IM makes one)`);
} finally {
  for (const n of nodes) await n.stop();
  await probe?.stop();
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).finally(() => admin.end());
  const nc = await connect({ servers: NATS.replace(/^nats:\/\//, '') });
  for await (const b of new Kvm(nc).list()) if (b.bucket.startsWith(`certim_${CLUSTER}_`)) await (await new Kvm(nc).open(b.bucket)).destroy();
  await nc.close();
  rmSync(tmp, { recursive: true, force: true });
}
