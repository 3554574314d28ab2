// The storage conformance suite on SQLite: each test gets its own database file in a temp directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlDriver, openStore } from '../src/store/index.js';
import { storeConformance } from './store-conformance.js';

storeConformance('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certim-store-'));
  let n = 0;
  return {
    open: (now) => openStore(`sqlite:${join(dir, `s${++n}`, 'certim.db')}`, now ? { now } : {}),
    openRaw: () => openSqlDriver(`sqlite:${join(dir, `raw${++n}.db`)}`),
    teardown: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
