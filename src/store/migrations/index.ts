/**
 * Every schema migration, in order. Migrations are TypeScript string modules rather than .sql files because the
 * build copies only compiled .ts into dist/; embedding keeps `npm ci && npm start` working. To change the schema,
 * add `NNNN-name.ts` exporting a {@link Migration} with the next version, and append it here.
 */
import type { Migration } from './migration.js';
import { migration0001 } from './0001-init.js';
import { migration0002 } from './0002-certificates.js';
import { migration0003 } from './0003-legacy-login-fresh-key.js';
import { migration0004 } from './0004-login-throttle.js';
import { migration0005 } from './0005-server-secrets.js';

export type { Migration } from './migration.js';

/** All migrations, ascending by version. */
export const migrations: readonly Migration[] = [migration0001, migration0002, migration0003, migration0004, migration0005];
