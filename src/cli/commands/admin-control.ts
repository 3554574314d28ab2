/**
 * The CLI end of the admin control channel (src/server/admin/admin-protocol.ts): one request to the server
 * running on a data directory, over its Unix socket. Tells three cases apart, so commands can fall back to the
 * database only when that is safe: the server answered; no server runs (no socket, and no live lock owner);
 * or a server holds the data directory but its socket does not answer (starting up, or stuck).
 */
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { adminSocketPath, type AdminRequest, type AdminResponse } from '../../server/admin/admin-protocol.js';
import { runningServer } from '../../server/data-dir-lock.js';

/** What happened to one request. */
export type ControlOutcome =
  | { kind: 'answered'; response: AdminResponse }
  | { kind: 'no-server' }
  | { kind: 'unreachable'; pid: number; reason: string };

/** Largest response line read (a sessions list of a busy server fits). */
const MAX_RESPONSE = 64 * 1024 * 1024;

/** Sends `req` to the server on `dataDir` and waits for its answer (at most `timeoutMs`). */
export function callRunningServer(dataDir: string, req: AdminRequest, timeoutMs = 15_000): Promise<ControlOutcome> {
  const dir = resolve(dataDir);
  const path = adminSocketPath(dir);
  return new Promise((done) => {
    let buf = '';
    let settled = false;
    const finish = (o: ControlOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      done(o);
    };
    const notRunning = (reason: string): void => {
      const owner = runningServer(dir);
      finish(owner ? { kind: 'unreachable', pid: owner.pid, reason } : { kind: 'no-server' });
    };
    const timer = setTimeout(() => notRunning(`no answer within ${timeoutMs} ms`), timeoutMs);
    const sock = connect({ path });
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify({ id: 1, ...req })}\n`));
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        try {
          finish({ kind: 'answered', response: JSON.parse(buf.slice(0, nl)) as AdminResponse });
        } catch {
          notRunning('the admin socket sent something that is not JSON');
        }
      } else if (buf.length > MAX_RESPONSE) notRunning('the answer is too large');
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') notRunning(`its admin socket ${path} does not accept connections`);
      else notRunning(`${path}: ${e.message}`);
    });
    sock.on('close', () => notRunning('the admin socket closed without answering'));
  });
}

/** The message for a server that holds the data directory but does not answer. */
export function unreachableMessage(dataDir: string, o: { pid: number; reason: string }): string {
  return `a certim server (pid ${o.pid}) holds data directory ${dataDir}, but ${o.reason}; try again, or stop that server`;
}
