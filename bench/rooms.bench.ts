/**
 * Rooms bench, server half (docs/protocol.md §3.8): M members (default 50) in one secure room, each sending
 * `0E/05` with a ~300-byte message block at a fixed rate; we measure deliveries (`0E/06` received by the other
 * members) per relay CPU-second and the delivery latency p50/p99, against a do-nothing multicast relay measured in
 * the same run (bench/support/baseline-multicast.ts: every frame to every other socket, nothing parsed). Goal:
 * ≥ 0.5× the baseline's deliveries per CPU-second.
 *
 * Both run as child processes, so their CPU (from /proc) is not mixed with the load generator's. The server child
 * is the real composition (src/server/main.ts) with rate classes relaxed (server-child.ts): with AIM's class 2 a
 * member may send about one message per 1.5 s, and the bench would measure the limiter. Members sign on, create
 * and join the room through the real protocol (BUCP, `01/04` -> `01/05`, ChatNav, Chat) before the clock starts.
 *
 * The send time travels in the message cookie (µs since the load generator started): the server copies it into
 * `0E/06` and the baseline forwards the `0E/05` itself, so receivers find it at the same offset in both.
 *
 * The client half (bench/support/rooms-client.ts) follows: the client's cost per secure room message against
 * `openssl speed` (RSA-2048 sign/verify, AES-256-CBC) measured in the same run.
 *
 * Usage: npm run bench -- rooms      CERTIM_BENCH_MEMBERS=50 CERTIM_BENCH_RATES=2,8 CERTIM_BENCH_SECONDS=5
 *        CERTIM_BENCH_ROOMS_PART=server|client (default: both)
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ByteWriter } from '../src/wire/bytes.js';
import { CONTENT_TYPE_SECURE } from '../src/wire/families/chat-nav.js';
import { CHAT_FAMILY, ChatSubtype, ChatTlv } from '../src/wire/families/chat.js';
import { tlv, writeTlvRestList } from '../src/wire/tlv.js';
import { createRoom, joinRoom, messageBlock, openChatNav, roomTlvs } from '../test/support/oscar-rooms.js';
import { signOn, type TestConnection } from '../test/support/oscar-test-client.js';
import { BENCH_PASSWORD, benchScreenName, createBenchAccounts } from './support/bench-accounts.js';
import { spawnBenchChild, spawnServerChild, type BenchChild } from './support/child.js';
import { FlapSplitter, flap, snac } from './support/flap.js';
import { fmt, quantile, sleep } from './support/stats.js';
import { benchRoomsClient } from './support/rooms-client.js';

const MEMBERS = Number(process.env.CERTIM_BENCH_MEMBERS ?? 50);
const RATES = (process.env.CERTIM_BENCH_RATES ?? '2,8').split(',').map(Number).filter((r) => r > 0);
const SECONDS = Number(process.env.CERTIM_BENCH_SECONDS ?? 5);
/** Frame offset of the message cookie: FLAP header (6) + SNAC header (10). */
const COOKIE_AT = 16;

const t0 = performance.now();
const micros = (): bigint => BigInt(Math.round((performance.now() - t0) * 1000));

/** The `0E/05` SNAC payload every member sends (cookie rewritten per send). */
const payload = snac(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_HOST, 1, writeTlvRestList(new ByteWriter(400).bytes(new Uint8Array(8)).u16(3), [
  tlv(ChatTlv.PUBLIC), tlv(ChatTlv.MESSAGE, messageBlock(CONTENT_TYPE_SECURE, randomBytes(200))),
]).finish());

/** One member's socket once set up: sends paced frames, counts what it receives. */
class Member {
  private seq = 1;
  constructor(
    private readonly socket: Socket,
    private readonly subtype: number,
    private readonly latencies: number[],
    private readonly counts: { delivered: number },
  ) {
    const splitter = new FlapSplitter();
    socket.removeAllListeners('data');
    socket.on('data', (chunk: Buffer) => splitter.push(chunk, (f) => {
      if (f.length < COOKIE_AT + 8 || f[1] !== 2 || f.readUInt16BE(6) !== CHAT_FAMILY || f.readUInt16BE(8) !== this.subtype) return;
      const sent = f.readBigUInt64BE(COOKIE_AT);
      if (sent === 0n) return;
      this.counts.delivered++;
      this.latencies.push(Number(micros() - sent) / 1000);
    }));
  }

  send(): void {
    const frame = flap(2, this.seq++, payload);
    frame.writeBigUInt64BE(micros(), COOKIE_AT);
    this.socket.write(frame);
  }
}

interface Run {
  delivered: number;
  cpu: number;
  wall: number;
  p50: number;
  p99: number;
}

