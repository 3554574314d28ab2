/**
 * `certim admin sessions` and `certim admin user locked|unlock`: questions only a running server can answer
 * (who is online; login throttles, which live in its memory), asked over its admin socket (admin-control.ts).
 *
 *   certim admin sessions [--json]
 *   certim admin user locked [--json]
 *   certim admin user unlock SCREENNAME
 */
import { resolve } from 'node:path';
import type { SessionSummary, ThrottleSummary } from '../../server/admin/admin-protocol.js';
import { encodeLogString } from '../../server/log-encode.js';
import { callRunningServer, unreachableMessage, type ControlOutcome } from './admin-control.js';
import { takeStoreFlags } from './admin-store.js';
import { UsageError } from './prompt.js';

/** Where output goes; tests pass their own. */
export interface LiveIo {
  /** Results. */
  out: (line: string) => void;
  /** Errors. */
  err: (line: string) => void;
}

const defaultIo: LiveIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** Usage of the live admin commands. */
export const ADMIN_LIVE_USAGE = `usage:
  certim admin sessions [--json]             who is online on the running server (on a cluster node: on every node)
  certim admin user locked [--json]          accounts and addresses the login throttle counts or refuses
  certim admin user unlock SCREENNAME        clear an account's failed logins on the running server
options: --data-dir DIR (the running server's data directory, default ./data)`;

function parse(argv: readonly string[]): { dataDir: string; json: boolean; args: string[] } {
  const { dataDir, rest } = takeStoreFlags(argv);
  const json = rest.includes('--json');
  const args = rest.filter((a) => a !== '--json');
  const unknown = args.find((a) => a.startsWith('-'));
  if (unknown) throw new UsageError(`unknown option ${unknown}`);
  return { dataDir: resolve(dataDir), json, args };
}

/** Prints why there is no answer; returns the exit code, or undefined when the server answered `ok`. */
function failed(o: ControlOutcome, dataDir: string, io: LiveIo, what: string): number | undefined {
  if (o.kind === 'no-server') {
    io.err(`certim admin: no certim server is running on data directory ${dataDir}; ${what}`);
    return 1;
  }
  if (o.kind === 'unreachable') {
    io.err(`certim admin: ${unreachableMessage(dataDir, o)}`);
    return 1;
  }
  if (!o.response.ok) {
    io.err(`certim admin: ${o.response.error.code}: ${o.response.error.message}`);
    return 1;
  }
  return undefined;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** `certim admin sessions`. */
export async function runAdminSessions(argv: readonly string[], io: LiveIo = defaultIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(ADMIN_LIVE_USAGE);
    return 0;
  }
  const { dataDir, json, args } = parse(argv);
  if (args.length > 0) throw new UsageError(`unexpected argument '${args[0]}'`);
  const o = await callRunningServer(dataDir, { cmd: 'sessions' });
  const code = failed(o, dataDir, io, 'nobody is online');
  if (code !== undefined || o.kind !== 'answered' || !o.response.ok) return code ?? 1;
  const list = o.response.result as SessionSummary[];
  if (json) {
    io.out(JSON.stringify(list, null, 2));
    return 0;
  }
  if (list.length === 0) {
    io.out('nobody is online');
    return 0;
  }
  // Screen names and client ids are what clients sent: shown encoded, like in the log.
  // A cluster node lists every node's sessions, each with the node that holds it.
  const clustered = list.some((s) => s.node !== undefined);
  const rows = [['SCREEN NAME', ...(clustered ? ['NODE'] : []), 'ADDRESS', 'TLS', 'SIGNED ON', 'IDLE', 'AWAY', 'CERTS', 'CLIENT']];
  for (const s of list) {
    rows.push([encodeLogString(s.screenName), ...(clustered ? [encodeLogString(s.node ?? '-')] : []), s.address ?? '-', s.tls ? 'yes' : 'no', s.signedOnAt.slice(0, 19).replace('T', ' '),
      s.idleMinutes > 0 ? `${s.idleMinutes}m` : '-', s.away ? 'yes' : '-', s.certificates ? 'yes' : '-', s.clientId ?? '-']);
  }
  for (const l of table(rows)) io.out(l);
  io.out(`${list.length} online`);
  return 0;
}

/** `certim admin user locked|unlock` (argv starts with the subcommand). */
export async function runAdminThrottle(argv: readonly string[], io: LiveIo = defaultIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(ADMIN_LIVE_USAGE);
    return 0;
  }
  const { dataDir, json, args } = parse(argv);
  const [sub, name, extra] = args;
  if (sub === 'locked' && name === undefined) {
    const o = await callRunningServer(dataDir, { cmd: 'throttle.list' });
    const code = failed(o, dataDir, io, 'login throttles live in the running server\'s memory, so nothing is locked');
    if (code !== undefined || o.kind !== 'answered' || !o.response.ok) return code ?? 1;
    const list = o.response.result as ThrottleSummary[];
    if (json) io.out(JSON.stringify(list, null, 2));
    else if (list.length === 0) io.out('no failed logins are counted: nothing is locked');
    else {
      const rows = [['KIND', 'KEY', 'FAILURES', 'STATE']];
      for (const t of list) rows.push([t.kind, encodeLogString(t.key), String(t.failures), t.locked ? `locked for ${t.retryAfterSeconds}s` : `counted (clears in ${t.retryAfterSeconds}s)`]);
      for (const l of table(rows)) io.out(l);
    }
    return 0;
  }
  if (sub === 'unlock' && name !== undefined && extra === undefined) {
    const o = await callRunningServer(dataDir, { cmd: 'user.unlock', screenName: name });
    if (o.kind === 'no-server') {
      io.out(`no certim server is running on ${dataDir}; login throttles live in its memory, so ${name} is not locked`);
      return 0;
    }
    const code = failed(o, dataDir, io, '');
    if (code !== undefined || o.kind !== 'answered' || !o.response.ok) return code ?? 1;
    const r = o.response.result as { screenName: string; hadFailures: boolean };
    io.out(r.hadFailures ? `unlocked ${r.screenName}: its failed logins are forgotten` : `${r.screenName} had no failed logins counted`);
    return 0;
  }
  throw new UsageError(`bad arguments\n${ADMIN_LIVE_USAGE}`);
}
