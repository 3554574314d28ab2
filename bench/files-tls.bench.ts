/**
 * Files bench, client part (docs/protocol.md §8.5, §8.6): CERTIM_BENCH_MB (default 200) MB sent with
 * `certim file send` / `certim file receive` (two real CLI processes, pinned TLS, OFT2 with the checksum, file to
 * file) directly and through the rendezvous proxy of a real server process, against a raw TLS pipe between two Node
 * processes through a do-nothing TCP forwarder (bench/support/tls-pipe-main.ts), measured in the same run.
 *
 * Each path runs CERTIM_BENCH_ROUNDS (default 3) times, interleaved (baseline, direct, proxy, the order rotated
 * each round); before every transfer the previous outputs are deleted, the disk synced and the host given
 * CERTIM_BENCH_SETTLE_MS (see SETTLE_MS), so neither the disk's writeback of an earlier file, the memory it freed nor
 * a noisy moment bills one path alone; the figures are medians, every run listed. Reports, per path: throughput of
 * the data phase (first byte to last, as each receiver measures it) and of the whole command (offer, connection,
 * checksum pre-pass included), the ratio to the baseline, and for each relaying
 * process (the server for the proxy, the forwarder for the baseline): its CPU per GB, and its RSS just before the
 * transfer, during it (min-max of samples every 100 ms) and after it. "Flat" means during ≈ before: the relay holds
 * no growing buffer. The server's RSS before the transfer is its idle footprint (the whole server, run from source
 * through tsx as the tests do), which the band should be read against.
 *
 * Usage: npm run bench -- files          CERTIM_BENCH_MB=500 npm run bench -- files-tls
 *        CERTIM_BENCH_PROFILE=DIR also writes V8 CPU profiles of the server and the forwarder into DIR.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { spawnBenchChild } from './support/child.js';
import { fmt, median, sleep } from './support/stats.js';
import { killLiveCliProcesses, TestServer, type TestUser } from '../test/support/cli-process.js';
import { proxyArgs, startFileReceiver } from '../test/support/file-peer.js';

const MB = Number(process.env.CERTIM_BENCH_MB ?? 200);
const TOTAL = MB * 1024 * 1024;
const ROUNDS = Number(process.env.CERTIM_BENCH_ROUNDS ?? 3);
/**
 * Pause after deleting the previous outputs, before each transfer. On this kind of VM (virtio-balloon with free page
 * reporting) the guest hands freed pages back to the host about 2 s after they are freed, and touching such a page
 * again costs a host fault: writing 200 MB into a new file's page cache costs ~0.4-0.5 s of kernel time then, against
 * ~0.06-0.09 s within a second of deleting a file of that size (measured with one process writing 1 MiB batches). A
 * path that starts its transfer sooner after the previous output was deleted (the baseline's three small processes
 * start faster than two certim CLIs that sign on) would otherwise write into cheaper memory; after the pause every path
 * writes into memory in the same state, as a receiver usually does.
 */
const SETTLE_MS = Number(process.env.CERTIM_BENCH_SETTLE_MS ?? 3000);

interface Sample {
  rssBefore: number;
  rssAfter: number;
  rssMin: number;
  rssMax: number;
  cpu: number;
}

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

/** Samples `pid` (RSS, CPU) until `stop` is called; `rssBefore` is taken by the caller before the transfer. */
function sampler(pid: number, rssBefore: number): { stop(): Sample } {
  let rssMin = Infinity;
  let rssMax = 0;
  const cpu0 = cpuSeconds(pid);
  const t = setInterval(() => {
    const r = rss(pid);
    rssMin = Math.min(rssMin, r);
    rssMax = Math.max(rssMax, r);
  }, 100);
  return {
    stop() {
      clearInterval(t);
      return { rssBefore, rssAfter: rss(pid), rssMin, rssMax, cpu: cpuSeconds(pid) - cpu0 };
    },
  };
}

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

interface CertimResult {
  data: number;
  whole: number;
  route: string;
  sample?: Sample;
}

async function certimRun(server: TestServer, alice: TestUser, bob: TestUser, file: string, dir: string, forceProxy: boolean): Promise<CertimResult> {
  const proxy = [...proxyArgs(server), ...(forceProxy ? ['--force-proxy'] : [])];
  const before = rss(server.cli.child.pid!);
  const r = await startFileReceiver(bob, 'alice', dir, proxy, 120_000);
  const s = alice.start(['file', 'send', 'bob', file, '--json', ...proxy]);
  // The proxy's figures cover the transfer only: sampling starts when the receiver reports its first bytes.
  await r.waitFor((o) => o.includes('"event":"progress"'), 'first bytes', 120_000);
  const sm = forceProxy ? sampler(server.cli.child.pid!, before) : undefined;
  const [rs, rr] = await Promise.all([s.finish(600_000), r.finish(600_000)]);
  const sample = sm?.stop();
  if (rs.code !== 0 || rr.code !== 0) throw new Error(`transfer failed:\n${rs.stdout}${rs.stderr}\n${rr.stdout}${rr.stderr}`);
  const got = r.jsonLines().find((l) => l.event === 'received')!;
  const sent = s.jsonLines().find((l) => l.event === 'sent')!;
  if (sha(join(dir, 'payload.bin')) !== sha(file)) throw new Error('the received file differs');
  return { data: Number(got.transferSeconds), whole: Number(sent.seconds), route: String(got.route), ...(sample ? { sample } : {}) };
}

