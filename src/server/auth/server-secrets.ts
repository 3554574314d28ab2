/**
 * The server's shared secrets, read from (or created once in) the store at startup, so every node on one database
 * signs service cookies with the same key (docs/protocol.md §2.1): with a per-process key, a cookie issued by one
 * node would not redeem at another. (BUCP challenge keys need no shared secret: every 17/07 key is fresh and random,
 * the same for known and unknown screen names — auth/bucp-login.ts.)
 */
import { randomBytes } from 'node:crypto';
import type { ServerSecretStore } from '../../store/secrets.js';

/** Names of the rows in the store's server_secrets table. */
export const SERVER_SECRET_NAMES = {
  /** HMAC-SHA256 key of service cookies (auth/cookie.ts). */
  cookie: 'bos-cookie-hmac',
} as const;

/** Secret length, bytes (HMAC-SHA256 keys: one block of output's worth). */
const SECRET_BYTES = 32;

/** The secrets the engine needs. Never logged. */
export interface ServerSecrets {
  /** HMAC key for service cookies. */
  cookieSecret: Uint8Array;
}

/** Reads the secrets, creating each (32 random bytes) if this database has none yet (race-free across nodes). */
export async function loadServerSecrets(store: ServerSecretStore): Promise<ServerSecrets> {
  const cookieSecret = await store.getOrCreate(SERVER_SECRET_NAMES.cookie, () => randomBytes(SECRET_BYTES));
  return { cookieSecret };
}
