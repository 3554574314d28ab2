/**
 * The `--data-dir DIR` / `--db URL` options every `certim admin` subcommand shares, and opening the store they
 * name (default: SQLite at ./data/certim.db, the same file `certim server` uses).
 */
import { databaseUrlForDataDir, openStore } from '../../store/index.js';
import type { Store } from '../../store/index.js';
import { UsageError } from './prompt.js';

/** Where the admin tools find the database. */
export interface StoreLocation {
  /** The data directory (--data-dir, default ./data). */
  dataDir: string;
  /** The database URL: --db if given, else sqlite:DATADIR/certim.db. */
  url: string;
}

/**
 * Removes `--data-dir DIR` and `--db URL` (also `--flag=value`) from argv. Returns where the store is and the
 * remaining arguments; `keepDataDir` leaves --data-dir in the rest for subcommands that need it too (ca, cert).
 */
export function takeStoreFlags(argv: readonly string[], keepDataDir = false): StoreLocation & { rest: string[] } {
  let dataDir = './data';
  let db: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (flag !== '--data-dir' && flag !== '--db') {
      rest.push(arg);
      continue;
    }
    const value = eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw new UsageError(`${flag} needs a value`);
    if (flag === '--data-dir') {
      dataDir = value;
      if (keepDataDir) rest.push('--data-dir', value);
    } else {
      db = value;
    }
  }
  return { dataDir, url: db ?? databaseUrlForDataDir(dataDir), rest };
}

/** Opens (and migrates) the store at a location. */
export function openAdminStore(location: StoreLocation): Promise<Store> {
  return openStore(location.url);
}