async function setUpServer(port: number): Promise<{ sockets: Socket[]; close: () => void }> {
  const ep = { port };
  const bos: Array<{ conn: TestConnection }> = [];
  for (let i = 0; i < MEMBERS; i++) bos.push(await signOn(ep, benchScreenName(i), BENCH_PASSWORD, 'md5-strong'));
  const nav = await openChatNav(ep, bos[0]!.conn);
  const room = await createRoom(nav, 4, roomTlvs('Bench Room', CONTENT_TYPE_SECURE));
  if (typeof room === 'number') throw new Error(`room refused: ${room}`);
  const chats: TestConnection[] = [];
  for (const b of bos) {
    const c = await joinRoom(ep, b.conn, room);
    await c.expectSnac(CHAT_FAMILY, ChatSubtype.ROOM_INFO_UPDATE, 10_000);
    chats.push(c);
  }
  await sleep(300);
  return { sockets: chats.map((c) => c.socket), close: () => { for (const c of [...chats, nav, ...bos.map((b) => b.conn)]) c.close(); } };
}

async function setUpBaseline(port: number): Promise<{ sockets: Socket[]; close: () => void }> {
  const sockets: Socket[] = [];
  for (let i = 0; i < MEMBERS; i++) {
    const s = await new Promise<Socket>((resolve, reject) => {
      const c = connect({ host: '127.0.0.1', port, noDelay: true }, () => resolve(c));
      c.once('error', reject);
    });
    s.on('error', () => {});
    s.write(flap(1, 0, new ByteWriter(4).u32(1).finish()));
    sockets.push(s);
  }
  await sleep(300);
  return { sockets, close: () => { for (const s of sockets) s.destroy(); } };
}

async function measure(child: BenchChild, sockets: Socket[], subtype: number, rate: number): Promise<Run> {
  const latencies: number[] = [];
  const counts = { delivered: 0 };
  const members = sockets.map((s) => new Member(s, subtype, latencies, counts));
  const cpu0 = child.cpuSeconds();
  const start = performance.now();
  const timers = members.map((m) => {
    const every = 1000 / rate;
    let timer: NodeJS.Timeout | undefined;
    const first = setTimeout(() => {
      m.send();
      timer = setInterval(() => m.send(), every);
    }, Math.random() * every);
    return () => { clearTimeout(first); clearInterval(timer); };
  });
  await sleep(SECONDS * 1000);
  for (const stop of timers) stop();
  await sleep(500); // drain
  const wall = (performance.now() - start) / 1000;
  const cpu = child.cpuSeconds() - cpu0;
  return { delivered: counts.delivered, cpu, wall, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
}

async function runTarget(kind: 'server' | 'baseline'): Promise<Map<number, Run>> {
  const dir = mkdtempSync(join(tmpdir(), 'certim-bench-rooms-'));
  let child: BenchChild | undefined;
  try {
    if (kind === 'server') await createBenchAccounts(dir, MEMBERS);
    child = kind === 'server' ? await spawnServerChild('bench/support/server-child.ts', [dir]) : await spawnBenchChild('bench/support/baseline-multicast-main.ts');
    const port = Number(child.ready.oscar);
    const setup = kind === 'server' ? await setUpServer(port) : await setUpBaseline(port);
    const out = new Map<number, Run>();
    for (const rate of RATES) out.set(rate, await measure(child, setup.sockets, kind === 'server' ? ChatSubtype.CHANNEL_MSG_TO_CLIENT : ChatSubtype.CHANNEL_MSG_TO_HOST, rate));
    setup.close();
    return out;
  } finally {
    await child?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const PART = process.env.CERTIM_BENCH_ROOMS_PART ?? 'all';
if (PART !== 'client') {
  const server = await runTarget('server');
  const baseline = await runTarget('baseline');
  console.log(`rooms: ${MEMBERS} members in one room, ${SECONDS} s per rate, ~${payload.length + 6}-byte 0E/05 frames`);
  console.log('rate/member | target   | deliveries | expected | per wall-s | per relay CPU-s | p50 ms | p99 ms');
  for (const rate of RATES) {
    const expected = Math.round(MEMBERS * (MEMBERS - 1) * rate * SECONDS);
    for (const [name, r] of [['server', server.get(rate)!], ['baseline', baseline.get(rate)!]] as const) {
      console.log(`${String(rate).padStart(11)} | ${name.padEnd(8)} | ${fmt(r.delivered).padStart(10)} | ${fmt(expected).padStart(8)} | ${fmt(r.delivered / r.wall).padStart(11)} | ${fmt(r.delivered / r.cpu).padStart(15)} | ${fmt(r.p50, 2).padStart(6)} | ${fmt(r.p99, 2).padStart(6)}`);
    }
    const s = server.get(rate)!;
    const b = baseline.get(rate)!;
    console.log(`${String(rate).padStart(11)} | ratio server/baseline deliveries per relay CPU-second: ${fmt(s.delivered / s.cpu / (b.delivered / b.cpu), 2)} (goal >= 0.5)`);
  }
}
if (PART !== 'server') await benchRoomsClient();
