/**
 * Child-process entry for the real server under load: the real composition (startServer) on the given data
 * directory, SQLite, loopback, free ports. One change from the defaults: the IM rate class is relaxed (and the
 * connection limits raised), because AIM's default class 3 allows one IM per ~4 s per client, which would make
 * the bench measure the limiter instead of the relay. Everything else (parsing, sessions, routing, limits
 * checks) runs as in production.
 */
import { tuneHeapForStreaming } from '../../src/cli/heap-tuning.js';
import { startServer } from '../../src/server/main.js';
import { DEFAULT_RATE_CLASSES } from '../../src/server/session/rate-classes.js';
import { serveParentRequests } from './child-ipc.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: server-child.ts DATA_DIR');

// Classes keep their ids and windows (the limiter still runs on every SNAC); all levels are 0, which the moving
// average can never fall below, so nothing is warned, dropped or disconnected.
const relaxed = DEFAULT_RATE_CLASSES.map((c) => ({ ...c, clear: 0, alert: 0, limit: 0, disconnect: 0 }));

tuneHeapForStreaming(); // as `certim server` does (a --heap-growing-percent in CERTIM_BENCH_SERVER_FLAGS wins)
const server = await startServer({
  dataDir,
  host: '127.0.0.1',
  port: 0,
  tlsPort: 0,
  httpPort: 0,
  engine: { rateClasses: relaxed, maxConnections: 200_000 },
  // Every bench client connects from 127.0.0.1: lift the per-address caps (the global cap stays below the fd limit).
  connections: { perAddressUnauthenticated: 200_000, perAddressTotal: 200_000 },
  log: (level, msg, fields) => {
    if (level === 'error') process.stderr.write(`server-child: ${msg} ${JSON.stringify(fields ?? {})}\n`);
  },
});
serveParentRequests(() => server.close());
process.stdout.write(`${JSON.stringify({ event: 'ready', oscar: server.ports.oscar, oscarTls: server.ports.oscarTls, https: server.ports.https })}\n`);
