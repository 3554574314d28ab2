/**
 * Storage layer cost: offline-IM enqueue (durable, one commit each) and account lookup, on
 * SQLite and Postgres, each against a baseline measured in the same run on the same database file / schema and
 * the same tables: the bare driver doing the minimum for the same result (enqueue: one INSERT in its own
 * transaction — SQLite under the same WAL + synchronous=FULL pragmas, Postgres BEGIN/INSERT/COMMIT; lookup: one
 * SELECT by key). The ratio is what the query layer (serializing lock, row lock, cap check, typed rows) costs.
 * Runs alternate baseline/ours three times and keep each side's best, because this host is noisy.
 * Postgres: CERTIM_TEST_PG or postgres://postgres@127.0.0.1:5432/test, in throwaway schemas.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openStore } from '../src/store/index.js';
import type { Store } from '../src/store/index.js';

const N = Number(process.env.STORE_BENCH_N ?? 300);
const ROUNDS = 3;
const payload = Buffer.alloc(300, 7);
const cookie = Buffer.alloc(8);

async function rate(n: number, fn: (i: number) => Promise<unknown> | unknown): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return (n / (performance.now() - t)) * 1000;
}

async function best(base: (i: number) => unknown, ours: (i: number) => unknown, n: number): Promise<[number, number]> {
  let b = 0;
  let o = 0;
  for (let r = 0; r < ROUNDS; r++) {
    b = Math.max(b, await rate(n, base));
    o = Math.max(o, await rate(n, ours));
  }
  return [o, b];
}

function line(name: string, [ours, base]: [number, number]): void {
  console.log(`${name.padEnd(30)} ${ours.toFixed(0).padStart(7)}/s   baseline ${base.toFixed(0).padStart(7)}/s   ratio ${(ours / base).toFixed(2)}`);
}

const enqueue = (store: Store) => (i: number) =>
  store.offline.enqueue({ recipient: 'benchtarget', sender: 's', channel: 1, cookie, payload, sentAt: i }, 1e9);
const INSERT = 'INSERT INTO offline_messages (recipient_key, sender, channel, cookie, payload, sent_at) VALUES (?, ?, ?, ?, ?, ?)';
const SELECT = 'SELECT * FROM accounts WHERE sn_key = ?';

// SQLite: the store and a bare better-sqlite3 connection on the same file.
const dir = mkdtempSync(join(tmpdir(), 'certim-bench-store-'));
try {
  const path = join(dir, 'certim.db');
  const store = await openStore(`sqlite:${path}`);
  await store.accounts.create({ screenName: 'bench target', passwordHash: 'scrypt$x' });
  const raw = new Database(path);
  raw.pragma('synchronous = FULL');
  const ins = raw.prepare(INSERT);
  const sel = raw.prepare(SELECT);
  line('sqlite offline enqueue', await best((i) => ins.run('benchtarget', 's', 1, cookie, payload, i), enqueue(store), N));
  line('sqlite account get', await best(() => sel.get('benchtarget'), () => store.accounts.get('Bench Target'), N * 10));
  raw.close();
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// Postgres: the store and a bare pooled client in the same schema.
const url = process.env.CERTIM_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `certim_bench_${randomBytes(4).toString('hex')}`;
const store = await openStore(url, { schema });
const pool = new pg.Pool({ connectionString: url, max: 1, options: `-c search_path=${schema}` });
try {
  await store.accounts.create({ screenName: 'bench target', passwordHash: 'scrypt$x' });
  const client = await pool.connect();
  let k = 0;
  const pgInsert = INSERT.replace(/\?/g, () => `$${++k}`);
  const base = async (i: number) => {
    await client.query('BEGIN');
    await client.query(pgInsert, ['benchtarget', 's', 1, cookie, payload, i]);
    await client.query('COMMIT');
  };
  line('postgres offline enqueue', await best(base, enqueue(store), N));
  line('postgres account get', await best(() => client.query(SELECT.replace('?', '$1'), ['benchtarget']), () => store.accounts.get('Bench Target'), N * 3));
  client.release();
} finally {
  await store.close();
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await pool.end();
}
