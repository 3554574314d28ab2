/**
 * The replay cache kept in the profile (`replay.json`), so a restarted `listen` still refuses a modern message it
 * already showed (docs/protocol.md §11.3: message id + signing time). Same rules as the codec's in-memory cache:
 * ids are remembered for a window (7 days: offline IMs wait that long), signing times outside the window or too
 * far ahead are `stale`, and the file is bounded — evicting an id raises a floor below which every signing time
 * is refused, so forgetting never lets an old message through twice.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { ReplayCache, ReplayOutcome } from '../../pki/cms/replay-cache.js';
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
}

/** A {@link ReplayCache} persisted to one file (mode 0600, atomic writes). */
export class ProfileReplayCache implements ReplayCache {
  private seen = new Map<string, number>();
  private floor = -Infinity;
  private stamp: string | undefined;
  private readonly windowMs: number;
  private readonly maxSkewMs: number;
  private readonly maxEntries: number;

  constructor(private readonly file: string, opts: ProfileReplayCacheOptions = {}) {
    this.windowMs = opts.windowMs ?? 7 * 24 * 3600_000;
    this.maxSkewMs = opts.maxSkewMs ?? 10 * 60_000;
    this.maxEntries = opts.maxEntries ?? 20_000;
  }

  /** @inheritdoc */
  checkAndRemember(sender: string, messageId: Uint8Array, signingTime: Date, now: Date): ReplayOutcome {
    this.reload();
    const t = signingTime.getTime();
    const n = now.getTime();
    if (!Number.isFinite(t) || t < n - this.windowMs || t > n + this.maxSkewMs || t <= this.floor) return 'stale';
    const key = `${sender}\u0000${Buffer.from(messageId).toString('base64')}`;
    if (this.seen.has(key)) return 'replayed';
    for (const [k, kt] of this.seen) {
      if (kt >= n - this.windowMs) break;
      this.seen.delete(k);
    }
    while (this.seen.size >= this.maxEntries) {
      const [k, kt] = this.seen.entries().next().value as [string, number];
      this.seen.delete(k);
      if (kt > this.floor) this.floor = kt;
    }
    this.seen.set(key, t);
    this.save();
    return 'fresh';
  }

  /** Number of remembered ids. */
  get size(): number {
    this.reload();
    return this.seen.size;
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
      const merged = new Map<string, number>(f.ids.filter((e) => typeof e[0] === 'string' && typeof e[1] === 'number'));
      for (const [k, t] of this.seen) if (!merged.has(k)) merged.set(k, t);
      this.seen = new Map([...merged].sort((a, b) => a[1] - b[1]));
      this.floor = Math.max(this.floor, typeof f.floor === 'number' ? f.floor : -Infinity);
    } catch {
      // Unreadable: keep what we have in memory; the next save rewrites the file. The floor protects nothing
      // we never saw, so refuse everything signed before now to stay safe.
      this.floor = Math.max(this.floor, Date.now() - this.maxSkewMs);
    }
  }

  private save(): void {
    const body: FileShape = { version: 1, floor: Number.isFinite(this.floor) ? this.floor : -1, ids: [...this.seen] };
    writePrivateFile(this.file, JSON.stringify(body));
    this.stamp = this.fileStamp();
  }
}
