/** A tiny key/value table for server-wide settings (e.g. a cookie-signing key id, the CA's state). */
export interface MetaStore {
  /** The value, or null. */
  get(key: string): Promise<string | null>;
  /** Sets (inserts or replaces) a value. */
  set(key: string, value: string): Promise<void>;
  /** Deletes a key; false if it was absent. */
  delete(key: string): Promise<boolean>;
}
