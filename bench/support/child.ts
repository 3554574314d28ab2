/**
 * Runs the process under test (baseline relay or real server) as a child, so its CPU time and memory are measured
 * apart from the load generator's: CPU from /proc/<pid>/stat, memory through an IPC request (child-ipc.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { LoopDelaySample, MemorySample } from './child-ipc.js';
import { SERVER_MALLOC_ARENA_MAX } from '../../src/cli/heap-tuning.js';

/** A running child under test. */
export interface BenchChild {
  /** Its process id. */
  readonly pid: number;
  /** The JSON ready line it printed. */
  readonly ready: Record<string, unknown>;
  /** User + system CPU seconds the child has used so far. */
  cpuSeconds(): number;
  /** A memory sample taken inside the child after GC. */
  memory(): Promise<MemorySample>;
  /** Its event-loop delay since the previous call (or since it started); starts a new window. */
  loopDelay(): Promise<LoopDelaySample>;
  /** Asks it to close and waits for exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

const CLOCK_TICKS = 100;

/**
 * CERTIM_BENCH_SERVER_FLAGS: extra node flags for the certim server processes of a bench (to measure a V8 setting's
 * effect); baselines never get them.
 */
export function benchServerFlags(): string[] {
  return (process.env.CERTIM_BENCH_SERVER_FLAGS ?? '').split(' ').filter(Boolean);
}

/**
 * Spawns a certim server process of a bench as `npm start` runs one: with benchServerFlags() and glibc's malloc arena
 * limit (MALLOC_ARENA_MAX, unless the bench's own environment sets one; `MALLOC_ARENA_MAX=16` measures glibc's
 * default on 2 cores). The server child scripts apply `certim server`'s heap tuning themselves.
 */
export function spawnServerChild(script: string, args: string[] = []): Promise<BenchChild> {
  const env = { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? SERVER_MALLOC_ARENA_MAX };
  return spawnBenchChild(script, args, benchServerFlags(), env);
}

/**
 * Spawns `node --expose-gc [nodeFlags] --import tsx <script> ...args` and waits (≤ 60 s) for its `{"event":"ready"}`
 * line. `nodeFlags` are V8/Node options the process under test runs with in production (e.g. the server's).
 */
export async function spawnBenchChild(script: string, args: string[] = [], nodeFlags: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<BenchChild> {
  // CERTIM_BENCH_PROFILE=DIR writes a V8 CPU profile of each child into DIR (open it in Chrome DevTools).
  const profile = process.env.CERTIM_BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.CERTIM_BENCH_PROFILE] : [];
  const child: ChildProcess = spawn(process.execPath, ['--expose-gc', ...nodeFlags, ...profile, '--import', 'tsx', script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${script}`);
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script}: no ready line within 60 s`)), 60_000);
    child.once('exit', (code) => reject(new Error(`${script} exited early with code ${code}`)));
    lines.on('line', (line) => {
      try {
        const obj = JSON.parse(line) as Record<string, unknown>;
        if (obj.event === 'ready') {
          clearTimeout(timer);
          resolve(obj);
        }
      } catch {
        // not JSON: ignore
      }
    });
  });
  child.removeAllListeners('exit');
  /** Sends `cmd` over IPC and resolves with the reply's `cmd` field (the child answers {[cmd]: sample}). */
  const ask = <T>(cmd: 'mem' | 'eld', what: string): Promise<T> => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} timed out`)), 10_000);
    const onMsg = (msg: Record<string, unknown>): void => {
      if (msg[cmd] === undefined) return;
      clearTimeout(t);
      child.off('message', onMsg);
      resolve(msg[cmd] as T);
    };
    child.on('message', onMsg);
    child.send({ cmd });
  });
  return {
    pid,
    ready,
    cpuSeconds() {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (1-based).
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(rest[11]) + Number(rest[12])) / CLOCK_TICKS;
    },
    memory: () => ask<MemorySample>('mem', 'memory sample'),
    loopDelay: () => ask<LoopDelaySample>('eld', 'event-loop delay sample'),
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.send({ cmd: 'exit' });
      });
    },
  };
}
