/**
 * V8 heap tuning for the `certim server` process (not for library users of startServer, whose process is theirs).
 *
 * Every socket read gives JavaScript a fresh Buffer whose memory lives outside the V8 heap, and V8 (Node 20) counts
 * such memory allocated since the last full GC against the old-generation limit. With the default heap growth the
 * server's limit sits ~9 MB above its ~15 MB live heap, so a relayed transfer through the rendezvous proxy
 * (docs/protocol.md §8.3) set off a full mark-compact of the whole heap every ~25 MB relayed (7-10 per 200 MB),
 * while a small relay process never reached its limit at all: that was the proxy's extra CPU per GB. A growth
 * factor of 4 (the top of V8's own dynamic range) leaves room for the young-generation GCs, which free those dead
 * Buffers cheaply, to run first: no full GC during a 200 MB relay (ARCHITECTURE.md, Proxy, has the figures).
 */
import { setFlagsFromString } from 'node:v8';

/** The old generation may grow to this percentage over the live heap before the next full GC (V8's factor 1 + p/100). */
export const HEAP_GROWING_PERCENT = 300;

/**
 * Sets V8's heap growing factor for this process, unless node was started with its own `--heap-growing-percent`.
 * Call once, early (the new factor applies from the next full GC).
 */
export function tuneServerHeap(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
