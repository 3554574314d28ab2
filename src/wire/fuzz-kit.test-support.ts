/**
 * Test support (not built into dist/): a tiny seeded PRNG, an input mutator and a decoder fuzz loop, used by the wire
 * tests and benches to prove the decoder contract: every outcome is a value or a WireError — nothing else is thrown,
 * no hang, and error offsets lie inside the input.
 */
import assert from 'node:assert/strict';
import { WireError, toHex } from './bytes.js';

/** Inputs per decoder in the fuzz tests (the contract asks for at least 100,000 per run). */
export const FUZZ_ITERATIONS = 100_000;

/** node:test options for a fuzz test. */
export const FUZZ_TEST_OPTIONS = { timeout: 60_000 };

/** mulberry32: small, fast, deterministic; NOT for cryptography. */
export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** Next u32. */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }

  /** A random element. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

const INTERESTING_U16 = [0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xfffe, 0xffff];

/**
 * One random mutation of `input`: bit flips, random bytes, truncation, extension, length-field corruption
 * (a u16 set to a boundary value or nudged by ±1), deletion, duplication, or splicing with `donor`.
 */
export function mutate(rng: Prng, input: Uint8Array, donor?: Uint8Array): Uint8Array {
  const b = new Uint8Array(input);
  const n = b.length;
  switch (rng.int(9)) {
    case 0: { // bit flips
      if (n === 0) return rng.bytes(1);
      for (let k = 1 + rng.int(3); k > 0; k--) b[rng.int(n)]! ^= 1 << rng.int(8);
      return b;
    }
    case 1: { // random byte
      if (n === 0) return rng.bytes(1);
      b[rng.int(n)] = rng.int(256);
      return b;
    }
    case 2: // truncate
      return b.subarray(0, rng.int(n + 1));
    case 3: { // extend with random tail
      const out = new Uint8Array(n + 1 + rng.int(16));
      out.set(b);
      out.set(rng.bytes(out.length - n), n);
      return out;
    }
    case 4:
    case 5: { // length-field corruption
      if (n < 2) return b;
      const at = rng.int(n - 1);
      const cur = (b[at]! << 8) | b[at + 1]!;
      const v = rng.chance(0.5) ? rng.pick(INTERESTING_U16) : (cur + (rng.chance(0.5) ? 1 : 0xffff)) & 0xffff;
      b[at] = v >> 8;
      b[at + 1] = v & 0xff;
      return b;
    }
    case 6: { // delete a region
      if (n === 0) return b;
      const at = rng.int(n);
      const len = 1 + rng.int(Math.min(16, n - at));
      const out = new Uint8Array(n - len);
      out.set(b.subarray(0, at));
      out.set(b.subarray(at + len), at);
      return out;
    }
    case 7: { // duplicate a region
      if (n === 0) return b;
      const at = rng.int(n);
      const len = 1 + rng.int(Math.min(32, n - at));
      const out = new Uint8Array(n + len);
      out.set(b.subarray(0, at + len));
      out.set(b.subarray(at, at + len), at + len);
      out.set(b.subarray(at + len), at + 2 * len);
      return out;
    }
    default: { // splice with a donor
      const d = donor ?? rng.bytes(8);
      const cut = rng.int(n + 1);
      const from = rng.int(d.length + 1);
      const out = new Uint8Array(cut + d.length - from);
      out.set(b.subarray(0, cut));
      out.set(d.subarray(from), cut);
      return out;
    }
  }
}

/** Outcome counts of a fuzz run. */
export interface FuzzStats {
  /** Inputs that decoded to a value. */
  values: number;
  /** Inputs rejected with a WireError, by code. */
  errors: Map<string, number>;
  /** Total inputs. */
  total: number;
}

/** Options for {@link fuzzDecoder}. */
export interface FuzzOptions {
  /** Number of inputs (default {@link FUZZ_ITERATIONS}). */
  iterations?: number;
  /** PRNG seed. */
  seed?: number;
  /** Fraction of purely random inputs; the rest are 1-3 mutations of a seed (default 0.1). */
  randomFraction?: number;
  /** Max length of random inputs (default 64). */
  maxRandomLength?: number;
}

/**
 * Feeds `decode` random and mutated inputs. Throws a plain Error (failing the test) if `decode` throws
 * anything but a WireError, or a WireError whose offset is outside [0, input.length].
 */
export function fuzzDecoder(name: string, decode: (b: Uint8Array) => unknown, seeds: readonly Uint8Array[], opts: FuzzOptions = {}): FuzzStats {
  const rng = new Prng(opts.seed ?? 0x5eed);
  const iterations = opts.iterations ?? FUZZ_ITERATIONS;
  const randomFraction = opts.randomFraction ?? 0.1;
  const maxLen = opts.maxRandomLength ?? 64;
  const stats: FuzzStats = { values: 0, errors: new Map(), total: 0 };
  return withoutStackTraces(() => {
    for (let i = 0; i < iterations; i++) {
      let input: Uint8Array;
      if (seeds.length === 0 || rng.chance(randomFraction)) input = rng.bytes(rng.int(maxLen + 1));
      else {
        input = rng.pick(seeds);
        for (let k = 1 + rng.int(3); k > 0; k--) input = mutate(rng, input, rng.pick(seeds));
      }
      stats.total++;
      try {
        decode(input);
        stats.values++;
      } catch (e) {
        if (!(e instanceof WireError)) {
          throw new Error(`${name}: threw ${String(e)} (not a WireError) on input ${toHex(input)}`);
        }
        if (!Number.isInteger(e.offset) || e.offset < 0 || e.offset > input.length) {
          throw new Error(`${name}: WireError offset ${e.offset} outside input of ${input.length} bytes (${e.code}) on ${toHex(input)}`);
        }
        stats.errors.set(e.code, (stats.errors.get(e.code) ?? 0) + 1);
      }
    }
    return stats;
  });
}

/** Asserts a full fuzz run both decoded and rejected something (a decoder that accepts or rejects all is suspect). */
export function expectMixed(name: string, s: FuzzStats, total = FUZZ_ITERATIONS): void {
  assert.equal(s.total, total);
  assert.ok(s.values > 0, `${name}: no input decoded`);
  assert.ok(s.values < s.total, `${name}: nothing rejected`);
}

/**
 * Runs `f` with V8 stack capture off: most fuzz inputs end in a WireError, and capturing its stack is half the
 * cost of a run while telling the contract nothing. Restores the previous limit.
 */
export function withoutStackTraces<T>(f: () => T): T {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return f();
  } finally {
    Error.stackTraceLimit = saved;
  }
}
