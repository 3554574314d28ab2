/**
 * Migration 3: classic MD5 login with a fresh challenge key per login (docs/protocol.md §2.1). The old verifier was
 * a fixed per-account key plus the two answers to it — replayable for ever by anyone who captured one plain-port
 * login or read the row — and MD5(password), which a fresh key needs, cannot be derived from it. So every stored
 * verifier is deleted and classic login is switched off; an admin re-enables it per account with a new password
 * (`certim admin user passwd NAME --legacy-login`). The CHECK keeps the password-equivalent MD5 only on accounts
 * whose switch is on.
 */
import type { Migration } from './migration.js';

/** See file comment. */
export const migration0003: Migration = {
  version: 3,
  name: 'legacy-login-fresh-key',
  up: `
UPDATE accounts SET legacy_login = 0, legacy_auth_key = NULL, legacy_md5_weak = NULL, legacy_md5_strong = NULL;
ALTER TABLE accounts ADD COLUMN legacy_md5_password {{BLOB}} CHECK ((legacy_login = 1) = (legacy_md5_password IS NOT NULL));
`,
  down: `
UPDATE accounts SET legacy_login = 0, legacy_md5_password = NULL;
ALTER TABLE accounts DROP COLUMN legacy_md5_password;
`,
};
