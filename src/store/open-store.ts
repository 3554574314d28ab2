/**
 * Opening a store from a URL: `sqlite:PATH` (directory created if missing) or `postgres://...` /
 * `postgresql://...`. The schema is migrated to the newest version on open unless told otherwise.
 */
import { redactDatabaseUrl } from './redact-url.js';
import { join } from 'node:path';
import { StoreError } from './errors.js';
import { migrations } from './migrations/index.js';
import type { SqlDriver } from './sql/driver.js';
import { migrateUp } from './sql/migrate.js';
import { sqlStore } from './sql/sql-store.js';
import type { Store } from './store.js';

/** The default database: SQLite under ./data. */
export const DEFAULT_DATABASE_URL = 'sqlite:./data/certim.db';

/** The database URL for a data directory (`sqlite:DIR/certim.db`). */
export function databaseUrlForDataDir(dataDir: string): string {
  return `sqlite:${join(dataDir, 'certim.db')}`;
}

/** Options for {@link openStore}. */
export interface OpenStoreOptions {
  /** Clock for stamps the store sets itself (account creation, profile and feedbag changes); default Date.now. */
  now?: () => number;
  /** Postgres only: the schema holding the tables (created if missing). */
  schema?: string;
  /** Apply pending migrations on open; default true. */
  migrate?: boolean;
  /** Postgres only: errors of idle pooled connections (otherwise ignored; the next query reports them). */
  onError?: (err: Error) => void;
}

/** Opens the database behind a URL without touching its schema (for migration tools and tests). */
export async function openSqlDriver(url: string, options: Pick<OpenStoreOptions, 'schema' | 'onError'> = {}): Promise<SqlDriver> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, ''); // accept sqlite:///abs/path too
    if (!path) throw new StoreError('STORE_BAD_URL', 'sqlite: URL has no path');
    const { openSqlite } = await import('./sqlite/sqlite-driver.js');
    return openSqlite(path);
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const { openPostgres } = await import('./postgres/postgres-driver.js');
    return openPostgres(url, { ...(options.schema ? { schema: options.schema } : {}), ...(options.onError ? { onError: options.onError } : {}) });
  }
  throw new StoreError('STORE_BAD_URL', `unsupported database URL ${JSON.stringify(redactDatabaseUrl(url))}: use sqlite:PATH or postgres://...`);
}

/** Opens the store behind a URL (default {@link DEFAULT_DATABASE_URL}) and brings its schema up to date. */
export async function openStore(url: string = DEFAULT_DATABASE_URL, options: OpenStoreOptions = {}): Promise<Store> {
  const driver = await openSqlDriver(url, options);
  if (options.migrate !== false) {
    try {
      await migrateUp(driver, migrations);
    } catch (e) {
      await driver.close().catch(() => undefined);
      throw e;
    }
  }
  return sqlStore(driver, options.now);
}
