/**
 * SQLite through better-sqlite3. Durability settings: WAL with synchronous=FULL, so a commit is fsynced before
 * the call resolves — an offline IM the server acknowledged survives kill -9 and power loss. better-sqlite3 is
 * synchronous and one connection serves the process, so an async transaction must keep every other statement
 * out until it ends: all work goes through one promise-chain lock.
 */
import Database from 'better-sqlite3';
import type { Database as DatabaseHandle, Statement } from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { StoreError } from '../errors.js';
import type { SqlDialect, SqlDriver, SqlExecutor, SqlRow, SqlValue } from '../sql/driver.js';

/** SQLite's dialect words. */
export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  blobType: 'BLOB',
  autoIdColumn: 'INTEGER PRIMARY KEY AUTOINCREMENT', // AUTOINCREMENT: ids are never reused, so FIFO order holds
  forUpdate: '', // BEGIN IMMEDIATE already holds the database write lock
  migrationLock: '',
  isUniqueViolation: (e) => sqliteCode(e) === 'SQLITE_CONSTRAINT_PRIMARYKEY' || sqliteCode(e) === 'SQLITE_CONSTRAINT_UNIQUE',
  isForeignKeyViolation: (e) => sqliteCode(e) === 'SQLITE_CONSTRAINT_FOREIGNKEY',
};

function sqliteCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

/** Options for {@link openSqlite}. */
export interface SqliteOptions {
  /** How long a statement waits for another process's lock (e.g. `certim admin` beside the server), ms. */
  busyTimeoutMs?: number;
}

/** Prepared statements kept per connection; the query layer has a fixed set, IN-lists vary, so cap it. */
const STATEMENT_CACHE_MAX = 256;

class SqliteDriver implements SqlDriver {
  readonly dialect = sqliteDialect;
  readonly #db: DatabaseHandle;
  readonly #statements = new Map<string, Statement>();
  #tail: Promise<unknown> = Promise.resolve();
  /** Operations queued on the lock and not yet finished; 0 means a statement may run at once. */
  #pending = 0;
  #closed = false;
  /** The executor used inside a transaction: runs directly, the lock is already held. */
  readonly #direct: SqlExecutor;

  constructor(db: DatabaseHandle) {
    this.#db = db;
    this.#direct = {
      all: async (sql, params) => this.#all(sql, params),
      run: async (sql, params) => this.#run(sql, params),
      exec: async (script) => { this.#db.exec(script); },
    };
  }

  all(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]> {
    return this.#now(() => this.#all(sql, params));
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.#now(() => this.#run(sql, params));
  }

  exec(script: string): Promise<void> {
    return this.#now(() => { this.#db.exec(script); });
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#locked(async () => {
      // IMMEDIATE takes the write lock now, so a second process can't make this transaction fail half-way.
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.#direct);
        this.#db.exec('COMMIT');
        return result;
      } catch (e) {
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tail.catch(() => undefined);
    this.#statements.clear();
    this.#db.close();
  }

  /** A single synchronous statement: runs at once when nothing is queued (the common case), else queues. */
  #now<T>(fn: () => T): Promise<T> {
    if (this.#closed || this.#pending > 0) return this.#locked(fn);
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(typed(e));
    }
  }

  #locked<T>(fn: () => T | Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError('STORE_CLOSED', 'the store is closed'));
    this.#pending++;
    const next = this.#tail.then(fn).catch((e: unknown) => { throw typed(e); }).finally(() => { this.#pending--; });
    this.#tail = next.catch(() => undefined);
    return next;
  }

  #statement(sql: string): Statement {
    let st = this.#statements.get(sql);
    if (!st) {
      if (this.#statements.size >= STATEMENT_CACHE_MAX) this.#statements.clear();
      st = this.#db.prepare(sql);
      this.#statements.set(sql, st);
    }
    return st;
  }

  #all(sql: string, params: readonly SqlValue[] = []): SqlRow[] {
    const st = this.#statement(sql);
    const bound = params.map(toSqlite);
    if (st.reader) return st.all(...bound) as SqlRow[];
    st.run(...bound);
    return [];
  }

  #run(sql: string, params: readonly SqlValue[] = []): number {
    return this.#statement(sql).run(...params.map(toSqlite)).changes;
  }
}

/** Another process held the write lock past busy_timeout: a typed, retryable failure, not a driver error. */
function typed(e: unknown): unknown {
  if (sqliteCode(e)?.startsWith('SQLITE_BUSY')) return new StoreError('STORE_UNAVAILABLE', `SQLite database is locked: ${(e as Error).message}`, { cause: e });
  return e;
}

/** better-sqlite3 binds Buffers, not plain Uint8Arrays. */
function toSqlite(v: SqlValue): unknown {
  return v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v;
}

/** Tightens existing database files (made by an older certim) to 0600; files we do not own are left as they are. */
function restrictMode(files: readonly string[]): void {
  for (const f of files) {
    try {
      if (existsSync(f)) chmodSync(f, 0o600);
    } catch {
      // EPERM: another user's file (e.g. an admin CLI run as root beside the server); not ours to change.
    }
  }
}

/** Opens (creating if needed, with its directory) the SQLite database at path. */
export function openSqlite(path: string, options: SqliteOptions = {}): SqlDriver {
  let db: DatabaseHandle;
  try {
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      // Created 0600 before SQLite opens it (its -wal and -shm files copy the database file's mode): the file holds
      // password hashes and, for legacy-login accounts, password-equivalent MD5s.
      closeSync(openSync(path, 'a', 0o600));
    }
    db = new Database(path);
  } catch (e) {
    throw new StoreError('STORE_UNAVAILABLE', `cannot open SQLite database ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    if (path !== ':memory:') restrictMode([path, `${path}-wal`, `${path}-shm`]);
  } catch (e) {
    db.close();
    throw new StoreError('STORE_UNAVAILABLE', `cannot configure SQLite database ${path}: ${(e as Error).message}`, { cause: e });
  }
  return new SqliteDriver(db);
}
