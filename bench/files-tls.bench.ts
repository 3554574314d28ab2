/**
 * Files bench, client part (docs/protocol.md §8.5, §8.6): CERTIM_BENCH_MB (default 200) MB sent with
 * `certim file send` / `certim file receive` (two real CLI processes, pinned TLS, OFT2 with the checksum, file to
 * file) directly and through the rendezvous proxy of a real server process, against a raw TLS pipe between two Node
 * processes through a do-nothing TCP forwarder (bench/support/tls-pipe-main.ts), measured in the same run.
 *
 * Reports, per path: throughput of the data phase (first byte to last, as each receiver measures it) and of the
 * whole command (offer, connection, checksum pre-pass included), the ratio to the baseline, and for each relaying
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
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { spawnBenchChild } from './support/child.js';
import { fmt } from './support/stats.js';
import { killLiveCliProcesses, TestServer, type RunningCli, type TestUser } from '../test/support/cli-process.js';

const MB = Number(process.env.CERTIM_BENCH_MB ?? 200);
const TOTAL = MB * 1024 * 1024;

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

async function certimRun(server: TestServer, alice: TestUser, bob: TestUser, file: string, dir: string, forceProxy: boolean): Promise<{ data: number; whole: number; route: string; sample?: Sample }> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const proxy = ['--proxy', `127.0.0.1:${server.ready.proxy}`, ...(forceProxy ? ['--force-proxy'] : [])];
  const before = rss(server.cli.child.pid!);
  const r: RunningCli = bob.start(['file', 'receive', '--dir', dir, '--json', '--accept-from', 'alice', ...proxy]);
  await r.waitFor((o) => o.includes('"event":"ready"'), 'receiver ready', 120_000);
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

async function baselineRun(tmp: string, file: string, key: string, cert: string): Promise<{ data: number; sample: Sample }> {
  const fwd = await spawnBenchChild('bench/support/tcp-forwarder-main.ts');
  try {
    const port = String(fwd.ready.port);
    const args = (mode: string, path: string): string[] => ['--import', 'tsx', 'bench/support/tls-pipe-main.ts', mode, port, path, key, cert];
    const recv = spawn(process.execPath, args('recv', join(tmp, 'baseline-out.bin')), { stdio: ['ignore', 'pipe', 'inherit'] });
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
  const base = await baselineRun(server.tmp, file, key, cert);
  const direct = await certimRun(server, alice, bob, file, join(server.tmp, 'in-direct'), false);
  const proxied = await certimRun(server, alice, bob, file, join(server.tmp, 'in-proxy'), true);
  const base2 = await baselineRun(server.tmp, file, key, cert);
  const baseData = Math.min(base.data, base2.data);
  const rate = (s: number): number => MB / s;
  console.log(`baseline TLS pipe via forwarder ${fmt(rate(baseData), 1).padStart(8)} MB/s (best of 2: ${fmt(rate(base.data), 1)}, ${fmt(rate(base2.data), 1)})   forwarder CPU ${fmt((base.sample.cpu * 1024) / MB, 2)} s/GB`);
  for (const [name, r] of [['certim direct', direct], ['certim via proxy', proxied]] as const) {
    console.log(`${name.padEnd(31)} ${fmt(rate(r.data), 1).padStart(8)} MB/s data phase (${r.route}); whole command ${fmt(rate(r.whole), 1)} MB/s; ratio to baseline ${fmt(baseData / r.data, 2)} (data), ${fmt(baseData / r.whole, 2)} (whole)`);
  }
  const mib = (n: number): string => fmt(n / 2 ** 20, 1);
  const relay = (name: string, x: Sample): void =>
    console.log(`${name.padEnd(31)} CPU ${fmt((x.cpu * 1024) / MB, 2)} s/GB; RSS before ${mib(x.rssBefore)} MiB, during ${mib(x.rssMin)}-${mib(x.rssMax)} MiB, after ${mib(x.rssAfter)} MiB`);
  relay('proxy (server process)', proxied.sample!);
  relay('forwarder (baseline run 1)', base.sample);
  relay('forwarder (baseline run 2)', base2.sample);
} finally {
  await server.stop();
  killLiveCliProcesses(); // a CLI left by a failed phase must not keep the bench alive
}
