/**
 * Child-process entry for one cluster node under load: the real composition (startServer) with `--db` Postgres and
 * `--cluster` NATS, loopback, free ports; the IM rate class relaxed and the per-address connection caps lifted as in
 * server-child.ts (the bench measures the relay across nodes, not AIM's one-IM-per-4-s limiter). Prints `{"event":"ready","oscar":PORT,"node":NAME}`.
 */
import { tuneHeapForStreaming } from '../../src/cli/heap-tuning.js';
import { startServer } from '../../src/server/main.js';
import { DEFAULT_RATE_CLASSES } from '../../src/server/session/rate-classes.js';
import { serveParentRequests } from './child-ipc.js';

const [dataDir, dbUrl, cluster] = process.argv.slice(2);
if (!dataDir || !dbUrl || !cluster) throw new Error('usage: cluster-node-child.ts DATA_DIR DB_URL NATS_URL');

const relaxed = DEFAULT_RATE_CLASSES.map((c) => ({ ...c, clear: 0, alert: 0, limit: 0, disconnect: 0 }));
tuneHeapForStreaming(); // as `certim server` does (a --heap-growing-percent in CERTIM_BENCH_SERVER_FLAGS wins)
const server = await startServer({
  dataDir, host: '127.0.0.1', port: 0, tlsPort: 0, httpPort: 0, dbUrl, cluster,
  engine: { rateClasses: relaxed, maxConnections: 200_000 },
  // Every bench client connects from 127.0.0.1: lift the per-address caps as server-child.ts does (the default of
  // 16 unauthenticated connections per address is as many as the generator's concurrent sign-ons).
  connections: { perAddressUnauthenticated: 200_000, perAddressTotal: 200_000 },
  log: (level, msg, fields) => {
    if (level === 'error') process.stderr.write(`cluster-node-child: ${msg} ${JSON.stringify(fields ?? {})}\n`);
  },
});
serveParentRequests(() => server.close());
process.stdout.write(`${JSON.stringify({ event: 'ready', oscar: server.ports.oscar, node: server.cluster?.node })}\n`);
