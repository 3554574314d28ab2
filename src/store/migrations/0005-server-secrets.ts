/**
 * Migration 5: named server secrets (store/secrets.ts) shared by every node on this database — the BOS cookie
 * HMAC key and the fake-challenge key for unknown screen names. Values are raw key bytes; the table must be
 * protected like the password hashes (whoever reads it can mint BOS cookies until the row is replaced).
 */
import type { Migration } from './migration.js';

/** See file comment. */
export const migration0005: Migration = {
  version: 5,
  name: 'server-secrets',
  up: `
CREATE TABLE server_secrets (
  name TEXT PRIMARY KEY,
  value {{BLOB}} NOT NULL,
  created_at BIGINT NOT NULL
);
`,
  down: `
DROP TABLE server_secrets;
`,
};
