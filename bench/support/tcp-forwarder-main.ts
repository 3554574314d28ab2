/**
 * The files bench's baseline: a do-nothing TCP forwarder. It pairs connections in arrival order (1st with 2nd, 3rd
 * with 4th, ...) and pipes them both ways with Node's own `pipe` — no handshake, no checks, no metering — so the
 * proxy's cost is what it adds over this. Prints `{"event":"ready","port":N}`.
 */
import { createServer, type Socket } from 'node:net';
import { serveParentRequests } from './child-ipc.js';

let waiting: Socket | undefined;
const server = createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
  s.on('error', () => s.destroy());
  if (!waiting) {
    waiting = s;
    s.pause();
    return;
  }
  const a = waiting;
  waiting = undefined;
  a.pipe(s);
  s.pipe(a);
  a.resume();
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`${JSON.stringify({ event: 'ready', port: typeof addr === 'object' && addr ? addr.port : 0 })}\n`);
});
serveParentRequests(() => new Promise<void>((resolve) => server.close(() => resolve())));
