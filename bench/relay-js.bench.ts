/**
 * The JavaScript of one relayed IM, without sockets: the figure the server bench cannot resolve on a shared 2-core
 * host, where both of its targets swing by 10-30 % between runs (docs/performance.md §2.5).
 *
 * Server: the real connection loop (`OscarConnection`: deframer, rate check, SNAC dispatch, the `04/06` handler, the
 * in-process directory, the `04/07` encoder, framing) for N signed-on sessions of one engine, fed one 300-byte
 * `04/06` per read, the partner being i ^ 1 as in the server bench. Streams are stand-ins whose writes are dropped,
 * and the engine's stores are in-memory fakes (nothing on this path touches a store); what Node's sockets and
 * streams cost is in the server bench, the same for the server and its baseline.
 * Baseline: the do-nothing relay's JavaScript on the same frames (`FlapSplitter`, the index lookup, the cork set),
 * with the same stand-in streams.
 *
 * After one warm-up round of each, every round runs both, one I/O phase (setImmediate) per N reads; figures are CPU-µs
 * per relayed IM, the median of interleaved rounds; ratio = server / baseline.
 *
 *   CERTIM_BENCH_N=1000 (sessions)   CERTIM_BENCH_ROUNDS=9
 */
import { Buffer } from 'node:buffer';
import { setImmediate as phase } from 'node:timers/promises';
import { OscarConnection } from '../src/server/net/connection.js';
import type { ConnectionStream, StreamHandlers } from '../src/server/net/stream.js';
import { DEFAULT_RATE_CLASSES } from '../src/server/session/rate-classes.js';
import { fakeEngine } from '../src/server/testing/fakes.js';
import { FlapChannel, encodeFlap } from '../src/wire/flap.js';
import { benchScreenName } from './support/bench-accounts.js';
import { FlapSplitter } from './support/flap.js';
import { median } from './support/stats.js';

const N = Number(process.env.CERTIM_BENCH_N ?? 1000) & ~1;
const ROUNDS = Math.max(1, Number(process.env.CERTIM_BENCH_ROUNDS ?? 9));
const PHASES = 100;
const FRAME_BYTES = 300;

/** A stream whose writes are counted and dropped. */
class NullStream implements ConnectionStream {
  readonly kind = 'tcp' as const;
  readonly remoteAddress = '127.0.0.1';
  destroyed = false;
  readonly pendingBytes = 0;
  handlers: StreamHandlers | undefined;
  static written = 0;
  start(h: StreamHandlers): void {
    this.handlers = h;
  }
  write(): void {
    NullStream.written++;
  }
  flush(): void {}
  pause(): void {}
  resume(): void {}
  end(): void {}
  destroy(): void {
    this.destroyed = true;
  }
}

function snacFrame(family: number, subtype: number, body: number[]): Uint8Array {
  return encodeFlap({ channel: FlapChannel.Data, sequence: 1, payload: new Uint8Array([family >> 8, family & 0xff, subtype >> 8, subtype & 0xff, 0, 0, 0, 0, 0, 1, ...body]) });
}

/** A `04/06` channel-1 IM to `to`, FRAME_BYTES long with its FLAP header, as the load generator sends. */
function imFrame(to: string): Buffer {
  const sn = [...Buffer.from(to)];
  const head = [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, sn.length, ...sn];
  const data = FRAME_BYTES - 6 - 10 - head.length - 4;
  return Buffer.from(snacFrame(4, 6, [...head, 0, 2, data >> 8, data & 0xff, ...new Array<number>(data).fill(0x61)]));
}

const names = Array.from({ length: N }, (_, i) => benchScreenName(i));
const frames = names.map((_, i) => imFrame(names[i ^ 1]!));

