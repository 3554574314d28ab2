/** {@link AccountStore} in SQL, shared by both backends. */
import type { Account, AccountStore, AccountUpdate, LegacyVerifier, NewAccount } from '../accounts.js';
import { StoreError } from '../errors.js';
import { normalizeScreenName, screenNameProblem } from '../screen-name.js';
import type { SqlDriver, SqlRow, SqlValue } from './driver.js';
import { bytesOrNull, num, str, strOrNull } from './rows.js';

const COLUMNS =
  'sn_key, screen_name, email, created_at, password_hash, legacy_login, legacy_md5_password, disabled';

function toAccount(r: SqlRow): Account {
  const md5Password = bytesOrNull(r.legacy_md5_password);
  return {
    key: str(r.sn_key),
    screenName: str(r.screen_name),
    email: strOrNull(r.email),
    createdAt: num(r.created_at),
    passwordHash: str(r.password_hash),
    legacyLoginEnabled: num(r.legacy_login) === 1,
    legacyVerifier: md5Password ? { md5Password } : null,
    disabled: num(r.disabled) === 1,
  };
}

function checkVerifier(v: LegacyVerifier | null): void {
  if (v === null) return;
  if (v.md5Password.length !== 16) throw new StoreError('STORE_INVALID', 'the legacy verifier must be 16 bytes (MD5)');
}

/** Builds the account store over a driver; now() stamps creation. */
export function sqlAccounts(db: SqlDriver, now: () => number): AccountStore {
  const getByKey = async (key: string): Promise<Account | null> => {
    const rows = await db.all(`SELECT ${COLUMNS} FROM accounts WHERE sn_key = ?`, [key]);
    return rows[0] ? toAccount(rows[0]) : null;
  };

  return {
    async create(a: NewAccount): Promise<Account> {
      const problem = screenNameProblem(a.screenName);
      if (problem) throw new StoreError('STORE_INVALID', problem);
      const verifier = a.legacyVerifier ?? null;
      const legacy = a.legacyLoginEnabled ?? verifier !== null;
      if (!legacy && verifier) throw new StoreError('STORE_INVALID', 'a legacy verifier may be stored only with legacy login enabled');
      if (legacy && !verifier) throw new StoreError('STORE_INVALID', 'legacy login needs a legacy verifier');
      checkVerifier(verifier);
      if (!a.passwordHash) throw new StoreError('STORE_INVALID', 'password hash is empty');
      const key = normalizeScreenName(a.screenName);
      const changed = await db.run(
        `INSERT INTO accounts (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sn_key) DO NOTHING`,
        [key, a.screenName, a.email ?? null, now(), a.passwordHash, legacy ? 1 : 0, verifier?.md5Password ?? null, a.disabled ? 1 : 0],
      );
      if (changed === 0) throw new StoreError('STORE_DUPLICATE', `screen name ${JSON.stringify(a.screenName)} is taken`);
      const created = await getByKey(key);
      if (!created) throw new StoreError('STORE_NOT_FOUND', `account ${key} vanished after creation`);
      return created;
    },

    get: (screenName) => getByKey(normalizeScreenName(screenName)),

    async list(): Promise<Account[]> {
      return (await db.all(`SELECT ${COLUMNS} FROM accounts ORDER BY sn_key`)).map(toAccount);
    },

    async update(screenName: string, u: AccountUpdate): Promise<Account> {
      const key = normalizeScreenName(screenName);
      if (u.screenName !== undefined) {
        if (normalizeScreenName(u.screenName) !== key) throw new StoreError('STORE_INVALID', 'a new format must normalize to the same screen name');
        const problem = screenNameProblem(u.screenName);
        if (problem) throw new StoreError('STORE_INVALID', problem);
      }
      if (u.legacyVerifier) checkVerifier(u.legacyVerifier);
      if (u.passwordHash === '') throw new StoreError('STORE_INVALID', 'password hash is empty');
      return db.transaction(async (tx) => {
        const rows = await tx.all(`SELECT ${COLUMNS} FROM accounts WHERE sn_key = ?${db.dialect.forUpdate}`, [key]);
        if (!rows[0]) throw new StoreError('STORE_NOT_FOUND', `no account ${JSON.stringify(screenName)}`);
        const cur = toAccount(rows[0]);
        const legacy = u.legacyLoginEnabled ?? cur.legacyLoginEnabled;
        // Switching legacy login off drops the verifier; on needs one (given now or already stored).
        let verifier = u.legacyVerifier !== undefined ? u.legacyVerifier : cur.legacyVerifier;
        if (!legacy) {
          if (u.legacyVerifier) throw new StoreError('STORE_INVALID', 'a legacy verifier may be stored only with legacy login enabled');
          verifier = null;
        } else if (!verifier) {
          throw new StoreError('STORE_INVALID', 'legacy login needs a legacy verifier (set a password to create one)');
        }
        const next: Account = {
          ...cur,
          screenName: u.screenName ?? cur.screenName,
          email: u.email !== undefined ? u.email : cur.email,
          passwordHash: u.passwordHash ?? cur.passwordHash,
          legacyLoginEnabled: legacy,
          legacyVerifier: verifier,
          disabled: u.disabled ?? cur.disabled,
        };
        const params: SqlValue[] = [next.screenName, next.email, next.passwordHash, legacy ? 1 : 0, verifier?.md5Password ?? null,
          next.disabled ? 1 : 0, key];
        await tx.run(
          `UPDATE accounts SET screen_name = ?, email = ?, password_hash = ?, legacy_login = ?, legacy_md5_password = ?,
             disabled = ? WHERE sn_key = ?`,
          params,
        );
        return next;
      });
    },

    async remove(screenName: string): Promise<boolean> {
      return (await db.run('DELETE FROM accounts WHERE sn_key = ?', [normalizeScreenName(screenName)])) > 0;
    },
  };
}
