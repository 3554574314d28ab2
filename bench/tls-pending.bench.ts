/**
 * Pending TLS handshakes bench: N connections (from N/10 loopback source addresses, so per-address caps do not
 * refuse them) are opened to the OSCAR-over-TLS port and left hanging — `silent` ones send nothing, `hello` ones
 * send a real ClientHello and never answer the server's reply — then closed. We report the server process's RSS
 * (after a forced GC) before, while they hang, and after they closed, for the real server (bench/support/
 * server-child.ts) and for a bare `tls.createServer` baseline measured in the same run; the ratio is the real
 * server's growth over the baseline's (lower is better).
 *
 * Usage: npm run bench -- tls-pending        (N = 5,000; CERTIM_BENCH_N=2000 for another size)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect, createServer as createTcpServer, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBenchChild, spawnServerChild, type BenchChild } from './support/child.js';
import { fmt, sleep } from './support/stats.js';

const N = Number(process.env.CERTIM_BENCH_N ?? 5000);
const MB = 1024 * 1024;

/** A real ClientHello, captured from Node's TLS client talking to a throwaway TCP server. */
async function clientHello(): Promise<Buffer> {
  return new Promise((resolve) => {
    const srv = createTcpServer((c) => c.once('data', (d: Buffer) => {
      resolve(d);
      c.destroy();
      srv.close();
    })).listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const c = tlsConnect({ port: typeof addr === 'object' && addr ? addr.port : 0, host: '127.0.0.1', rejectUnauthorized: false });
      c.on('error', () => {});
    });
  });
}

async function measure(child: BenchChild, port: number, mode: 'silent' | 'hello', hello: Buffer): Promise<{ base: number; peak: number; after: number }> {
  const base = (await child.memory()).rss;
  const socks: Socket[] = [];
  for (let i = 0; i < N; i++) {
    const a = Math.floor(i / 10) + 1;
    const s = tcpConnect({ host: '127.0.0.1', port, localAddress: `127.2.${a >> 8}.${a & 255}` });
    s.on('error', () => {});
    if (mode === 'hello') s.on('connect', () => s.write(hello));
    s.resume();
    socks.push(s);
    if (i % 200 === 199) await sleep(20);
  }
  await sleep(1500);
  const peak = (await child.memory()).rss;
  for (const s of socks) s.destroy();
  await sleep(3000);
  const after = (await child.memory()).rss;
  return { base, peak, after };
}

const hello = await clientHello();
const dir = mkdtempSync(join(tmpdir(), 'certim-bench-'));
try {
  const rows: Record<string, Record<string, { base: number; peak: number; after: number }>> = {};
  for (const target of ['server', 'baseline'] as const) {
    rows[target] = {};
    for (const mode of ['silent', 'hello'] as const) {
      const child = target === 'server'
        ? await spawnServerChild('bench/support/server-child.ts', [join(dir, `${mode}`)])
        : await spawnBenchChild('bench/support/baseline-tls-main.ts');
      try {
        rows[target]![mode] = await measure(child, Number(child.ready.oscarTls), mode, hello);
      } finally {
        await child.stop();
      }
    }
  }
  console.log(`pending TLS handshakes, N = ${N} (RSS MB after GC: before / while hanging / after closing)`);
  for (const mode of ['silent', 'hello'] as const) {
    const s = rows.server![mode]!;
    const b = rows.baseline![mode]!;
    const line = (r: { base: number; peak: number; after: number }): string =>
      `${fmt(r.base / MB).padStart(5)} / ${fmt(r.peak / MB).padStart(5)} / ${fmt(r.after / MB).padStart(5)}`;
    console.log(`  ${mode.padEnd(6)} certim ${line(s)}   bare tls.Server ${line(b)}`);
    console.log(`         growth while hanging: certim ${fmt((s.peak - s.base) / MB)} MB vs ${fmt((b.peak - b.base) / MB)} MB (ratio ${fmt((s.peak - s.base) / Math.max(1, b.peak - b.base), 2)}); ` +
      `kept after closing: ${fmt((s.after - s.base) / MB)} MB vs ${fmt((b.after - b.base) / MB)} MB`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
