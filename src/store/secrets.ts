/**
 * Named server-wide secrets (the BOS cookie HMAC key, the key behind unknown users' fake BUCP challenges, a
 * cluster's CA bundle with its encrypted issuing key) kept in
 * the shared database, so every node of a cluster signs and checks with the same key. A secret is created once,
 * by whichever process asks first; everyone else reads that one value (docs/protocol.md §2.1 for the cookie).
 */

/** Longest secret name (names are code constants such as `bos-cookie-hmac`). */
export const SECRET_NAME_MAX = 64;
/** Shortest secret value, bytes (shorter keys are refused: a secret is at least 128 bits). */
export const SECRET_MIN_BYTES = 16;
/** Longest secret value, bytes (room for a CA bundle: certificates and an encrypted key, a few KiB). */
export const SECRET_MAX_BYTES = 64 * 1024;

/** Server secrets, created once and shared by every process on the database. */
export interface ServerSecretStore {
  /**
   * The secret called `name`; if there is none yet, stores `create()` first. Race-free across processes: when two
   * create at once, one insert wins and both return the winner's value. Names: lowercase letters, digits, `-`.
   */
  getOrCreate(name: string, create: () => Uint8Array): Promise<Uint8Array>;
  /** The secret called `name`, or null. */
  get(name: string): Promise<Uint8Array | null>;
}
