/**
 * Accounts: who may sign on, and the secrets to check them. The plaintext password is never stored: only a scrypt
 * hash string (server/auth/password.ts) and, for accounts with legacy login enabled, the AIM MD5 verifier.
 */

/**
 * What classic BUCP MD5 login (docs/protocol.md §2.1) needs to check an answer to a fresh challenge key without
 * the plaintext: MD5(password). It is password-equivalent for classic login (see server/auth/password.ts), so it
 * exists only while the account's legacy-login switch is on.
 */
export interface LegacyVerifier {
  /** MD5(password), 16 bytes. */
  md5Password: Uint8Array;
}

/** One registered account. */
export interface Account {
  /** Normalized screen name (lowercase, spaces removed): the account's identity everywhere. */
  key: string;
  /** Screen name as the user formats it ("Bob Smith"); normalizes to {@link key}. */
  screenName: string;
  /** Contact e-mail, or null. */
  email: string | null;
  /** Creation time, ms since the Unix epoch. */
  createdAt: number;
  /** scrypt hash string from `hashPassword` (server/auth/password.ts). */
  passwordHash: string;
  /** Classic MD5 login allowed for this account. */
  legacyLoginEnabled: boolean;
  /** The MD5 verifier; null whenever {@link legacyLoginEnabled} is false (the store enforces this). */
  legacyVerifier: LegacyVerifier | null;
  /** A disabled account exists (its name stays taken) but must not sign on. */
  disabled: boolean;
}

/** Fields given when creating an account. */
export interface NewAccount {
  /** Display format; the key is derived from it. */
  screenName: string;
  /** scrypt hash string. */
  passwordHash: string;
  /** Legacy verifier; must be null/absent when legacyLoginEnabled is false. */
  legacyVerifier?: LegacyVerifier | null;
  /** Defaults to true when a verifier is given, else false. */
  legacyLoginEnabled?: boolean;
  /** Optional e-mail. */
  email?: string | null;
  /** Defaults to false. */
  disabled?: boolean;
}

/**
 * A partial update. Setting legacyLoginEnabled to false also drops the verifier; enabling it requires a verifier
 * in the same update (only a password change can produce one).
 */
export interface AccountUpdate {
  /** New display format; must normalize to the same key (STORE_INVALID otherwise). */
  screenName?: string;
  /** New e-mail or null. */
  email?: string | null;
  /** New scrypt hash string. */
  passwordHash?: string;
  /** New verifier (null clears it). */
  legacyVerifier?: LegacyVerifier | null;
  /** Switch classic MD5 login. */
  legacyLoginEnabled?: boolean;
  /** Disable or re-enable sign-on. */
  disabled?: boolean;
}

/** Account persistence. Every method takes a screen name in any format and normalizes it. */
export interface AccountStore {
  /** Creates an account; STORE_DUPLICATE if the normalized name is taken. */
  create(account: NewAccount): Promise<Account>;
  /** The account for this screen name, or null. */
  get(screenName: string): Promise<Account | null>;
  /** All accounts, ordered by key. */
  list(): Promise<Account[]>;
  /** Applies a partial update and returns the result; STORE_NOT_FOUND if there is no such account. */
  update(screenName: string, update: AccountUpdate): Promise<Account>;
  /** Deletes the account and everything it owns (profile, feedbag, lists, offline IMs); false if absent. */
  remove(screenName: string): Promise<boolean>;
}
