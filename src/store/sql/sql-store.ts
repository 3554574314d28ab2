/** Assembles a {@link Store} from the shared query modules over any {@link SqlDriver}. */
import type { Store } from '../store.js';
import type { SqlDriver } from './driver.js';
import { sqlAccounts } from './accounts-sql.js';
import { sqlFeedbag } from './feedbag-sql.js';
import { sqlLedger } from './ledger-sql.js';
import { sqlMeta } from './meta-sql.js';
import { sqlOffline } from './offline-sql.js';
import { sqlPermitDeny } from './permit-deny-sql.js';
import { sqlLoginThrottle } from './throttle-sql.js';
import { sqlSecrets } from './secrets-sql.js';
import { sqlUserInfo } from './user-info-sql.js';

/** A store over an already-migrated driver; now() is the clock for stamps the store sets itself. */
export function sqlStore(db: SqlDriver, now: () => number = Date.now): Store {
  return {
    backend: db.dialect.name,
    accounts: sqlAccounts(db, now),
    userInfo: sqlUserInfo(db, now),
    feedbag: sqlFeedbag(db, now),
    permitDeny: sqlPermitDeny(db),
    offline: sqlOffline(db),
    ledger: sqlLedger(db),
    meta: sqlMeta(db),
    loginThrottle: sqlLoginThrottle(db),
    secrets: sqlSecrets(db, now),
    close: () => db.close(),
  };
}
