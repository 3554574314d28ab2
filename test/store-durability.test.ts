// An acknowledged offline IM survives kill -9: a child process enqueues into SQLite and reports each message
// only after enqueue resolved; we SIGKILL it mid-stream and every reported message must be in the database.
// (SIGKILL proves no acknowledged write is still buffered in the process; synchronous=FULL, checked below,
// covers the power-loss half, which a test cannot simulate.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { StoreError } from '../src/store/errors.js';
import { openStore } from '../src/store/index.js';
import { openSqlite } from '../src/store/sqlite/sqlite-driver.js';

const child = fileURLToPath(new URL('./store-durability-child.ts', import.meta.url));

/** Runs `body` with a fresh temp directory, removed afterwards. */
async function inTempDir(prefix: string, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('offline messages acknowledged before SIGKILL are all still stored', { timeout: 60_000 }, async () => {
  await inTempDir('certim-durable-', async (dir) => {
    const dbPath = join(dir, 'certim.db');
    const proc = spawn(process.execPath, ['--import', 'tsx', child, dbPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked = new Map<number, number>(); // id -> n
    let buffered = '';
    const killedAfter = await new Promise<number>((resolve, reject) => {
      proc.on('error', reject);
      proc.on('exit', (code, signal) => { if (signal !== 'SIGKILL') reject(new Error(`child exited early: code ${code} signal ${signal}`)); });
      proc.stdout.setEncoding('utf8');
      proc.stdout.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          const m = /^acked (\d+) (\d+)$/.exec(line);
          if (m) acked.set(Number(m[1]), Number(m[2]));
        }
        if (acked.size >= 50 && !proc.killed) {
          proc.kill('SIGKILL'); // mid-stream: the child is inside its next enqueue
          resolve(acked.size);
        }
      });
    });
    await new Promise<void>((resolve) => (proc.exitCode !== null || proc.signalCode !== null ? resolve() : proc.once('exit', () => resolve())));
    assert.equal(proc.signalCode, 'SIGKILL');
    assert.ok(killedAfter >= 50);

    const raw = new Database(dbPath, { readonly: true });
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    raw.close();

    const store = await openStore(`sqlite:${dbPath}`);
    try {
      const stored = await store.offline.fetch('victim', 1000);
      const byId = new Map(stored.map((m) => [m.id, m]));
      for (const [id, n] of acked) {
        const m = byId.get(id);
        assert.ok(m, `acknowledged message ${id} (#${n}) was lost`);
        assert.equal(m.sentAt, n);
        assert.deepEqual(m.payload, new Uint8Array(200).fill(n & 0xff));
      }
      // FIFO: stored ids ascend with the sequence numbers the child gave them.
      assert.deepEqual(stored.map((m) => m.sentAt), [...stored.map((m) => m.sentAt)].sort((a, b) => a - b));
    } finally {
      await store.close();
    }
  });
});

test('the SQLite connection runs WAL with synchronous=FULL and foreign keys on', async () => {
  await inTempDir('certim-pragma-', async (dir) => {
    const db = openSqlite(join(dir, 'nested', 'x.db')); // the directory is created
    try {
      assert.deepEqual(await db.all('PRAGMA journal_mode'), [{ journal_mode: 'wal' }]);
      assert.deepEqual(await db.all('PRAGMA synchronous'), [{ synchronous: 2 }]); // 2 = FULL
      assert.deepEqual(await db.all('PRAGMA foreign_keys'), [{ foreign_keys: 1 }]);
      assert.deepEqual(await db.all('PRAGMA busy_timeout'), [{ timeout: 5000 }]);
    } finally {
      await db.close();
    }
  });
});

test('a write blocked by another connection past busy_timeout fails with STORE_UNAVAILABLE, then works', async () => {
  await inTempDir('certim-busy-', async (dir) => {
    const path = join(dir, 'x.db');
    const db = openSqlite(path, { busyTimeoutMs: 100 });
    await db.exec('CREATE TABLE t (v INTEGER)');
    const other = new Database(path); // e.g. `certim admin` in another process, mid-transaction
    other.exec('BEGIN IMMEDIATE');
    try {
      await assert.rejects(db.run('INSERT INTO t (v) VALUES (?)', [1]), (e: unknown) => StoreError.is(e, 'STORE_UNAVAILABLE'));
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    assert.equal(await db.run('INSERT INTO t (v) VALUES (?)', [2]), 1);
    await db.close();
  });
});
