/**
 * Migration 2: the CA's certificate ledger (pki/ledger.ts). No foreign key to accounts: the record of what was
 * issued and revoked must outlive a deleted account (its certificates stay on the CRL), and TLS server
 * certificates name a host, not an account.
 */
import type { Migration } from './migration.js';

/** See file comment. */
export const migration0002: Migration = {
  version: 2,
  name: 'certificates',
  up: `
CREATE TABLE certificates (
  serial TEXT PRIMARY KEY,
  screen_name TEXT NOT NULL,
  purpose TEXT NOT NULL,
  not_before BIGINT NOT NULL,
  not_after BIGINT NOT NULL,
  fingerprint TEXT NOT NULL,
  der {{BLOB}} NOT NULL,
  issued_at BIGINT NOT NULL,
  revoked_at BIGINT,
  revocation_reason TEXT
);
CREATE INDEX certificates_screen_name ON certificates (screen_name, issued_at);
CREATE INDEX certificates_revoked ON certificates (revoked_at);
`,
  down: `
DROP INDEX certificates_revoked;
DROP INDEX certificates_screen_name;
DROP TABLE certificates;
`,
};
