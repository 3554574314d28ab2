/**
 * The whole storage layer as the server sees it: one small interface per concern, so each consumer (and each
 * test fake) depends only on the part it uses. `openStore` (open-store.ts) builds one over SQLite or Postgres.
 */
import type { CertificateLedger } from '../pki/ledger.js';
import type { AccountStore } from './accounts.js';
import type { FeedbagStore } from './feedbag.js';
import type { LoginThrottleStore } from './login-throttle.js';
import type { MetaStore } from './meta.js';
import type { OfflineMessageStore } from './offline-messages.js';
import type { PermitDenyStore } from './permit-deny.js';
import type { ServerSecretStore } from './secrets.js';
import type { UserInfoStore } from './user-info.js';

/** Every durable thing the server keeps. */
export interface Store {
  /** Which backend this is ('sqlite' or 'postgres'), for logs. */
  readonly backend: 'sqlite' | 'postgres';
  /** Accounts and their password material. */
  readonly accounts: AccountStore;
  /** Profile, away message, certificate-info block. */
  readonly userInfo: UserInfoStore;
  /** Server-stored buddy lists. */
  readonly feedbag: FeedbagStore;
  /** Permit/deny lists of non-feedbag clients. */
  readonly permitDeny: PermitDenyStore;
  /** IMs held for offline users. */
  readonly offline: OfflineMessageStore;
  /** The CA's issued/revoked certificates (the PKI's interface). */
  readonly ledger: CertificateLedger;
  /** Server-wide key/value settings. */
  readonly meta: MetaStore;
  /** Login-throttle records (shared by the nodes of a cluster). */
  readonly loginThrottle: LoginThrottleStore;
  /** Named server secrets shared by every node on this database (cookie key, fake-challenge key). */
  readonly secrets: ServerSecretStore;
  /** Closes the database (waits for running queries); later calls fail with STORE_CLOSED. */
  close(): Promise<void>;
}
