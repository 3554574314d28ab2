/**
 * Files bench, proxy part (docs/protocol.md §8.3): CERTIM_BENCH_MB (default 200) MB from one peer to another
 * through the rendezvous proxy of a real server process, against a do-nothing TCP forwarder process measured in the
 * same run. Reports throughput and the ratio proxy / forwarder, the relaying process's CPU per GB, and its RSS
 * just before the transfer (its idle footprint, peers paired) and during it (min and max of samples every 100 ms:
 * flat, i.e. close to the figure before, means the proxy does not buffer).
 *
 * Both peers run here and speak plain bytes: TLS between the peers (what certim clients run inside the splice) costs
 * the same on both paths and is left to the client-side file-transfer bench.
 *
 * Usage: npm run bench -- files          CERTIM_BENCH_MB=1000 npm run bench -- files
 */
import { randomBytes, randomInt } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_PASSWORD, benchScreenName, createBenchAccounts } from './support/bench-accounts.js';
import { spawnBenchChild, spawnServerChild, type BenchChild } from './support/child.js';
import { fmt } from './support/stats.js';
import { signOn } from '../test/support/oscar-test-client.js';
import { ProxyClient, proxiedProposal } from '../test/support/rv-proxy-client.js';

const MB = Number(process.env.CERTIM_BENCH_MB ?? 200);
const TOTAL = MB * 1024 * 1024;
const CHUNK = randomBytes(1024 * 1024);

interface Run {
  seconds: number;
  rssBefore: number;
  cpuSeconds: number;
  rssMin: number;
  rssMax: number;
}

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** Streams TOTAL bytes from `from` to `to` (with backpressure) while sampling `child`. */
async function transfer(child: BenchChild, from: Socket, to: Socket): Promise<Run> {
  let received = 0;
  const done = new Promise<void>((resolve) => {
    to.on('data', (d: Buffer) => {
      received += d.length;
      if (received >= TOTAL) resolve();
    });
  });
  const rssBefore = rss(child.pid);
  let rssMin = Infinity;
  let rssMax = 0;
  const sampler = setInterval(() => {
    const r = rss(child.pid);
    rssMin = Math.min(rssMin, r);
    rssMax = Math.max(rssMax, r);
  }, 100);
  const cpu0 = child.cpuSeconds();
  const t0 = process.hrtime.bigint();
  for (let sent = 0; sent < TOTAL; sent += CHUNK.length) {
    if (!from.write(CHUNK)) await once(from, 'drain');
  }
  await done;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  clearInterval(sampler);
  return { seconds, rssBefore, cpuSeconds: child.cpuSeconds() - cpu0, rssMin, rssMax };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

async function viaForwarder(): Promise<Run> {
  const child = await spawnBenchChild('bench/support/tcp-forwarder-main.ts');
  try {
    const port = Number(child.ready.port);
    const a = await open(port);
    const b = await open(port);
    const r = await transfer(child, a, b);
    a.destroy();
    b.destroy();
    return r;
  } finally {
    await child.stop();
  }
}

async function viaProxy(): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'certim-bench-files-'));
  await createBenchAccounts(dir, 2);
  const child = await spawnServerChild('bench/support/proxy-server-child.ts', [dir]);
  try {
    const ep = { port: Number(child.ready.oscar) };
    const [alice, bob] = [await signOn(ep, benchScreenName(0), BENCH_PASSWORD, 'md5-strong'), await signOn(ep, benchScreenName(1), BENCH_PASSWORD, 'md5-strong')];
    const proxyPort = Number(child.ready.proxy);
    const cookie = randomBytes(8);
    const a = await ProxyClient.open(proxyPort);
    const ack = await a.initSend(alice.screenName, cookie);
    alice.conn.sendSnac(0x0004, 0x0006, proxiedProposal(bob.screenName, cookie, ack.port, ack.ipv4));
    await bob.conn.expectSnac(0x0004, 0x0007);
    const b = await ProxyClient.open(proxyPort);
    b.sendInitRecv(bob.screenName, cookie, ack.port);
    await Promise.all([a.ready(), b.ready()]);
    b.socket.removeAllListeners('data');
    const r = await transfer(child, a.socket, b.socket);
    a.close();
    b.close();
    alice.conn.close();
    bob.conn.close();
    return r;
  } finally {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(name: string, r: Run): number {
  const mbps = MB / r.seconds;
  console.log(`${name.padEnd(16)} ${fmt(mbps, 1).padStart(8)} MB/s   CPU ${fmt((r.cpuSeconds * 1024) / MB, 2)} s/GB   RSS ${fmt(r.rssBefore / 2 ** 20, 1)} MiB before, ${fmt(r.rssMin / 2 ** 20, 1)}-${fmt(r.rssMax / 2 ** 20, 1)} MiB during transfer`);
  return mbps;
}

console.log(`${MB} MB, one direction, loopback; relay process measured (CPU from /proc, RSS sampled every 100 ms)`);
// Alternate the order so neither path always runs on a warmer machine.
const proxyFirst = randomInt(2) === 0;
const runs = proxyFirst ? [await viaProxy(), await viaForwarder()] : [await viaForwarder(), await viaProxy()].reverse();
const p = report('rendezvous proxy', runs[0]!);
const f = report('TCP forwarder', runs[1]!);
console.log(`throughput ratio proxy / forwarder: ${fmt(p / f, 2)}`);
