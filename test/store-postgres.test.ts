// The storage conformance suite on the real Postgres of this machine (CERTIM_TEST_PG, default
// postgres://postgres@127.0.0.1:5432/test). Every database the suite opens is a fresh schema certim_test_<run>_<n>,
// all dropped afterwards. An unreachable Postgres FAILS the suite loudly — it never skips.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openSqlDriver, openStore } from '../src/store/index.js';
import { storeConformance } from './store-conformance.js';

const url = process.env.CERTIM_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

storeConformance('postgres', async () => {
  const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (e) {
    throw new Error(
      `\n\n*** POSTGRES UNREACHABLE at ${url}: ${(e as Error).message}\n` +
        '*** The storage suite must run on Postgres; start it (see .ci/run) or set CERTIM_TEST_PG. ***\n',
    );
  }
  const run = randomBytes(4).toString('hex');
  const schemas: string[] = [];
  const nextSchema = () => {
    const s = `certim_test_${run}_${schemas.length + 1}`;
    schemas.push(s);
    return s;
  };
  return {
    open: (now) => openStore(url, { schema: nextSchema(), ...(now ? { now } : {}) }),
    openRaw: () => openSqlDriver(url, { schema: nextSchema() }),
    teardown: async () => {
      try {
        for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
});
