/** Child-process entry for the baseline relay: starts it, prints one ready line on stdout, serves IPC requests. */
import { startBaselineRelay } from './baseline-relay.js';
import { serveParentRequests } from './child-ipc.js';

const relay = await startBaselineRelay(0);
serveParentRequests(() => relay.close());
process.stdout.write(`${JSON.stringify({ event: 'ready', oscar: relay.port })}\n`);
