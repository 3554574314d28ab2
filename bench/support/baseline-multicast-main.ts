/** Child-process entry for the multicast baseline: starts it, prints one ready line on stdout, serves IPC requests. */
import { startMulticastRelay } from './baseline-multicast.js';
import { serveParentRequests } from './child-ipc.js';

const relay = await startMulticastRelay(0);
serveParentRequests(() => relay.close());
process.stdout.write(`${JSON.stringify({ event: 'ready', oscar: relay.port })}\n`);
