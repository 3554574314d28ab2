/**
 * V8 heap tuning for the certim processes that move bulk bytes through sockets: `certim server` (the rendezvous
 * proxy) and the CLI commands that transfer files (`file`, `chat`). Library users of startServer or the client
 * keep their own process settings: only these commands call it.
 *
 * Every socket read gives JavaScript a fresh Buffer whose memory lives outside the V8 heap, and V8 (Node 20) counts
 * such memory allocated since the last full GC against the old-generation limit. With the default heap growth the
 * limit sits a few MB above the live heap, so relaying or receiving a file set off a full mark-compact of the whole
 * heap every ~25 MB moved. In the server (~15 MB live heap) that was 7-10 full GCs per 200 MB relayed through the
 * proxy (docs/protocol.md §8.3); in a receiving CLI (larger heap: every module of the client is loaded) concurrent
 * marking of the whole heap ran through most of the transfer, on the same 2 cores the transfer needs. A tiny relay
 * or pipe process never reaches its limit at all. A growth factor of 4 (the top of V8's own dynamic range) leaves
 * room for the young-generation GCs, which free those dead Buffers cheaply, to run first (ARCHITECTURE.md, Proxy
 * and Peer connections, has the figures).
 */
import { setFlagsFromString } from 'node:v8';

/** The old generation may grow to this percentage over the live heap before the next full GC (V8's factor 1 + p/100). */
export const HEAP_GROWING_PERCENT = 300;

/**
 * Sets V8's heap growing factor for this process, unless node was started with its own `--heap-growing-percent`.
 * Call once, early (the new factor applies from the next full GC).
 */
export function tuneHeapForStreaming(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}

/**
 * The glibc malloc arena limit `npm start` gives `certim server` (`MALLOC_ARENA_MAX`, unless the environment already
 * sets one). glibc gives each thread that allocates its own arena, up to 8 per core, and keeps the pages of freed
 * memory in them. V8's background compiler threads allocate their scratch memory there while the sign-on path is
 * first optimised, and glibc kept 2-3 MB of it per server process, the most variable part of an idle session's cost
 * right after a sign-on burst (docs/performance.md §2.5, seventh look). With two arenas those threads share
 * memory with the main thread, which glibc gives back. It can only be set before the process starts, so the start
 * script sets it, and a service manager running `certim server` should too (README, Running a server).
 */
export const SERVER_MALLOC_ARENA_MAX = '2';
