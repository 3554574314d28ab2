/** The storage layer's public surface: interfaces for consumers, and openStore for the composition root. */
export type { Account, AccountStore, AccountUpdate, LegacyVerifier, NewAccount } from './accounts.js';
export type { UserInfo, UserInfoStore } from './user-info.js';
export { FeedbagStatus, FEEDBAG_MAX_ATTRIBUTE_BYTES, FEEDBAG_MAX_NAME_BYTES } from './feedbag.js';
export type { Feedbag, FeedbagChange, FeedbagItem, FeedbagLimits, FeedbagStatusCode, FeedbagStore } from './feedbag.js';
export { PermitDenyMode } from './permit-deny.js';
export type { PermitDenyList, PermitDenyModeValue, PermitDenyState, PermitDenyStore } from './permit-deny.js';
export type { NewOfflineMessage, OfflineMessage, OfflineMessageStore } from './offline-messages.js';
export type { MetaStore } from './meta.js';
export type { LoginThrottleRecord, LoginThrottleStore } from './login-throttle.js';
export type { ServerSecretStore } from './secrets.js';
export type { Store } from './store.js';
export { StoreError } from './errors.js';
export type { StoreErrorCode } from './errors.js';
export { normalizeScreenName, sameScreenName, screenNameProblem, SCREEN_NAME_MAX, SCREEN_NAME_MIN } from './screen-name.js';
export { DEFAULT_DATABASE_URL, databaseUrlForDataDir, openSqlDriver, openStore } from './open-store.js';
export type { OpenStoreOptions } from './open-store.js';
export { redactDatabaseUrl } from './redact-url.js';
