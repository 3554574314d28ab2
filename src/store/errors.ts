/** Stable error codes for everything in src/store (callers and tests match on the code, never the message). */
export type StoreErrorCode =
  | 'STORE_BAD_URL' // openStore got a URL it cannot use
  | 'STORE_UNAVAILABLE' // the database could not be opened or reached
  | 'STORE_DUPLICATE' // a row with this key already exists (e.g. an account with the same normalized name)
  | 'STORE_NOT_FOUND' // the account (or other parent row) the call refers to does not exist
  | 'STORE_LIMIT' // a per-user cap would be exceeded (offline queue, permit/deny list)
  | 'STORE_INVALID' // the arguments break an invariant (e.g. a legacy verifier on an account without legacy login)
  | 'STORE_MIGRATION' // the schema could not be migrated (unknown version, failed step)
  | 'STORE_CLOSED'; // the store was used after close()

/** The one error type thrown by src/store for expected failures; driver errors are wrapped with `cause`. */
export class StoreError extends Error {
  /** Stable code. */
  readonly code: StoreErrorCode;

  /** @param code stable code; @param reason human-readable explanation. */
  constructor(code: StoreErrorCode, reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'StoreError';
    this.code = code;
  }

  /** Type guard, optionally for one code. */
  static is(e: unknown, code?: StoreErrorCode): e is StoreError {
    return e instanceof StoreError && (code === undefined || e.code === code);
  }
}
