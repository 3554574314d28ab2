/**
 * Migration 1: accounts and the per-user data the server keeps. Times are BIGINT ms since the epoch; flags are
 * INTEGER 0/1 (SQLite has no BOOLEAN). Child rows reference accounts(sn_key) and vanish with the account.
 */
import type { Migration } from './migration.js';

/** See file comment. */
export const migration0001: Migration = {
  version: 1,
  name: 'init',
  up: `
CREATE TABLE accounts (
  sn_key TEXT PRIMARY KEY,
  screen_name TEXT NOT NULL,
  email TEXT,
  created_at BIGINT NOT NULL,
  password_hash TEXT NOT NULL,
  legacy_login INTEGER NOT NULL DEFAULT 0,
  legacy_auth_key TEXT,
  legacy_md5_weak {{BLOB}},
  legacy_md5_strong {{BLOB}},
  disabled INTEGER NOT NULL DEFAULT 0,
  -- The MD5 verifier is password-equivalent: it may exist only while legacy login is switched on.
  CHECK (legacy_login = 1 OR (legacy_auth_key IS NULL AND legacy_md5_weak IS NULL AND legacy_md5_strong IS NULL))
);

CREATE TABLE user_info (
  sn_key TEXT PRIMARY KEY REFERENCES accounts (sn_key) ON DELETE CASCADE,
  profile_mime TEXT,
  profile {{BLOB}},
  away_mime TEXT,
  away {{BLOB}},
  cert_block {{BLOB}},
  cert_hash {{BLOB}},
  updated_at BIGINT NOT NULL
);

CREATE TABLE feedbag_items (
  sn_key TEXT NOT NULL REFERENCES accounts (sn_key) ON DELETE CASCADE,
  group_id INTEGER NOT NULL,
  item_id INTEGER NOT NULL,
  class_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  attributes {{BLOB}} NOT NULL,
  PRIMARY KEY (sn_key, group_id, item_id)
);

CREATE TABLE feedbag_state (
  sn_key TEXT PRIMARY KEY REFERENCES accounts (sn_key) ON DELETE CASCADE,
  last_modified BIGINT NOT NULL
);

CREATE TABLE permit_deny_mode (
  sn_key TEXT PRIMARY KEY REFERENCES accounts (sn_key) ON DELETE CASCADE,
  mode INTEGER NOT NULL
);

CREATE TABLE permit_deny_entries (
  sn_key TEXT NOT NULL REFERENCES accounts (sn_key) ON DELETE CASCADE,
  list TEXT NOT NULL CHECK (list IN ('permit', 'deny')),
  target_key TEXT NOT NULL,
  PRIMARY KEY (sn_key, list, target_key)
);

CREATE TABLE offline_messages (
  id {{AUTO_ID}},
  recipient_key TEXT NOT NULL REFERENCES accounts (sn_key) ON DELETE CASCADE,
  sender TEXT NOT NULL,
  channel INTEGER NOT NULL,
  cookie {{BLOB}} NOT NULL,
  payload {{BLOB}} NOT NULL,
  sent_at BIGINT NOT NULL
);
CREATE INDEX offline_messages_recipient ON offline_messages (recipient_key, id);
CREATE INDEX offline_messages_sent_at ON offline_messages (sent_at);

CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`,
  down: `
DROP TABLE meta;
DROP INDEX offline_messages_sent_at;
DROP INDEX offline_messages_recipient;
DROP TABLE offline_messages;
DROP TABLE permit_deny_entries;
DROP TABLE permit_deny_mode;
DROP TABLE feedbag_state;
DROP TABLE feedbag_items;
DROP TABLE user_info;
DROP TABLE accounts;
`,
};
