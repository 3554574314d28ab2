/**
 * Child-process entry for the files bench: the real composition (startServer) on the given data directory, with
 * its rendezvous proxy on a free port (docs/protocol.md §8.3). Prints `{"event":"ready","oscar":N,"proxy":N}`.
 */
import { tuneHeapForStreaming } from '../../src/cli/heap-tuning.js';
import { startServer } from '../../src/server/main.js';
import { serveParentRequests } from './child-ipc.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: proxy-server-child.ts DATA_DIR');

tuneHeapForStreaming(); // as `certim server` does (a --heap-growing-percent in CERTIM_BENCH_SERVER_FLAGS wins)
const server = await startServer({
  dataDir,
  host: '127.0.0.1',
  port: 0,
  tlsPort: 0,
  httpPort: 0,
  proxyPort: 0,
  log: (level, msg, fields) => {
    if (level === 'error') process.stderr.write(`proxy-server-child: ${msg} ${JSON.stringify(fields ?? {})}\n`);
  },
});
serveParentRequests(() => server.close());
process.stdout.write(`${JSON.stringify({ event: 'ready', oscar: server.ports.oscar, proxy: server.ports.proxy })}\n`);
