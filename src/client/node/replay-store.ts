/**
 * The replay cache kept in the profile, so a restarted `listen` still refuses a modern message it already showed
 * (docs/protocol.md §11.3: message id + signing time). Same rules as the codec's in-memory cache: ids are remembered
 * for a window (7 days: offline IMs wait that long), signing times outside the window or too far ahead are `stale`,
 * and the cache is bounded — evicting an id raises its sender's floor, below which every signing time from that
 * sender is refused, so forgetting never lets an old message through twice.
 *
 * Two files, so that remembering one id costs one appended line, not a rewrite of everything remembered (a full
 * cache is ~1 MB, and rewriting it took ~8 ms per received IM):
 * - `replay.json`, the snapshot: floors and ids as of the last compaction (the only file older versions wrote);
 * - `replay.log`, the journal: one JSON line `[key, signing time]` per id remembered since.
 *
 * Several processes of one profile (`listen`, `chat`, `send`) share the files, reading what the others appended
 * before each check. A process compacts (a new snapshot, an empty journal) once the journal holds
 * {@link ProfileReplayCacheOptions.compactLines} lines, under an exclusive lock file so that only one does at a time.
 * No line is lost to a compaction running beside an append: the compactor replaces the journal by renaming a new one
 * over it, then copies over what was appended to the old one after it read it; an appender that finds, after its
 * write, that the journal's name points to another file than the one it wrote to appends the line again (a line
 * counted twice changes nothing). A torn last line (a crash mid-append) is skipped until it is complete.
 */
import {
  closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync,
} from 'node:fs';
import { MemoryReplayCache, replayKey, type ReplayCache, type ReplayOutcome } from '../../pki/cms/replay-cache.js';
import { writePrivateFile } from './profile.js';

/** Options of {@link ProfileReplayCache}. */
export interface ProfileReplayCacheOptions {
  /** Window (default 7 days). */
  windowMs?: number;
  /** Largest signing time ahead of now (default 10 minutes). */
  maxSkewMs?: number;
  /** Bound on remembered ids (default 20,000: about 1 MB on disk). */
  maxEntries?: number;
  /** Journal lines that make the next check compact (default 2,000). */
  compactLines?: number;
}

interface FileShape {
  version: 1;
  floor: number;
  ids: [string, number][];
  /** Per-sender floors (absent in files written before they existed). */
  floors?: [string, number][];
}

/** A lock file older than this is a compaction that died: it is removed (and the next check tries again). */
const STALE_LOCK_MS = 60_000;

/** A {@link ReplayCache} persisted in the profile (mode 0600): the codec's {@link MemoryReplayCache} rules. */
export class ProfileReplayCache implements ReplayCache {
  private readonly cache: MemoryReplayCache;
  private readonly maxSkewMs: number;
  private readonly compactLines: number;
  /** `replay.log` beside `replay.json`. */
  readonly journal: string;
  private readonly lock: string;
  /** Size and mtime of the snapshot when it was read. */
  private snapshotStamp: string | undefined;
  /** The journal file (inode) read so far, how far, and how many lines that was. */
  private journalIno: bigint | undefined;
  private journalOffset = 0;
  private journalLines = 0;

  constructor(private readonly file: string, opts: ProfileReplayCacheOptions = {}) {
    this.maxSkewMs = opts.maxSkewMs ?? 10 * 60_000;
    this.compactLines = Math.max(1, opts.compactLines ?? 2_000);
    this.cache = new MemoryReplayCache({ maxSkewMs: this.maxSkewMs, maxEntries: opts.maxEntries ?? 20_000, ...(opts.windowMs !== undefined ? { windowMs: opts.windowMs } : {}) });
    this.journal = `${file.endsWith('.json') ? file.slice(0, -'.json'.length) : file}.log`;
    this.lock = `${this.journal}.lock`;
  }

  /** @inheritdoc */
  async checkAndRemember(sender: string, messageId: Uint8Array, signingTime: Date, now: Date): Promise<ReplayOutcome> {
    // Synchronous inside (sync file I/O), so check and record stay atomic with respect to other calls.
    this.reload();
    const outcome = this.cache.check(sender, messageId, signingTime, now);
    if (outcome === 'fresh') {
      this.append(`${JSON.stringify([replayKey(sender, messageId), signingTime.getTime()])}\n`);
      if (this.journalLines >= this.compactLines) {
        try {
          this.compact();
        } catch {
          // The line is in the journal, so nothing is lost; the next check tries again.
        }
      }
    }
    return outcome;
  }

  /** Number of remembered ids. */
  get size(): number {
    this.reload();
    return this.cache.size;
  }

  /** Takes in what changed on disk: a new snapshot (another process compacted), then the journal's new lines. */
  private reload(): void {
    const stamp = stampOf(this.file);
    if (stamp !== this.snapshotStamp) {
      this.snapshotStamp = stamp;
      this.readSnapshot();
      // The journal that goes with a new snapshot is read from its start (lines read twice change nothing).
      this.journalIno = undefined;
    }
    this.readJournal();
  }

