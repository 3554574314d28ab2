/** {@link UserInfoStore} in SQL, shared by both backends. */
import { createHash } from 'node:crypto';
import { StoreError } from '../errors.js';
import { normalizeScreenName } from '../screen-name.js';
import type { UserInfo, UserInfoStore } from '../user-info.js';
import type { SqlDriver, SqlValue } from './driver.js';
import { bytesOrNull, num, strOrNull } from './rows.js';

/** Largest profile, away message or certificate block accepted, bytes; the server's advertised limits are lower. */
export const USER_INFO_MAX_BYTES = 64 * 1024;

/** Builds the user-info store over a driver; now() stamps changes. */
export function sqlUserInfo(db: SqlDriver, now: () => number): UserInfoStore {
  // One upsert per column pair: only the named columns change, the others keep their values.
  const upsert = async (screenName: string, cols: readonly [string, string], values: readonly [SqlValue, SqlValue]) => {
    for (const v of values) {
      if (v instanceof Uint8Array && v.length > USER_INFO_MAX_BYTES) {
        throw new StoreError('STORE_LIMIT', `value of ${v.length} bytes exceeds ${USER_INFO_MAX_BYTES}`);
      }
    }
    const [a, b] = cols;
    try {
      await db.run(
        `INSERT INTO user_info (sn_key, ${a}, ${b}, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (sn_key) DO UPDATE SET ${a} = excluded.${a}, ${b} = excluded.${b}, updated_at = excluded.updated_at`,
        [normalizeScreenName(screenName), values[0], values[1], now()],
      );
    } catch (e) {
      if (db.dialect.isForeignKeyViolation(e)) throw new StoreError('STORE_NOT_FOUND', `no account ${JSON.stringify(screenName)}`, { cause: e });
      throw e;
    }
  };

  return {
    async get(screenName: string): Promise<UserInfo> {
      const rows = await db.all(
        'SELECT profile_mime, profile, away_mime, away, cert_block, cert_hash, updated_at FROM user_info WHERE sn_key = ?',
        [normalizeScreenName(screenName)],
      );
      const r = rows[0];
      if (!r) return { profileMime: null, profile: null, awayMime: null, away: null, certBlock: null, certHash: null, updatedAt: 0 };
      return {
        profileMime: strOrNull(r.profile_mime),
        profile: bytesOrNull(r.profile),
        awayMime: strOrNull(r.away_mime),
        away: bytesOrNull(r.away),
        certBlock: bytesOrNull(r.cert_block),
        certHash: bytesOrNull(r.cert_hash),
        updatedAt: num(r.updated_at),
      };
    },

    async setProfile(screenName, mime, profile) {
      await upsert(screenName, ['profile_mime', 'profile'], [profile ? mime : null, profile]);
    },

    async setAway(screenName, mime, away) {
      await upsert(screenName, ['away_mime', 'away'], [away ? mime : null, away]);
    },

    async setCertBlock(screenName, block) {
      const hash = block ? new Uint8Array(createHash('md5').update(block).digest()) : null;
      await upsert(screenName, ['cert_block', 'cert_hash'], [block, hash]);
      return hash;
    },
  };
}
