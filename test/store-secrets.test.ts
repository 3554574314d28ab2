// Server secrets (store/secrets.ts) on both backends, in the conformance style: the same tests on SQLite (temp
// files) and on the machine's Postgres (fresh certim_test_* schemas, dropped afterwards; an unreachable Postgres
// FAILS loudly). The property that matters for a cluster: several processes asking at once all get ONE value.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore, StoreError, type Store } from '../src/store/index.js';
import { loadServerSecrets, SERVER_SECRET_NAMES } from '../src/server/auth/server-secrets.js';

const PG_URL = process.env.CERTIM_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Opens one database under two handles (two "nodes"), and cleans up. */
interface SecretsHarness {
  /** A fresh database, opened `n` times (separate connections / pools). */
  openShared(n: number): Promise<Store[]>;
  teardown(): Promise<void>;
}

async function sqliteHarness(): Promise<SecretsHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'certim-secrets-'));
  let k = 0;
  return {
    async openShared(n) {
      const url = `sqlite:${join(dir, `db${++k}`, 'certim.db')}`;
      // One after another: better-sqlite3 is synchronous, so two handles in ONE process waiting on each other's
      // open write transaction would block the event loop (separate processes just wait their busy timeout).
      const out: Store[] = [];
      for (let i = 0; i < n; i++) out.push(await openStore(url));
      return out;
    },
    teardown: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function postgresHarness(): Promise<SecretsHarness> {
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (e) {
    throw new Error(`\n\n*** POSTGRES UNREACHABLE at ${PG_URL}: ${(e as Error).message}\n*** start it (see .ci/run) or set CERTIM_TEST_PG. ***\n`);
  }
  const run = randomBytes(4).toString('hex');
  const schemas: string[] = [];
  return {
    async openShared(n) {
      const schema = `certim_test_${run}_sec${schemas.length + 1}`;
      schemas.push(schema);
      // All handles at once: they race on creating the schema's tables too (the migration lock must hold).
      return Promise.all(Array.from({ length: n }, () => openStore(PG_URL, { schema })));
    },
    async teardown() {
      try {
        for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
}

function secretsConformance(backend: string, make: () => Promise<SecretsHarness>): void {
  describe(`server secrets: ${backend}`, () => {
    let h: SecretsHarness | undefined;
    const opened: Store[] = [];
    before(async () => {
      h = await make();
    });
    after(async () => {
      for (const s of opened) await s.close().catch(() => undefined);
      await h?.teardown();
    });
    const shared = async (n: number): Promise<Store[]> => {
      if (!h) throw new Error(`${backend} harness failed to start (see the error above)`);
      const s = await h.openShared(n);
      opened.push(...s);
      return s;
    };

    test('created once, then the same value for every caller and every handle', async () => {
      const [a, b] = await shared(2);
      assert.equal(await a!.secrets.get('k1'), null);
      const v = await a!.secrets.getOrCreate('k1', () => new Uint8Array(32).fill(7));
      assert.deepEqual(v, new Uint8Array(32).fill(7));
      let called = false;
      const again = await b!.secrets.getOrCreate('k1', () => {
        called = true;
        return new Uint8Array(32).fill(9);
      });
      assert.deepEqual(again, v, 'the second handle reads the stored value');
      assert.equal(called, false, 'no new value is made when one exists');
      assert.deepEqual(await b!.secrets.get('k1'), v);
      const other = await b!.secrets.getOrCreate('k2', () => new Uint8Array(32).fill(1));
      assert.deepEqual(other, new Uint8Array(32).fill(1), 'names are independent');
    });

    test('concurrent creation from several handles: one insert wins, everyone returns it', async () => {
      const handles = await shared(3);
      const results = await Promise.all(
        Array.from({ length: 24 }, (_, i) => handles[i % handles.length]!.secrets.getOrCreate('race', () => randomBytes(32))),
      );
      for (const r of results) assert.deepEqual(r, results[0]);
      assert.deepEqual(await handles[0]!.secrets.get('race'), results[0]);
    });

    test('the server secrets: loaded, equal across nodes, stable across restarts', async () => {
      const [a, b] = await shared(2);
      const [sa, sb] = await Promise.all([loadServerSecrets(a!.secrets), loadServerSecrets(b!.secrets)]);
      assert.equal(sa.cookieSecret.length, 32);
      assert.deepEqual(sa, sb);
      assert.deepEqual(await a!.secrets.get(SERVER_SECRET_NAMES.cookie), sa.cookieSecret);
      assert.deepEqual(await loadServerSecrets(b!.secrets), sa, 'a later start reads the same secrets');
    });

    test('bad names and bad lengths are STORE_INVALID', async () => {
      const [s] = await shared(1);
      for (const bad of ['', 'Upper', 'with space', '-lead', 'x'.repeat(65)]) {
        await assert.rejects(s!.secrets.getOrCreate(bad, () => randomBytes(32)), (e: unknown) => StoreError.is(e, 'STORE_INVALID'));
      }
      await assert.rejects(s!.secrets.getOrCreate('short', () => randomBytes(8)), (e: unknown) => StoreError.is(e, 'STORE_INVALID'));
      assert.equal(await s!.secrets.get('short'), null, 'nothing stored on refusal');
    });
  });
}

secretsConformance('sqlite', sqliteHarness);
secretsConformance('postgres', postgresHarness);
