/**
 * `certim admin`: the administrator's entry point. Dispatches `user` (accounts, admin-user.ts), `ca` (the server
 * CA, admin-ca.ts) and `cert` (issued certificates, admin-cert.ts, given the store's SQL certificate ledger).
 */
import type { Command } from '../command.js';
import { StoreError } from '../../store/index.js';
import { openAdminStore, takeStoreFlags } from './admin-store.js';
import { UsageError } from './prompt.js';
import { runAdminUser } from './admin-user.js';
import { MemoryCertificateLedger } from '../../pki/ledger-memory.js';
import { runAdminCa } from './admin-ca.js';
import { runAdminCert } from './admin-cert.js';
import { callRunningServer } from './admin-control.js';
import { runAdminSessions, runAdminThrottle } from './admin-live.js';
import { withdrawStoredBlock } from '../../server/admin/cert-withdrawal.js';

const USAGE = `usage: certim admin <area> ...
  certim admin user add|list|remove|passwd ...   accounts (certim admin user --help)
  certim admin user locked|unlock ...            login throttles of the running server
  certim admin sessions [--json]                 who is online on the running server
  certim admin ca ...                            the server's certificate authority
  certim admin cert list|revoke ...              issued user certificates (revocation reaches a running server)
common options: --data-dir DIR (default ./data), --db URL (sqlite:PATH or postgres://...)
A running server is reached through its admin socket DATA-DIR/admin/control.sock.`;

/** Runs `certim admin ...` (argv after `admin`); resolves to the exit code. */
export async function runAdmin(argv: readonly string[]): Promise<number> {
  const [area, ...rest] = argv;
  switch (area) {
    case 'user':
      if (rest[0] === 'locked' || rest[0] === 'unlock') return live(() => runAdminThrottle(rest));
      return runAdminUser(rest);
    case 'sessions':
      return live(() => runAdminSessions(rest));
    case 'ca':
      return runAdminCa(rest);
    case 'cert':
      return runCert(rest);
    case '--help':
    case '-h':
    case 'help':
      console.error(USAGE);
      return 0;
    default:
      console.error(area ? `certim admin: unknown area '${area}'\n${USAGE}` : USAGE);
      return 2;
  }
}

/** Runs a live command, turning usage mistakes into exit 2. */
async function live(run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`certim admin: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

/** Opens the store named by --data-dir/--db and hands its ledger to admin-cert (which still sees --data-dir). */
async function runCert(argv: readonly string[]): Promise<number> {
  let location;
  try {
    location = takeStoreFlags(argv, true);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`certim admin cert: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const { rest, ...where } = location;
  // Help and usage mistakes need no database; don't create one for them.
  if (!rest[0] || rest[0].startsWith('-') || rest[0] === 'help') return runAdminCert(rest, new MemoryCertificateLedger());
  let store;
  try {
    store = await openAdminStore(where);
  } catch (e) {
    if (StoreError.is(e)) {
      console.error(`certim admin cert: ${e.message}`);
      return 1;
    }
    throw e;
  }
  try {
    return await runAdminCert(rest, store.ledger, undefined, {
      revokeLive: (serial, reason) => callRunningServer(where.dataDir, { cmd: 'cert.revoke', serial, reason }),
      withdraw: (screenName, serial) => withdrawStoredBlock(store.userInfo, screenName, serial),
    });
  } finally {
    await store.close();
  }
}

/** The `admin` entry in the command table. */
export const adminCommand: Command = {
  summary: 'administer accounts, the CA and issued certificates',
  run: (argv) => runAdmin(argv),
};
