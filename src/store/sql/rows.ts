/**
 * Row-value conversions shared by the query modules: Postgres returns BIGINT/COUNT as strings and BYTEA as
 * Buffer, SQLite returns numbers and Buffer; callers always get numbers and plain Uint8Array.
 */
import { StoreError } from '../errors.js';

/** A column as a number (accepts number, bigint or a decimal string). */
export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  throw new StoreError('STORE_INVALID', `expected an integer column, got ${typeof v}`);
}

/** A nullable integer column. */
export function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}

/** A column as bytes (a fresh plain Uint8Array, never a pooled Buffer view). */
export function bytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return new Uint8Array(v);
  throw new StoreError('STORE_INVALID', `expected a byte column, got ${typeof v}`);
}

/** A nullable byte column. */
export function bytesOrNull(v: unknown): Uint8Array | null {
  return v === null || v === undefined ? null : bytes(v);
}

/** A column as a string. */
export function str(v: unknown): string {
  if (typeof v === 'string') return v;
  throw new StoreError('STORE_INVALID', `expected a text column, got ${typeof v}`);
}

/** A nullable text column. */
export function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : str(v);
}

/** `?, ?, ?` for n parameters (n ≥ 1). */
export function placeholders(n: number): string {
  return new Array<string>(n).fill('?').join(', ');
}
