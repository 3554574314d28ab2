/** {@link MetaStore} in SQL, shared by both backends. */
import type { MetaStore } from '../meta.js';
import type { SqlDriver } from './driver.js';
import { str } from './rows.js';

/** Builds the meta store over a driver. */
export function sqlMeta(db: SqlDriver): MetaStore {
  return {
    async get(key) {
      const rows = await db.all('SELECT value FROM meta WHERE key = ?', [key]);
      return rows[0] ? str(rows[0].value) : null;
    },
    async set(key, value) {
      await db.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
    },
    async delete(key) {
      return (await db.run('DELETE FROM meta WHERE key = ?', [key])) > 0;
    },
  };
}
