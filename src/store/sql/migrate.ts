/**
 * Applies numbered migrations up or down, one transaction per step (both SQLite and Postgres have transactional
 * DDL, so a failed step leaves the schema at the previous version), recording each in schema_migrations.
 */
import { StoreError } from '../errors.js';
import type { Migration } from '../migrations/migration.js';
import { expandDialect } from './driver.js';
import type { SqlDriver, SqlExecutor } from './driver.js';
import { num } from './rows.js';

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL
)`;

/**
 * Creates schema_migrations under the migration lock: `CREATE TABLE IF NOT EXISTS` is not atomic in Postgres, so
 * two processes opening a fresh database at once (cluster nodes starting together) would otherwise collide.
 */
async function ensureTable(driver: SqlDriver): Promise<void> {
  await driver.transaction(async (tx) => {
    if (driver.dialect.migrationLock) await tx.all(driver.dialect.migrationLock);
    await tx.exec(CREATE_TABLE);
  });
}

async function applied(tx: SqlExecutor): Promise<Set<number>> {
  const rows = await tx.all('SELECT version FROM schema_migrations');
  return new Set(rows.map((r) => num(r.version)));
}

function checkOrder(list: readonly Migration[]): void {
  list.forEach((m, i) => {
    if (m.version !== i + 1) throw new StoreError('STORE_MIGRATION', `migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
}

/** The versions currently applied, ascending. */
export async function appliedVersions(driver: SqlDriver): Promise<number[]> {
  await ensureTable(driver);
  return [...(await applied(driver))].sort((a, b) => a - b);
}

/**
 * Applies every migration above the current version up to target (default: all). Refuses a database that has
 * versions this build does not know (a newer certim wrote it). Returns the versions applied now.
 */
export async function migrateUp(driver: SqlDriver, list: readonly Migration[], target = list.length, now = Date.now): Promise<number[]> {
  checkOrder(list);
  await ensureTable(driver);
  const known = await applied(driver);
  const unknown = [...known].filter((v) => v > list.length);
  if (unknown.length) {
    throw new StoreError('STORE_MIGRATION', `database has schema version ${Math.max(...unknown)}, newer than this certim (${list.length})`);
  }
  const done: number[] = [];
  for (const m of list.slice(0, target)) {
    const ran = await driver.transaction(async (tx) => {
      if (driver.dialect.migrationLock) await tx.all(driver.dialect.migrationLock);
      if ((await applied(tx)).has(m.version)) return false; // another process got there first
      await tx.exec(expandDialect(m.up, driver.dialect));
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, now()]);
      return true;
    }).catch((e: unknown) => {
      if (StoreError.is(e)) throw e;
      throw new StoreError('STORE_MIGRATION', `migration ${m.version} (${m.name}) failed: ${(e as Error).message}`, { cause: e });
    });
    if (ran) done.push(m.version);
  }
  return done;
}

/** Reverts applied migrations above target (default 0 = everything), newest first. Returns the versions reverted. */
export async function migrateDown(driver: SqlDriver, list: readonly Migration[], target = 0): Promise<number[]> {
  checkOrder(list);
  await ensureTable(driver);
  const done: number[] = [];
  for (const m of [...list].reverse()) {
    if (m.version <= target) break;
    const ran = await driver.transaction(async (tx) => {
      if (driver.dialect.migrationLock) await tx.all(driver.dialect.migrationLock);
      if (!(await applied(tx)).has(m.version)) return false;
      await tx.exec(expandDialect(m.down, driver.dialect));
      await tx.run('DELETE FROM schema_migrations WHERE version = ?', [m.version]);
      return true;
    }).catch((e: unknown) => {
      if (StoreError.is(e)) throw e;
      throw new StoreError('STORE_MIGRATION', `reverting migration ${m.version} (${m.name}) failed: ${(e as Error).message}`, { cause: e });
    });
    if (ran) done.push(m.version);
  }
  return done;
}
