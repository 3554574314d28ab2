/**
 * One server per data directory. Two servers on one data directory would split presence between them and each
 * rewrite the TLS chain, so `certim server` takes `<data>/server.lock` before it opens anything:
 *
 * - the lock file is created with O_CREAT|O_EXCL (mode 0600) and holds `{pid, startTime, startedAt}`;
 * - if it exists and its process is alive, the start is refused with {@link DataDirLockedError};
 * - if its process is gone (kill -9, power loss) the lock is stale and is taken over. "Gone" means `kill(pid, 0)`
 *   says ESRCH, or the pid now belongs to a process that started at another time (Linux `/proc/<pid>/stat`
 *   field 22), so a recycled pid does not keep a dead server's lock alive;
 * - taking over a stale lock is itself serialised by `server.lock.takeover` (O_EXCL), so two servers starting at
 *   once after a crash cannot both delete the stale lock and both win.
 *
 * The lock is advisory for `certim admin` (which reads it to tell "no server" from "server not answering").
 */
import { closeSync, constants, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** File name of the lock inside the data directory. */
export const LOCK_FILE = 'server.lock';
const TAKEOVER_FILE = 'server.lock.takeover';
/** A lock file younger than this that cannot be parsed is a server still writing it. */
const FRESH_MS = 10_000;

/** What a lock file says about its owner. */
export interface LockOwner {
  /** Process id. */
  pid: number;
  /** The process's start time in clock ticks since boot (Linux), when known. */
  startTime?: number;
  /** When the server took the lock (ISO time). */
  startedAt: string;
}

/** Thrown when a live server holds the data directory. */
export class DataDirLockedError extends Error {
  /** Stable code. */
  readonly code = 'DATA_DIR_LOCKED';
  /** @param dataDir the directory; @param owner who holds it (undefined while it is still being written) */
  constructor(
    readonly dataDir: string,
    readonly owner: LockOwner | undefined,
  ) {
    super(
      owner
        ? `another certim server (pid ${owner.pid}, started ${owner.startedAt}) is already running on data directory ${dataDir}; ` +
          'stop it first, or give this one another --data-dir'
        : `another certim server is starting on data directory ${dataDir}; stop it first, or give this one another --data-dir`,
    );
    this.name = 'DataDirLockedError';
  }
}

/** A held lock. */
export interface DataDirLock {
  /** Path of the lock file. */
  readonly path: string;
  /** Pid of the stale owner whose lock was taken over, if any (for the log). */
  readonly tookOverFrom: number | undefined;
  /** Removes the lock file if it is still ours; idempotent. */
  release(): void;
}

/** The start time of process `pid` (Linux `/proc/<pid>/stat` field 22), or undefined where unknown. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is in parentheses and may contain spaces: count fields after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(rest[19]);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** True when the lock's owner process still runs (the same process, not a recycled pid). */
export function ownerAlive(owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: it exists, under another user.
  }
  if (owner.startTime === undefined) return true;
  const now = processStartTime(owner.pid);
  return now === undefined || now === owner.startTime;
}

/**
 * Reads a lock file: its owner; 'unreadable' while it is fresh but not yet parseable (a server writing it);
 * 'corrupt' when it is old and unparseable (stale); undefined when there is none.
 */
export function readLockOwner(path: string): LockOwner | 'unreadable' | 'corrupt' | undefined {
  let text: string;
  let mtimeMs: number;
  try {
    text = readFileSync(path, 'utf8');
    mtimeMs = statSync(path).mtimeMs;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && Number.isInteger(o.pid) && o.pid > 0 && typeof o.startedAt === 'string') {
      return { pid: o.pid, startedAt: o.startedAt, ...(typeof o.startTime === 'number' ? { startTime: o.startTime } : {}) };
    }
  } catch {
    // fall through
  }
  return Date.now() - mtimeMs < FRESH_MS ? 'unreadable' : 'corrupt';
}

/** The live server holding `dataDir`, if any. */
export function runningServer(dataDir: string): LockOwner | undefined {
  const o = readLockOwner(join(dataDir, LOCK_FILE));
  if (o === undefined || o === 'corrupt') return undefined;
  if (o === 'unreadable') return { pid: 0, startedAt: 'starting' };
  return ownerAlive(o) ? o : undefined;
}

function createExclusive(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | (constants.O_NOFOLLOW ?? 0), 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Takes the data directory's lock or throws {@link DataDirLockedError}. The directory must exist. */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE);
  const takeover = join(dataDir, TAKEOVER_FILE);
  const startTime = processStartTime(process.pid);
  const me: LockOwner = { pid: process.pid, ...(startTime !== undefined ? { startTime } : {}), startedAt: new Date().toISOString() };
  const content = `${JSON.stringify(me)}\n`;
  let tookOverFrom: number | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusive(path, content)) {
      let released = false;
      return {
        path,
        tookOverFrom,
        release() {
          if (released) return;
          released = true;
          const o = readLockOwner(path);
          if (typeof o === 'object' && o.pid === me.pid && o.startedAt === me.startedAt) unlinkQuiet(path);
        },
      };
    }
    const owner = readLockOwner(path);
    if (owner === undefined) continue; // released meanwhile: try again
    if (owner === 'unreadable') throw new DataDirLockedError(dataDir, undefined);
    if (owner !== 'corrupt' && ownerAlive(owner)) throw new DataDirLockedError(dataDir, owner);
    // Stale. Serialise the takeover; a takeover file left by a crash during a takeover expires.
    if (!createExclusive(takeover, content)) {
      const age = (() => {
        try {
          return Date.now() - statSync(takeover).mtimeMs;
        } catch {
          return 0;
        }
      })();
      if (age > FRESH_MS) unlinkQuiet(takeover);
      else throw new DataDirLockedError(dataDir, undefined);
      continue;
    }
    try {
      const again = readLockOwner(path);
      const same = owner === 'corrupt'
        ? again === 'corrupt'
        : typeof again === 'object' && again.pid === owner.pid && again.startedAt === owner.startedAt && !ownerAlive(again);
      if (same) {
        unlinkQuiet(path);
        tookOverFrom = owner === 'corrupt' ? 0 : owner.pid;
      }
    } finally {
      unlinkQuiet(takeover);
    }
  }
  throw new DataDirLockedError(dataDir, undefined);
}
