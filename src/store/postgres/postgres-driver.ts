/**
 * Postgres through a `pg` Pool. The query layer writes `?` placeholders; this driver numbers them ($1, $2, ...).
 * A schema option confines every table to one namespace (the conformance suite uses a fresh one per run).
 */
import { redactDatabaseUrl } from '../redact-url.js';
import pg from 'pg';
import { StoreError } from '../errors.js';
import type { SqlDialect, SqlDriver, SqlExecutor, SqlRow, SqlValue } from '../sql/driver.js';

/** Postgres's dialect words. */
export const postgresDialect: SqlDialect = {
  name: 'postgres',
  blobType: 'BYTEA',
  autoIdColumn: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
  forUpdate: ' FOR UPDATE',
  // One arbitrary constant key: two servers starting together must not both apply migration N.
  migrationLock: 'SELECT pg_advisory_xact_lock(7261836153)',
  isUniqueViolation: (e) => pgCode(e) === '23505',
  isForeignKeyViolation: (e) => pgCode(e) === '23503',
};

function pgCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

/** Options for {@link openPostgres}. */
export interface PostgresOptions {
  /** Schema to use (created if missing); default: the server's search_path. */
  schema?: string;
  /** Pool size; default 10. */
  maxConnections?: number;
  /** Connect timeout, ms; default 5000. */
  connectTimeoutMs?: number;
  /** Called for errors on idle pooled connections (which would otherwise crash the process). */
  onError?: (err: Error) => void;
}

/** `?` -> `$n`, leaving quoted strings and identifiers alone. */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  let out = '';
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '?') {
      out += `$${++n}`;
    } else {
      out += ch;
    }
  }
  return out;
}

/** Schema names are interpolated into SQL, so only plain identifiers are accepted. */
const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

function toPg(v: SqlValue): unknown {
  return v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v;
}

function wrap(e: unknown): unknown {
  // Connection-level failures become STORE_UNAVAILABLE; SQL errors (constraints...) pass through for the dialect.
  const code = pgCode(e);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === 'ECONNRESET' || code === '57P01') {
    return new StoreError('STORE_UNAVAILABLE', `Postgres unreachable: ${(e as Error).message}`, { cause: e });
  }
  if (e instanceof Error && /timeout exceeded when trying to connect|Connection terminated/i.test(e.message)) {
    return new StoreError('STORE_UNAVAILABLE', `Postgres unreachable: ${e.message}`, { cause: e });
  }
  return e;
}

function executor(q: (text: string, values: unknown[]) => Promise<pg.QueryResult>): SqlExecutor {
  return {
    all: async (sql, params = []) => {
      try {
        return (await q(numberPlaceholders(sql), params.map(toPg))).rows as SqlRow[];
      } catch (e) {
        throw wrap(e);
      }
    },
    run: async (sql, params = []) => {
      try {
        return (await q(numberPlaceholders(sql), params.map(toPg))).rowCount ?? 0;
      } catch (e) {
        throw wrap(e);
      }
    },
    exec: async (script) => {
      try {
        await q(script, []);
      } catch (e) {
        throw wrap(e);
      }
    },
  };
}

class PostgresDriver implements SqlDriver {
  readonly dialect = postgresDialect;
  readonly #pool: pg.Pool;
  readonly #exec: SqlExecutor;
  #closed = false;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
    this.#exec = executor((text, values) => {
      if (this.#closed) return Promise.reject(new StoreError('STORE_CLOSED', 'the store is closed'));
      // A parameterless call goes over the simple protocol, which is what allows multi-statement scripts.
      return values.length ? this.#pool.query(text, values) : this.#pool.query(text);
    });
  }

  all(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]> {
    return this.#exec.all(sql, params);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.#exec.run(sql, params);
  }

  exec(script: string): Promise<void> {
    return this.#exec.exec(script);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreError('STORE_CLOSED', 'the store is closed');
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (e) {
      throw wrap(e);
    }
    const tx = executor((text, values) => (values.length ? client.query(text, values) : client.query(text)));
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch (_) {
        broken = true; // the connection is unusable; destroy it instead of returning it to the pool
      }
      throw wrap(e);
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}

/** Connects a pool to the Postgres URL and checks it with one round trip (STORE_UNAVAILABLE if unreachable). */
export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<SqlDriver> {
  if (options.schema !== undefined && !SCHEMA_RE.test(options.schema)) {
    throw new StoreError('STORE_BAD_URL', `invalid Postgres schema name ${JSON.stringify(options.schema)}`);
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  pool.on('error', (err) => options.onError?.(err));
  const driver = new PostgresDriver(pool);
  try {
    if (options.schema) {
      // Two processes creating the same schema at once (cluster nodes starting together): IF NOT EXISTS is not
      // atomic in Postgres, and the loser gets a unique violation on pg_namespace, which means "it exists now".
      await driver.exec(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`).catch((e: unknown) => {
        if (!postgresDialect.isUniqueViolation(e)) throw e;
      });
    } else {
      await driver.all('SELECT 1');
    }
  } catch (e) {
    await pool.end().catch(() => undefined);
    if (StoreError.is(e)) throw e;
    throw new StoreError('STORE_UNAVAILABLE', `cannot use Postgres at ${redactDatabaseUrl(url)}: ${(e as Error).message}`, { cause: e });
  }
  return driver;
}
