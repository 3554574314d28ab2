/** {@link PermitDenyStore} in SQL, shared by both backends. */
import { StoreError } from '../errors.js';
import { PermitDenyMode } from '../permit-deny.js';
import type { PermitDenyModeValue, PermitDenyState, PermitDenyStore } from '../permit-deny.js';
import { normalizeScreenName } from '../screen-name.js';
import type { SqlDriver } from './driver.js';
import { num, placeholders, str } from './rows.js';

const MODES = new Set<number>(Object.values(PermitDenyMode));

/** Builds the permit/deny store over a driver. */
export function sqlPermitDeny(db: SqlDriver): PermitDenyStore {
  const notFound = (screenName: string) => new StoreError('STORE_NOT_FOUND', `no account ${JSON.stringify(screenName)}`);

  return {
    async get(screenName: string): Promise<PermitDenyState> {
      const key = normalizeScreenName(screenName);
      const mode = await db.all('SELECT mode FROM permit_deny_mode WHERE sn_key = ?', [key]);
      const rows = await db.all('SELECT list, target_key FROM permit_deny_entries WHERE sn_key = ? ORDER BY target_key', [key]);
      const m = mode[0] ? num(mode[0].mode) : PermitDenyMode.PERMIT_ALL;
      return {
        mode: (MODES.has(m) ? m : PermitDenyMode.PERMIT_ALL) as PermitDenyModeValue,
        permit: rows.filter((r) => r.list === 'permit').map((r) => str(r.target_key)),
        deny: rows.filter((r) => r.list === 'deny').map((r) => str(r.target_key)),
      };
    },

    async setMode(screenName, mode) {
      if (!MODES.has(mode)) throw new StoreError('STORE_INVALID', `unknown permit/deny mode ${mode}`);
      try {
        await db.run(
          'INSERT INTO permit_deny_mode (sn_key, mode) VALUES (?, ?) ON CONFLICT (sn_key) DO UPDATE SET mode = excluded.mode',
          [normalizeScreenName(screenName), mode],
        );
      } catch (e) {
        if (db.dialect.isForeignKeyViolation(e)) throw notFound(screenName);
        throw e;
      }
    },

    async add(screenName, list, names, max) {
      const key = normalizeScreenName(screenName);
      const targets = [...new Set(names.map(normalizeScreenName))].filter((t) => t.length > 0);
      if (targets.length === 0) return;
      await db.transaction(async (tx) => {
        const owner = await tx.all(`SELECT sn_key FROM accounts WHERE sn_key = ?${db.dialect.forUpdate}`, [key]);
        if (!owner[0]) throw notFound(screenName);
        const have = new Set(
          (await tx.all('SELECT target_key FROM permit_deny_entries WHERE sn_key = ? AND list = ?', [key, list])).map((r) => str(r.target_key)),
        );
        const fresh = targets.filter((t) => !have.has(t));
        if (have.size + fresh.length > max) {
          throw new StoreError('STORE_LIMIT', `${list} list would hold ${have.size + fresh.length} names, more than ${max}`);
        }
        for (const t of fresh) {
          await tx.run('INSERT INTO permit_deny_entries (sn_key, list, target_key) VALUES (?, ?, ?)', [key, list, t]);
        }
      });
    },

    async remove(screenName, list, names) {
      const targets = [...new Set(names.map(normalizeScreenName))];
      if (targets.length === 0) return 0;
      return db.run(
        `DELETE FROM permit_deny_entries WHERE sn_key = ? AND list = ? AND target_key IN (${placeholders(targets.length)})`,
        [normalizeScreenName(screenName), list, ...targets],
      );
    },
  };
}
