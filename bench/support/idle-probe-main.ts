/**
 * A process that does nothing: its event-loop delay (child-ipc.ts measures it with a 1 ms timer) is what the host
 * does to a process's timers: a vCPU that wakes late, a runnable process waiting for a core the others hold.
 * Benches that report latency run it beside their phases, so a tail that an idle process also sees can be told from
 * one the code under test causes.
 */
import { serveParentRequests } from './child-ipc.js';

serveParentRequests(async () => undefined);
process.stdout.write(`${JSON.stringify({ event: 'ready' })}\n`);
