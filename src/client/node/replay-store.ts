/**
 * The replay cache kept in the profile (`replay.json`), so a restarted `listen` still refuses a modern message it
 * already showed (docs/protocol.md §11.3: message id + signing time). Same rules as the codec's in-memory cache:
 * ids are remembered for a window (7 days: offline IMs wait that long), signing times outside the window or too
 * far ahead are `stale`, and the file is bounded — evicting an id raises its sender's floor, below which every
 * signing time from that sender is refused, so forgetting never lets an old message through twice.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { MemoryReplayCache, type ReplayCache, type ReplayOutcome } from '../../pki/cms/replay-cache.js';
import { writePrivateFile } from './profile.js';

/** Options of {@link ProfileReplayCache}. */
export interface ProfileReplayCacheOptions {
  /** Window (default 7 days). */
  windowMs?: number;
  /** Largest signing time ahead of now (default 10 minutes). */
  maxSkewMs?: number;
  /** Bound on remembered ids (default 20,000: about 1 MB on disk). */
  maxEntries?: number;
}

interface FileShape {
  version: 1;
  floor: number;
  ids: [string, number][];
  /** Per-sender floors (absent in files written before they existed). */
  floors?: [string, number][];
}

/** A {@link ReplayCache} persisted to one file (mode 0600, atomic writes): the codec's {@link MemoryReplayCache} rules. */
export class ProfileReplayCache implements ReplayCache {
  private readonly cache: MemoryReplayCache;
  private stamp: string | undefined;
  private readonly maxSkewMs: number;

  constructor(private readonly file: string, opts: ProfileReplayCacheOptions = {}) {
    this.maxSkewMs = opts.maxSkewMs ?? 10 * 60_000;
    this.cache = new MemoryReplayCache({ maxSkewMs: this.maxSkewMs, maxEntries: opts.maxEntries ?? 20_000, ...(opts.windowMs !== undefined ? { windowMs: opts.windowMs } : {}) });
  }

  /** @inheritdoc */
  async checkAndRemember(sender: string, messageId: Uint8Array, signingTime: Date, now: Date): Promise<ReplayOutcome> {
    // Synchronous inside (sync file I/O), so check and record stay atomic with respect to other calls.
    this.reload();
    const outcome = this.cache.check(sender, messageId, signingTime, now);
    if (outcome === 'fresh') this.save();
    return outcome;
  }

  /** Number of remembered ids. */
  get size(): number {
    this.reload();
    return this.cache.size;
  }

  private fileStamp(): string | undefined {
    try {
      const st = statSync(this.file, { bigint: true });
      return `${st.size}:${st.mtimeNs}`;
    } catch {
      return undefined;
    }
  }

  /** Re-reads the file when another process (or an earlier run) changed it. A corrupt file starts afresh. */
  private reload(): void {
    const stamp = this.fileStamp();
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    if (!existsSync(this.file)) return;
    try {
      const f = JSON.parse(readFileSync(this.file, 'utf8')) as FileShape;
      if (f.version !== 1 || !Array.isArray(f.ids)) throw new Error('bad shape');
      const pairs = (list: unknown): [string, number][] =>
        (Array.isArray(list) ? list : []).filter((e): e is [string, number] => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number');
      this.cache.merge({ floor: typeof f.floor === 'number' ? f.floor : -Infinity, ids: pairs(f.ids), floors: pairs(f.floors) });
    } catch {
      // Unreadable: keep what we have in memory; the next save rewrites the file. The floor protects nothing
      // we never saw, so refuse everything signed before now to stay safe.
      this.cache.raiseFloor(Date.now() - this.maxSkewMs);
    }
  }

  private save(): void {
    const { floor, ids, floors } = this.cache.state();
    const body: FileShape = { version: 1, floor: Number.isFinite(floor) ? floor : -1, ids, ...(floors && floors.length > 0 ? { floors } : {}) };
    writePrivateFile(this.file, JSON.stringify(body));
    this.stamp = this.fileStamp();
  }
}
