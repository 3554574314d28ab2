/**
 * The seam between the one SQL query layer (src/store/sql/) and a database. Queries are written once with `?`
 * placeholders in the SQL both SQLite (≥ 3.35) and Postgres accept — including `INSERT ... ON CONFLICT (...) DO
 * UPDATE SET c = excluded.c` and `RETURNING` — so a driver only converts placeholders and values, and a dialect
 * supplies the few words that differ (blob type, auto-increment key, row locks, error classification).
 */

/** A value bound to a placeholder. Integers beyond 2^53 are not used by the schema. */
export type SqlValue = string | number | Uint8Array | null;

/** A result row: column name to value (numbers may arrive as strings from Postgres BIGINT; see rows.ts). */
export type SqlRow = Record<string, unknown>;

/** Runs statements; a driver outside a transaction, or the handle passed into a transaction. */
export interface SqlExecutor {
  /** Runs one statement with `?` placeholders and returns its rows ([] when it returns none). */
  all(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  /** Runs one statement and returns the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Runs a parameterless multi-statement script (migrations). */
  exec(script: string): Promise<void>;
}

/** What differs between SQL dialects, as data. */
export interface SqlDialect {
  /** Backend name. */
  readonly name: 'sqlite' | 'postgres';
  /** Column type for byte strings: BLOB (SQLite) or BYTEA (Postgres). */
  readonly blobType: string;
  /** Column definition of an auto-increment 64-bit primary key. */
  readonly autoIdColumn: string;
  /** Appended to a SELECT to lock its rows until commit; '' where transactions lock the whole database. */
  readonly forUpdate: string;
  /** Statement run first in a migration transaction to keep two processes from migrating at once ('' if none). */
  readonly migrationLock: string;
  /** True if the error is a unique / primary-key violation. */
  isUniqueViolation(err: unknown): boolean;
  /** True if the error is a foreign-key violation. */
  isForeignKeyViolation(err: unknown): boolean;
}

/** A connected database. */
export interface SqlDriver extends SqlExecutor {
  /** Its dialect. */
  readonly dialect: SqlDialect;
  /**
   * Runs fn in one transaction on one connection: commits if it resolves, rolls back and rethrows if it rejects.
   * fn must use only the executor it is given (the outer driver may wait for this transaction to end).
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Closes the database. */
  close(): Promise<void>;
}

/** Replaces the dialect tokens {{BLOB}} and {{AUTO_ID}} in schema SQL. */
export function expandDialect(sql: string, dialect: SqlDialect): string {
  return sql.replace(/\{\{BLOB\}\}/g, dialect.blobType).replace(/\{\{AUTO_ID\}\}/g, dialect.autoIdColumn);
}
