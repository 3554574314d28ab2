/**
 * The child side of a benched process (baseline relay or real server): answers the parent's IPC requests for
 * memory figures after a forced GC (the child runs with --expose-gc), so per-session memory is measured in a
 * process that holds nothing but the thing being measured; and for its event-loop delay (a stalled child delays
 * every frame it relays).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** A memory sample sent to the parent. */
export interface MemorySample {
  /** Resident set size, bytes. */
  rss: number;
  /** V8 heap in use, bytes. */
  heapUsed: number;
  /** Memory held outside the V8 heap by C++ objects, Buffers and ArrayBuffers (Node's `external` already includes `arrayBuffers`), bytes. */
  external: number;
}

/** The child's event-loop delay since the last `{ cmd: 'eld' }` (or since start), ms. */
export interface LoopDelaySample {
  /** Median delay. */
  p50: number;
  /** 99th percentile delay. */
  p99: number;
  /** Longest delay. */
  max: number;
}

/**
 * Starts answering `{ cmd: 'mem' }` messages with a {@link MemorySample}, `{ cmd: 'eld' }` with a
 * {@link LoopDelaySample} (then starts a new window); `{ cmd: 'exit' }` runs `onExit`.
 */
export function serveParentRequests(onExit: () => Promise<void>): void {
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  process.on('message', (msg: { cmd?: string }) => {
    if (msg.cmd === 'eld') {
      process.send?.({ eld: { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6 } satisfies LoopDelaySample });
      eld.reset();
    } else if (msg.cmd === 'mem') {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc) {
        gc();
        gc();
      }
      const m = process.memoryUsage();
      process.send?.({ mem: { rss: m.rss, heapUsed: m.heapUsed, external: m.external } satisfies MemorySample });
    } else if (msg.cmd === 'exit') {
      void onExit().finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => {
    void onExit().finally(() => process.exit(0));
  });
}
