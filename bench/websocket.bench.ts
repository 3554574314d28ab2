/**
 * OSCAR over WebSocket against OSCAR over TLS (docs/protocol.md §14), same server process, same run: P pairs of
 * client-library connections (sign-on through src/client/sign-on.ts, then raw 04/06 channel-1 IMs of ~300 bytes)
 * in a closed loop with a window of W IMs in flight per pair; we report IMs delivered per second and per server
 * CPU-second for each transport, and the ratio WS/TLS. The server child is the real composition with relaxed IM
 * rate classes (bench/support/server-child.ts).
 *
 * Usage: npm run bench -- websocket      (CERTIM_BENCH_PAIRS=10, CERTIM_BENCH_SECONDS=5)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { nodeTransportFactory } from '../src/client/node/tcp-transport.js';
import type { OscarConnection } from '../src/client/oscar-connection.js';
import { signOn } from '../src/client/sign-on.js';
import type { TransportFactory } from '../src/client/transport.js';
import { webSocketTransportFactory } from '../src/client/ws-transport.js';
import { encodeIcbmChannelMsgToHost, encodeImMessage } from '../src/wire/icbm-message.js';
import { tlv } from '../src/wire/tlv.js';
import { BENCH_PASSWORD, benchScreenName, createBenchAccounts } from './support/bench-accounts.js';
import { spawnServerChild } from './support/child.js';
import { fmt, sleep } from './support/stats.js';

const PAIRS = Number(process.env.CERTIM_BENCH_PAIRS ?? 10);
const SECONDS = Number(process.env.CERTIM_BENCH_SECONDS ?? 5);
const WINDOW = 8;

function imTo(to: string): Uint8Array {
  const data = encodeImMessage({ features: Uint8Array.of(1), parts: [{ charset: 0, text: new Uint8Array(240).fill(0x78) }] });
  return encodeIcbmChannelMsgToHost({ cookie: new Uint8Array(8), channel: 1, screenName: to, tlvs: [tlv(0x0002, data)] });
}

interface Run {
  perSecond: number;
  perCpuSecond: number;
}

async function run(kind: 'tls' | 'ws', transport: TransportFactory, port: number, cpu: () => number, first: number): Promise<Run> {
  const conns: OscarConnection[] = [];
  const received: number[] = [];
  let delivered = 0;
  let running = true;
  const sendNext: Array<() => void> = [];
  for (let i = 0; i < 2 * PAIRS; i++) {
    const me = i;
    const { bos } = await signOn({
      screenName: benchScreenName(first + i), password: BENCH_PASSWORD, mode: 'md5', server: { host: '127.0.0.1', port }, transport,
      capabilities: [], buddies: [],
      handlers: {
        onSnac: (s) => {
          if (s.family !== 4 || s.subtype !== 7) return;
          received[me] = (received[me] ?? 0) + 1;
          delivered++;
          if (running) sendNext[me - 1]?.(); // receivers are odd; their sender is the one before
        },
      },
    });
    conns.push(bos);
  }
  for (let p = 0; p < PAIRS; p++) {
    const sender = conns[2 * p]!;
    const body = imTo(benchScreenName(first + 2 * p + 1));
    sendNext[2 * p] = () => sender.send(4, 6, body);
  }
  const cpu0 = cpu();
  const t0 = performance.now();
  const d0 = delivered;
  for (let p = 0; p < PAIRS; p++) for (let w = 0; w < WINDOW; w++) sendNext[2 * p]!();
  await sleep(SECONDS * 1000);
  running = false;
  const seconds = (performance.now() - t0) / 1000;
  const used = cpu() - cpu0;
  const n = delivered - d0;
  await sleep(200);
  for (const c of conns) c.close();
  console.log(`  ${kind.padEnd(3)} ${fmt(n / seconds).padStart(7)} IM/s, ${fmt(n / used).padStart(7)} IM per server-CPU-s`);
  return { perSecond: n / seconds, perCpuSecond: n / used };
}

const dir = mkdtempSync(join(tmpdir(), 'certim-bench-ws-'));
await createBenchAccounts(dir, 4 * PAIRS);
const child = await spawnServerChild('bench/support/server-child.ts', [dir]);
try {
  const caPem = ['root.crt', 'issuing.crt'].map((f) => readFileSync(join(dir, 'ca', f), 'utf8'));
  const https = Number(child.ready.https);
  const origin = `https://127.0.0.1:${https}`;
  const Ctor = class extends WebSocket {
    constructor(url: string) {
      super(url, { ca: caPem, origin });
    }
  };
  console.log(`websocket bench: ${PAIRS} pairs, window ${WINDOW}, ~300-byte IMs, ${SECONDS} s per transport, one server process`);
  const tls = await run('tls', nodeTransportFactory({ caPem }), Number(child.ready.oscarTls), () => child.cpuSeconds(), 0);
  const ws = await run('ws', webSocketTransportFactory({ WebSocket: Ctor }), https, () => child.cpuSeconds(), 2 * PAIRS);
  console.log(`  ratio ws/tls: ${fmt(ws.perSecond / tls.perSecond, 2)} (wall), ${fmt(ws.perCpuSecond / tls.perCpuSecond, 2)} (per server-CPU-second)`);
} finally {
  await child.stop();
  rmSync(dir, { recursive: true, force: true });
}
