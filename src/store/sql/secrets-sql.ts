/**
 * {@link ServerSecretStore} in SQL, shared by both backends. getOrCreate is `INSERT ... ON CONFLICT DO NOTHING`
 * followed by a SELECT: the primary key makes exactly one insert win, and both statements are autocommit, so no
 * lock is held and a process that loses the race simply reads the winner's row.
 */
import { StoreError } from '../errors.js';
import { SECRET_MAX_BYTES, SECRET_MIN_BYTES, SECRET_NAME_MAX, type ServerSecretStore } from '../secrets.js';
import type { SqlDriver } from './driver.js';
import { bytes } from './rows.js';

const NAME_RE = new RegExp(`^[a-z0-9][a-z0-9-]{0,${SECRET_NAME_MAX - 1}}$`);

function checkName(name: string): void {
  if (!NAME_RE.test(name)) throw new StoreError('STORE_INVALID', `bad secret name ${JSON.stringify(name)}`);
}

/** Builds the secret store over a driver; now() stamps created_at. */
export function sqlSecrets(db: SqlDriver, now: () => number): ServerSecretStore {
  const get = async (name: string): Promise<Uint8Array | null> => {
    checkName(name);
    const rows = await db.all('SELECT value FROM server_secrets WHERE name = ?', [name]);
    return rows[0] ? bytes(rows[0].value) : null;
  };
  return {
    get,
    async getOrCreate(name, create) {
      const existing = await get(name);
      if (existing) return existing;
      const value = create();
      if (value.length < SECRET_MIN_BYTES || value.length > SECRET_MAX_BYTES) {
        throw new StoreError('STORE_INVALID', `secret ${name} must be ${SECRET_MIN_BYTES}-${SECRET_MAX_BYTES} bytes`);
      }
      await db.run('INSERT INTO server_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING', [name, value, now()]);
      const stored = await get(name);
      if (!stored) throw new StoreError('STORE_INVALID', `secret ${name} vanished right after it was created`);
      return stored;
    },
  };
}
