/**
 * The admin control socket (protocol in admin-protocol.ts). Access control is the file system's: the socket sits
 * in `<data>/admin/`, which must be a real directory (not a symlink) owned by the server's user and is forced to
 * mode 0700; the socket is 0600. Node cannot read the peer's credentials (SO_PEERCRED), so these permissions are
 * the whole check — which is also what the data directory itself (CA keys, database) relies on.
 *
 * Hostile or broken clients cost little: a few connections at once, a bounded line length, an idle timeout, and
 * one request at a time per connection.
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { LogEvent, errorText, type Logger } from '../log.js';
import { parseAdminRequest, type AdminDispatch } from './admin-commands.js';
import { AdminError, MAX_ADMIN_LINE, adminSocketPath, type AdminResponse } from './admin-protocol.js';

/** Connections served at once; more are closed at once. */
const MAX_CONNECTIONS = 8;
/** A connection idle this long is closed. */
const IDLE_MS = 30_000;
/** Unix socket paths are limited to 107 bytes on Linux (sun_path). */
const MAX_PATH_BYTES = 107;

/** A running admin socket. */
export interface AdminServer {
  /** The socket path. */
  readonly path: string;
  /** Stops listening, closes connections and removes the socket file. */
  close(): Promise<void>;
}

/** Makes `<data>/admin` a private directory of ours; throws when someone else owns it or it is a link. */
function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.isSymbolicLink()) throw new Error(`${dir} is not a directory; refusing to put the admin socket there`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw new Error(`${dir} belongs to uid ${st.uid}, not to this server's user (${uid}); refusing to put the admin socket there`);
  chmodSync(dir, 0o700);
}

function serve(socket: Socket, dispatch: AdminDispatch, log: Logger): void {
  let buf = '';
  let busy: Promise<void> = Promise.resolve();
  socket.setEncoding('utf8');
  socket.setTimeout(IDLE_MS, () => socket.destroy());
  socket.on('error', () => {});
  const answer = (r: AdminResponse): void => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(r)}\n`);
  };
  const handle = async (line: string): Promise<void> => {
    let id: number | undefined;
    let cmd = '(unparsed)';
    try {
      const raw: unknown = JSON.parse(line);
      // Echo the id even when the rest of the request is refused, so clients can match the answer.
      const rawId = (raw as { id?: unknown } | null)?.id;
      if (typeof rawId === 'number' && Number.isSafeInteger(rawId)) id = rawId;
      const req = parseAdminRequest(raw);
      cmd = req.cmd;
      const result = await dispatch(req);
      log('info', LogEvent.ADMIN_COMMAND, { command: cmd, ok: true });
      answer({ ...(id !== undefined ? { id } : {}), ok: true, result });
    } catch (e) {
      const known = e instanceof AdminError || e instanceof SyntaxError;
      const code = e instanceof AdminError ? e.code : e instanceof SyntaxError ? 'BAD_REQUEST' : 'INTERNAL';
      if (!known) log('error', LogEvent.ADMIN_COMMAND, { command: cmd, ok: false, error: errorText(e) });
      else log('info', LogEvent.ADMIN_COMMAND, { command: cmd, ok: false, code });
      answer({ ...(id !== undefined ? { id } : {}), ok: false, error: { code, message: known ? errorText(e) : 'the server could not run the command (see its log)' } });
    }
  };
  socket.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) busy = busy.then(() => handle(line));
    }
    if (Buffer.byteLength(buf) > MAX_ADMIN_LINE) {
      log('warn', LogEvent.ADMIN_REFUSED, { reason: 'line too long' });
      socket.destroy();
    }
  });
  socket.on('end', () => {
    void busy.then(() => socket.end());
  });
}

/** Starts the admin socket for `dataDir` (the caller holds the data-directory lock, so any old socket is stale). */
export async function startAdminServer(dataDir: string, dispatch: AdminDispatch, log: Logger): Promise<AdminServer> {
  const path = adminSocketPath(dataDir);
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw new Error(`the admin socket path ${path} is longer than ${MAX_PATH_BYTES} bytes; use a shorter --data-dir`);
  privateDir(dirname(path));
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    if (sockets.size >= MAX_CONNECTIONS) {
      log('warn', LogEvent.ADMIN_REFUSED, { reason: 'too many admin connections' });
      s.destroy();
      return;
    }
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    serve(s, dispatch, log);
  });
  server.on('error', (e) => log('error', LogEvent.LISTENER_ERROR, { listener: 'admin', error: errorText(e) }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path, readableAll: false, writableAll: false }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  let closed: Promise<void> | undefined;
  return {
    path,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }).then(() => {
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      });
      return closed;
    },
  };
}