/** N sessions signed on through the real cookie redemption and client ready; returns their stream handlers. */
async function serverSide(): Promise<StreamHandlers[]> {
  // As the server bench's child: every class at level 0, so the limiter runs on every SNAC and never drops.
  const relaxed = DEFAULT_RATE_CLASSES.map((c) => ({ ...c, clear: 0, alert: 0, limit: 0, disconnect: 0 }));
  const { engine } = fakeEngine(names, { rateClasses: relaxed, maxConnections: 10 * N });
  await engine.started;
  const handlers: StreamHandlers[] = [];
  for (const screenName of names) {
    const s = new NullStream();
    new OscarConnection(engine, s, () => {});
    const cookie = engine.cookies.issue({ screenName, tls: false, multiConn: 0, service: 'bos' }, engine.clock.now());
    s.handlers!.onData(encodeFlap({ channel: FlapChannel.SignOn, sequence: 0, payload: new Uint8Array([0, 0, 0, 1, 0, 6, cookie.length >> 8, cookie.length & 0xff, ...cookie]) }));
    handlers.push(s.handlers!);
  }
  await until(() => engine.registry.size >= N);
  for (const h of handlers) h.onData(snacFrame(1, 2, []));
  await until(() => names.every((n) => engine.presence.readySessionCount(n) === 1));
  return handlers;
}

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !ok(); i++) await phase();
  if (!ok()) throw new Error('relay-js bench: sessions did not sign on');
}

/** The do-nothing relay's per-frame JavaScript (bench/support/baseline-relay.ts) over stand-in sockets. */
function baselineSide(): Array<(chunk: Buffer) => void> {
  const byIndex = new Map<number, NullStream>();
  const corked = new Set<NullStream>();
  const sockets = names.map(() => new NullStream());
  sockets.forEach((s, i) => byIndex.set(i, s));
  return sockets.map((_, index) => {
    const splitter = new FlapSplitter();
    return (chunk: Buffer) => {
      splitter.push(chunk, () => {
        const dest = byIndex.get(index ^ 1);
        if (!dest || dest.destroyed) return;
        if (!corked.has(dest)) corked.add(dest);
        dest.write();
      });
      corked.clear();
    };
  });
}

/** CPU-µs per relayed IM over PHASES x N reads. */
async function measure(feed: (i: number) => void): Promise<number> {
  const w0 = NullStream.written;
  const c0 = process.cpuUsage();
  for (let k = 0; k < PHASES; k++) {
    for (let i = 0; i < N; i++) feed(i);
    await phase();
  }
  const c = process.cpuUsage(c0);
  const relayed = NullStream.written - w0;
  if (relayed !== PHASES * N) throw new Error(`relay-js bench: ${relayed} IMs relayed, ${PHASES * N} sent`);
  return (c.user + c.system) / relayed;
}

const server = await serverSide();
const baseline = baselineSide();
// One round of each first, not counted: the first round ran at twice the later ones (compilation, first growth of the heap).
await measure((i) => server[i]!.onData(frames[i]!));
await measure((i) => baseline[i]!(frames[i]!));
const s: number[] = [];
const b: number[] = [];
const r: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which runs first (the first of a pair meets a colder cache and whatever the host did just before).
  const one = round % 2 === 0;
  const first = one ? await measure((i) => server[i]!.onData(frames[i]!)) : await measure((i) => baseline[i]!(frames[i]!));
  const second = one ? await measure((i) => baseline[i]!(frames[i]!)) : await measure((i) => server[i]!.onData(frames[i]!));
  const [sv, bv] = one ? [first, second] : [second, first];
  s.push(sv);
  b.push(bv);
  r.push(sv / bv);
}
console.log(`relay-js bench: JavaScript per relayed IM, no sockets, N = ${N.toLocaleString('en-US')} sessions, ${FRAME_BYTES}-byte frames, ${ROUNDS} rounds of ${(PHASES * N).toLocaleString('en-US')} IMs`);
console.log(`  server   ${median(s).toFixed(3)} CPU-µs per IM (rounds ${s.map((x) => x.toFixed(2)).join(', ')})`);
console.log(`  baseline ${median(b).toFixed(3)} CPU-µs per IM (the do-nothing relay's JavaScript)`);
console.log(`  ratio server/baseline: median ${median(r).toFixed(2)} (${r.map((x) => x.toFixed(2)).join(', ')})`);
process.exit(0);