function lineReader(child: ReturnType<typeof spawn>): (event: string) => Promise<Record<string, unknown>> {
  const seen: Record<string, unknown>[] = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      seen.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      return;
    }
    for (const w of waiters.splice(0)) w();
  });
  return async (event) => {
    for (;;) {
      const hit = seen.find((o) => o.event === event);
      if (hit) return hit;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
}

async function baselineRun(out: string, file: string, key: string, cert: string): Promise<{ data: number; sample: Sample }> {
  const fwd = await spawnBenchChild('bench/support/tcp-forwarder-main.ts');
  try {
    const port = String(fwd.ready.port);
    const args = (mode: string, path: string): string[] => ['--import', 'tsx', 'bench/support/tls-pipe-main.ts', mode, port, path, key, cert];
    const recv = spawn(process.execPath, args('recv', out), { stdio: ['ignore', 'pipe', 'inherit'] });
    const recvEvent = lineReader(recv);
    await recvEvent('ready');
    const send = spawn(process.execPath, args('send', file), { stdio: ['ignore', 'pipe', 'inherit'] });
    const sendEvent = lineReader(send);
    const before = rss(fwd.pid);
    await sendEvent('ready');
    const sm = sampler(fwd.pid, before);
    const done = await recvEvent('done');
    const sample = sm.stop();
    await sendEvent('done');
    return { data: Number(done.seconds), sample };
  } finally {
    await fwd.stop();
  }
}

const profile = process.env.CERTIM_BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.CERTIM_BENCH_PROFILE] : [];
const server = await TestServer.start(profile);
try {
  const alice = await server.enrolledUser('alice');
  const bob = await server.enrolledUser('bob');
  const file = join(server.tmp, 'payload.bin');
  writeFileSync(file, randomBytes(TOTAL));
  const key = join(server.tmp, 'bench-key.pem');
  const cert = join(server.tmp, 'bench-cert.pem');
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=bench', '-days', '1'], { encoding: 'utf8' });
  if (gen.status !== 0) throw new Error(`openssl: ${gen.stderr}`);

  console.log(`${MB} MB file to file over TLS, loopback; certim = two CLI processes (pinned TLS, OFT2, checksum); baseline = raw TLS pipe through a do-nothing TCP forwarder`);
  console.log(`${ROUNDS} rounds of (baseline, direct, proxy), the order rotated each round; before every transfer the outputs are deleted, the disk synced and the host left ${SETTLE_MS / 1000} s`);
  const base: Array<{ data: number; sample: Sample }> = [];
  const direct: CertimResult[] = [];
  const proxied: CertimResult[] = [];
  // Where each path writes; every output is deleted before every transfer (below), so each run writes a new file.
  const outputs = { base: join(server.tmp, 'baseline-out.bin'), direct: join(server.tmp, 'in-direct'), proxy: join(server.tmp, 'in-proxy') };
  const phases = [
    async (): Promise<void> => void base.push(await baselineRun(outputs.base, file, key, cert)),
    async (): Promise<void> => void direct.push(await certimRun(server, alice, bob, file, outputs.direct, false)),
    async (): Promise<void> => void proxied.push(await certimRun(server, alice, bob, file, outputs.proxy, true)),
  ];
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < phases.length; k++) {
      // Each transfer starts with no dirty pages left by the one before (writeback would otherwise bill the next), and
      // with the memory of the file deleted before it handed back to the host (see SETTLE_MS).
      for (const out of Object.values(outputs)) rmSync(out, { recursive: true, force: true });
      spawnSync('sync');
      await sleep(SETTLE_MS);
      await phases[(k + round) % phases.length]!();
    }
  }
  const rate = (s: number): number => MB / s;
  const list = (xs: readonly number[]): string => xs.map((x) => fmt(rate(x), 1)).join(', ');
  const baseData = median(base.map((b) => b.data));
  console.log(`baseline TLS pipe via forwarder ${fmt(rate(baseData), 1).padStart(8)} MB/s median (runs: ${list(base.map((b) => b.data))})`);
  for (const [name, rs] of [['certim direct', direct], ['certim via proxy', proxied]] as const) {
    const data = median(rs.map((r) => r.data));
    const whole = median(rs.map((r) => r.whole));
    console.log(`${name.padEnd(31)} ${fmt(rate(data), 1).padStart(8)} MB/s data phase median (${rs[0]!.route}; runs: ${list(rs.map((r) => r.data))}); whole command ${fmt(rate(whole), 1)} MB/s; ratio to baseline ${fmt(baseData / data, 2)} (data), ${fmt(baseData / whole, 2)} (whole)`);
  }
  const mib = (n: number): string => fmt(n / 2 ** 20, 1);
  const relay = (name: string, x: Sample): void =>
    console.log(`${name.padEnd(31)} CPU ${fmt((x.cpu * 1024) / MB, 2)} s/GB; RSS before ${mib(x.rssBefore)} MiB, during ${mib(x.rssMin)}-${mib(x.rssMax)} MiB, after ${mib(x.rssAfter)} MiB`);
  proxied.forEach((r, i) => relay(`proxy (server), run ${i + 1}`, r.sample!));
  base.forEach((b, i) => relay(`forwarder, run ${i + 1}`, b.sample));
} finally {
  await server.stop();
  killLiveCliProcesses(); // a CLI left by a failed phase must not keep the bench alive
}
