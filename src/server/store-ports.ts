/**
 * The engine's ports over a Store. The store's members satisfy the port interfaces as they are (checked by
 * test/store-server-ports.test.ts); passwords come from server/auth, certificate checks from the caller (the CA's
 * verifier in production, a test CA in tests).
 */
import type { Store } from '../store/index.js';
import { checkLegacyLogin, verifyPassword } from './auth/password.js';
import type { CertificateChecker, ServerPorts } from './ports.js';

/** Builds the engine's ports from a store and a certificate checker. */
export function storePorts(store: Store, certificates: CertificateChecker): ServerPorts {
  return {
    accounts: store.accounts,
    passwords: { verifyPassword, checkLegacyLogin },
    userInfo: store.userInfo,
    feedbag: store.feedbag,
    permitDeny: store.permitDeny,
    offline: store.offline,
    certificates,
  };
}
