/** {@link LoginThrottleStore} in SQL, shared by both backends (table `login_throttle`, migration 4). */
import type { LoginThrottleRecord, LoginThrottleStore } from '../login-throttle.js';
import type { SqlDriver, SqlRow } from './driver.js';
import { num, str } from './rows.js';

/** Dead rows are purged once every this many updates. */
const PURGE_EVERY = 512;

function toRecord(r: SqlRow): LoginThrottleRecord {
  return { count: num(r.n), milliTokens: num(r.milli_tokens), until: num(r.until_ms), at: num(r.at_ms), expiresAt: num(r.expires_at) };
}

/** Builds the throttle store over a driver. */
export function sqlLoginThrottle(db: SqlDriver): LoginThrottleStore {
  let updates = 0;
  return {
    async update(keys, now, decide) {
      // Sorted and de-duplicated: every transaction takes its row locks in the same order, so two never deadlock.
      const sorted = [...new Set(keys)].sort();
      const marks = sorted.map(() => '?').join(', ');
      const result = await db.transaction(async (tx) => {
        // A row must exist to be locked (Postgres FOR UPDATE locks rows, not gaps): insert dead placeholders first.
        for (const k of sorted) {
          await tx.run('INSERT INTO login_throttle (tkey, n, milli_tokens, until_ms, at_ms, expires_at) VALUES (?, 0, 0, 0, 0, 0) ON CONFLICT (tkey) DO NOTHING', [k]);
        }
        const rows = await tx.all(`SELECT tkey, n, milli_tokens, until_ms, at_ms, expires_at FROM login_throttle WHERE tkey IN (${marks}) ORDER BY tkey${db.dialect.forUpdate}`, sorted);
        const current = new Map<string, LoginThrottleRecord>();
        for (const r of rows) {
          const rec = toRecord(r);
          if (rec.expiresAt > now) current.set(str(r.tkey), rec);
        }
        const decision = decide(current);
        for (const k of sorted) {
          const w = decision.writes.get(k);
          if (w) {
            await tx.run('UPDATE login_throttle SET n = ?, milli_tokens = ?, until_ms = ?, at_ms = ?, expires_at = ? WHERE tkey = ?',
              [w.count, Math.round(w.milliTokens), Math.round(w.until), Math.round(w.at), Math.round(w.expiresAt), k]);
          } else if (w === null || !current.has(k)) {
            await tx.run('DELETE FROM login_throttle WHERE tkey = ?', [k]);
          }
        }
        return decision.result;
      });
      if (++updates % PURGE_EVERY === 0) await db.run('DELETE FROM login_throttle WHERE expires_at <= ?', [now]);
      return result;
    },

    async entries(now, limit) {
      const rows = await db.all('SELECT tkey, n, milli_tokens, until_ms, at_ms, expires_at FROM login_throttle WHERE expires_at > ? ORDER BY tkey LIMIT ?', [now, Math.max(0, Math.floor(limit))]);
      return rows.map((r) => [str(r.tkey), toRecord(r)] as [string, LoginThrottleRecord]);
    },

    async deleteAccount(account) {
      // LIKE with an escape character: a screen name may contain % or _ (they are not wildcards here).
      const pattern = `p:% ${account.replace(/[\\%_]/g, (c) => `\\${c}`)}`;
      return db.run("DELETE FROM login_throttle WHERE tkey = ? OR tkey = ? OR tkey LIKE ? ESCAPE '\\'", [`a:${account}`, `s:${account}`, pattern]);
    },
  };
}