  /** Merges the snapshot. A corrupt one starts afresh. */
  private readSnapshot(): void {
    if (!existsSync(this.file)) return;
    try {
      const f = JSON.parse(readFileSync(this.file, 'utf8')) as FileShape;
      if (f.version !== 1 || !Array.isArray(f.ids)) throw new Error('bad shape');
      const pairs = (list: unknown): [string, number][] =>
        (Array.isArray(list) ? list : []).filter((e): e is [string, number] => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number');
      this.cache.merge({ floor: typeof f.floor === 'number' ? f.floor : -Infinity, ids: pairs(f.ids), floors: pairs(f.floors) });
    } catch {
      // Unreadable: keep what we have in memory; the next compaction rewrites the file. The floor protects nothing
      // we never saw, so refuse everything signed before now to stay safe.
      this.cache.raiseFloor(Date.now() - this.maxSkewMs);
    }
  }

  /** Absorbs the journal's complete lines that this process has not read yet. */
  private readJournal(): void {
    let fd: number;
    try {
      fd = openSync(this.journal, 'r');
    } catch {
      this.journalIno = undefined;
      this.journalOffset = 0;
      this.journalLines = 0;
      return;
    }
    try {
      const st = fstatSync(fd, { bigint: true });
      if (st.ino !== this.journalIno || st.size < BigInt(this.journalOffset)) {
        // Another file now (a compaction replaced it): read it from the start.
        this.journalIno = st.ino;
        this.journalOffset = 0;
        this.journalLines = 0;
      }
      const { lines, bytes } = completeLines(fd, this.journalOffset, Number(st.size));
      this.journalOffset += bytes;
      this.journalLines += lines.length;
      this.cache.absorb(parseLines(lines));
    } finally {
      closeSync(fd);
    }
  }

  /** Appends one line; again to the current journal if a compaction renamed another over it meanwhile. */
  private append(line: string): void {
    const fd = openSync(this.journal, 'a', 0o600);
    let wroteTo: bigint;
    try {
      writeSync(fd, line);
      wroteTo = fstatSync(fd, { bigint: true }).ino;
    } finally {
      closeSync(fd);
    }
    if (stampOrUndefined(this.journal)?.ino !== wroteTo) writeFileSync(this.journal, line, { flag: 'a', mode: 0o600 });
  }

  /**
   * A new snapshot with everything remembered, and an empty journal renamed over the old one; then the lines others
   * appended to the old journal after we read it are copied over. Skipped while another process holds the lock.
   */
  private compact(): void {
    let lockFd: number;
    try {
      lockFd = openSync(this.lock, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') this.removeStaleLock();
      return;
    }
    try {
      // The journal as it is now, created if missing: whatever anyone appends to it until the rename below is copied
      // over after it (an append after the rename goes to the new journal, or is repeated there by its writer).
      const old = openSync(this.journal, 'a+', 0o600);
      try {
        this.reload();
        // What `reload` read of it (no one else replaces the journal while we hold the lock, so it read this file).
        const readUpTo = fstatSync(old, { bigint: true }).ino === this.journalIno ? this.journalOffset : 0;
        const { floor, ids, floors } = this.cache.state();
        const body: FileShape = { version: 1, floor: Number.isFinite(floor) ? floor : -1, ids, ...(floors && floors.length > 0 ? { floors } : {}) };
        writePrivateFile(this.file, JSON.stringify(body));
        const fresh = `${this.journal}.tmp-${process.pid}`;
        writeFileSync(fresh, '', { mode: 0o600 });
        renameSync(fresh, this.journal);
        const late = completeLines(old, readUpTo, Number(fstatSync(old, { bigint: true }).size));
        if (late.lines.length > 0) {
          writeFileSync(this.journal, `${late.lines.join('\n')}\n`, { flag: 'a', mode: 0o600 });
          this.cache.absorb(parseLines(late.lines));
        }
        this.snapshotStamp = stampOf(this.file);
        this.journalIno = undefined;
      } finally {
        closeSync(old);
      }
    } finally {
      closeSync(lockFd);
      unlinkSync(this.lock);
    }
  }

  private removeStaleLock(): void {
    try {
      if (Date.now() - statSync(this.lock).mtimeMs > STALE_LOCK_MS) unlinkSync(this.lock);
    } catch {
      // Gone meanwhile: the compaction that held it finished.
    }
  }
}

function stampOf(path: string): string | undefined {
  const st = stampOrUndefined(path);
  return st && `${st.size}:${st.mtimeNs}:${st.ino}`;
}

function stampOrUndefined(path: string): { size: bigint; mtimeNs: bigint; ino: bigint } | undefined {
  try {
    return statSync(path, { bigint: true });
  } catch {
    return undefined;
  }
}

/** The complete (newline-ended) lines of `fd` in [from, to), and how many bytes they take. */
function completeLines(fd: number, from: number, to: number): { lines: string[]; bytes: number } {
  if (to <= from) return { lines: [], bytes: 0 };
  const buf = Buffer.allocUnsafe(to - from);
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, from + got);
    if (n === 0) break;
    got += n;
  }
  const end = buf.lastIndexOf(0x0a, got - 1);
  if (end < 0) return { lines: [], bytes: 0 };
  return { lines: buf.toString('utf8', 0, end).split('\n'), bytes: end + 1 };
}

/** Journal lines to (key, time) pairs; malformed lines are skipped. */
function* parseLines(lines: readonly string[]): Generator<[string, number]> {
  for (const line of lines) {
    try {
      const e = JSON.parse(line) as unknown;
      if (Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number') yield [e[0], e[1]];
    } catch {
      // A line another version or a torn write left: skipped.
    }
  }
}
