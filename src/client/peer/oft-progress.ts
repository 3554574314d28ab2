/**
 * Progress of a file transfer: bytes done, rate over a sliding window, and the time left at that rate. The clock
 * is injected so tests can drive it.
 */

/** One progress report. */
export interface TransferProgress {
  /** The file being moved (its offered name, path parts joined by "/"). */
  file: string;
  /** 1-based index of the file and how many there are. */
  fileIndex: number;
  fileCount: number;
  /** Bytes of this file done (including a resumed prefix) and its size. */
  fileBytes: number;
  fileSize: number;
  /** Bytes of the whole transfer done and its total size. */
  bytes: number;
  totalSize: number;
  /** Bytes per second over the last few seconds (0 until measurable). */
  rate: number;
  /** Seconds left at that rate (undefined until a rate is known). */
  etaSeconds: number | undefined;
}

/** Tracks a transfer's progress and emits at most one report per `intervalMs`. */
export class ProgressMeter {
  private samples: Array<{ at: number; bytes: number }> = [];
  private lastEmit = -Infinity;

  constructor(
    private readonly report: ((p: TransferProgress) => void) | undefined,
    private readonly now: () => number = () => Date.now(),
    private readonly intervalMs = 250,
    private readonly windowMs = 3000,
  ) {}

  /** Rate in bytes per second over the window ending now. */
  rate(bytes: number): number {
    const t = this.now();
    // One sample per 100 ms is plenty for a 3 s window (and keeps the per-chunk cost constant).
    const last = this.samples[this.samples.length - 1];
    if (!last || t - last.at >= 100) this.samples.push({ at: t, bytes });
    while (this.samples.length > 2 && t - this.samples[0]!.at > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (t - first.at) / 1000;
    return dt > 0 ? (bytes - first.bytes) / dt : 0;
  }

  /** Records progress; reports it when the interval passed (or `force`). */
  update(p: Omit<TransferProgress, 'rate' | 'etaSeconds'>, force = false): void {
    const rate = this.rate(p.bytes);
    const t = this.now();
    if (!this.report || (!force && t - this.lastEmit < this.intervalMs)) return;
    this.lastEmit = t;
    this.report({ ...p, rate, etaSeconds: rate > 0 ? Math.max(0, (p.totalSize - p.bytes) / rate) : undefined });
  }
}
