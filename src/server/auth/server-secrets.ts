/**
 * The server's shared secrets, read from (or created once in) the store at startup, so every node on one database
 * signs BOS cookies with the same key and answers a key request for an unknown screen name with the same fake
 * challenge (docs/protocol.md §2.1). With per-process keys, a cookie issued by one node would not redeem at
 * another, and asking two nodes for the same unknown name would give two different "keys" — which a real account
 * never does — revealing that the name does not exist.
 */
import { randomBytes } from 'node:crypto';
import type { ServerSecretStore } from '../../store/secrets.js';

/** Names of the rows in the store's server_secrets table. */
export const SERVER_SECRET_NAMES = {
  /** HMAC-SHA256 key of BOS cookies (auth/cookie.ts). */
  cookie: 'bos-cookie-hmac',
  /** HMAC-SHA256 key deriving fake BUCP challenge keys for unknown screen names (auth/bucp-login.ts). */
  fakeKey: 'bucp-fake-key',
} as const;

/** Secret length, bytes (HMAC-SHA256 keys: one block of output's worth). */
const SECRET_BYTES = 32;

/** The secrets the engine needs. Never logged. */
export interface ServerSecrets {
  /** HMAC key for BOS cookies. */
  cookieSecret: Uint8Array;
  /** HMAC key for fake challenge keys. */
  fakeKeySecret: Uint8Array;
}

/** Reads both secrets, creating each (32 random bytes) if this database has none yet. */
export async function loadServerSecrets(store: ServerSecretStore): Promise<ServerSecrets> {
  const make = (): Uint8Array => randomBytes(SECRET_BYTES);
  const [cookieSecret, fakeKeySecret] = await Promise.all([
    store.getOrCreate(SERVER_SECRET_NAMES.cookie, make),
    store.getOrCreate(SERVER_SECRET_NAMES.fakeKey, make),
  ]);
  return { cookieSecret, fakeKeySecret };
}
