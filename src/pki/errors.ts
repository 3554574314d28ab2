/** Stable error codes for everything in src/pki (callers and tests match on the code, never the message). */
export type PkiErrorCode =
  | 'BAD_PASSPHRASE'
  | 'MALFORMED'
  | 'UNSUPPORTED_ALGORITHM'
  | 'WEAK_KEY'
  | 'BAD_SIGNATURE'
  | 'DUPLICATE_SERIAL'
  | 'UNKNOWN_SERIAL'
  | 'CA_MISMATCH'
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'WORK_LIMIT_EXCEEDED'; // a KDF work parameter (iterations, scrypt cost) read from a file is above our cap

/** The one error type thrown by src/pki. */
export class PkiError extends Error {
  /** Stable code. */
  readonly code: PkiErrorCode;

  /** @param code stable code; @param reason human-readable explanation. */
  constructor(code: PkiErrorCode, reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'PkiError';
    this.code = code;
  }

  /** Type guard, optionally for one code. */
  static is(e: unknown, code?: PkiErrorCode): e is PkiError {
    return e instanceof PkiError && (code === undefined || e.code === code);
  }
}
