/**
 * Migration 4: login-throttle records (server/auth/throttle-state.ts), so the nodes of a cluster share one guessing
 * budget. One row per key (`p:` address+account pair, `a:` account, `i:` address, `g:` proven-good address,
 * `s:` sign-off penalty); rows past `expires_at` are dead and purged. No secrets are stored here.
 */
import type { Migration } from './migration.js';

/** See file comment. */
export const migration0004: Migration = {
  version: 4,
  name: 'login-throttle',
  up: `
CREATE TABLE login_throttle (
  tkey TEXT PRIMARY KEY,
  n INTEGER NOT NULL,
  milli_tokens BIGINT NOT NULL,
  until_ms BIGINT NOT NULL,
  at_ms BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX login_throttle_expires ON login_throttle (expires_at);
`,
  down: `
DROP INDEX login_throttle_expires;
DROP TABLE login_throttle;
`,
};
