/**
 * The profile's replay cache on disk: a journal line per remembered id, compaction into the snapshot, several
 * processes appending and compacting at once without losing an id, torn lines, and a compaction lock left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProfileReplayCache } from './replay-store.js';

const id = (s: string): Uint8Array => new TextEncoder().encode(s);
const lines = (path: string): number => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).length : 0);

function profile(): { dir: string; file: string; journal: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'certim-replay-'));
  return { dir, file: join(dir, 'replay.json'), journal: join(dir, 'replay.log'), done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('each fresh id is one journal line; the snapshot is written only when the journal is compacted', async () => {
  const p = profile();
  try {
    const now = new Date();
    const a = new ProfileReplayCache(p.file, { compactLines: 10 });
    for (let i = 0; i < 9; i++) assert.equal(await a.checkAndRemember('alice', id(`m${i}`), now, now), 'fresh');
    assert.equal(lines(p.journal), 9);
    assert.equal(existsSync(p.file), false);
    assert.equal(statSync(p.journal).mode & 0o777, 0o600);
    // Another process (here: another instance) sees them before its own check.
    const b = new ProfileReplayCache(p.file, { compactLines: 10 });
    assert.equal(await b.checkAndRemember('alice', id('m3'), now, now), 'replayed');
    assert.equal(await b.checkAndRemember('alice', id('m9'), now, now), 'fresh');
    // b's next check reads the tenth line and compacts: all ten in the snapshot, the journal empty.
    assert.equal(await b.checkAndRemember('bob', id('m0'), now, now), 'fresh');
    const snap = JSON.parse(readFileSync(p.file, 'utf8')) as { ids: [string, number][] };
    assert.ok(snap.ids.length >= 10, `${snap.ids.length} ids in the snapshot`);
    assert.ok(lines(p.journal) <= 1);
    assert.equal(statSync(p.file).mode & 0o777, 0o600);
    assert.equal(existsSync(`${p.journal}.lock`), false);
    // a, which read the old journal, takes in the new snapshot and journal.
    assert.equal(await a.checkAndRemember('alice', id('m9'), now, now), 'replayed');
    assert.equal(await a.checkAndRemember('bob', id('m0'), now, now), 'replayed');
    const restarted = new ProfileReplayCache(p.file);
    for (let i = 0; i < 10; i++) assert.equal(await restarted.checkAndRemember('alice', id(`m${i}`), now, now), 'replayed');
  } finally {
    p.done();
  }
});

test('the bound holds across the journal: an evicted id is refused after a restart, as stale', async () => {
  const p = profile();
  try {
    const now = new Date();
    const small = new ProfileReplayCache(p.file, { maxEntries: 3, compactLines: 1000 });
    for (let i = 0; i < 10; i++) assert.equal(await small.checkAndRemember('a', new Uint8Array([i]), new Date(now.getTime() + i), now), 'fresh');
    assert.equal(small.size, 3);
    const restarted = new ProfileReplayCache(p.file, { maxEntries: 3 });
    assert.equal(restarted.size, 3);
    assert.equal(await restarted.checkAndRemember('a', new Uint8Array([0]), now, now), 'stale');
    assert.equal(await restarted.checkAndRemember('a', new Uint8Array([9]), new Date(now.getTime() + 9), now), 'replayed');
  } finally {
    p.done();
  }
});

test('a torn last line is skipped until it is complete; a malformed line is skipped', async () => {
  const p = profile();
  try {
    const now = new Date();
    const a = new ProfileReplayCache(p.file);
    assert.equal(await a.checkAndRemember('alice', id('x'), now, now), 'fresh');
    const full = readFileSync(p.journal, 'utf8');
    const other = full.replace(/"alice\\u0000[^"]*"/, JSON.stringify(`alice\u0000${Buffer.from('y').toString('base64')}`));
    writeFileSync(p.journal, `${full}not json\n${other.slice(0, 10)}`);
    const b = new ProfileReplayCache(p.file);
    assert.equal(b.size, 1);
    writeFileSync(p.journal, `${other.slice(10)}`, { flag: 'a' });
    assert.equal(b.size, 2);
    assert.equal(await b.checkAndRemember('alice', id('y'), now, now), 'replayed');
  } finally {
    p.done();
  }
});

test('a compaction lock left by a dead process is removed after a minute; a live one only delays compaction', async () => {
  const p = profile();
  try {
    const now = new Date();
    writeFileSync(`${p.journal}.lock`, '');
    const a = new ProfileReplayCache(p.file, { compactLines: 2 });
    for (let i = 0; i < 5; i++) assert.equal(await a.checkAndRemember('alice', id(`m${i}`), now, now), 'fresh');
    assert.equal(existsSync(p.file), false, 'no compaction while the lock is held');
    assert.equal(lines(p.journal), 5);
    const old = (Date.now() - 61_000) / 1000;
    utimesSync(`${p.journal}.lock`, old, old);
    assert.equal(await a.checkAndRemember('alice', id('m5'), now, now), 'fresh'); // removes the stale lock
    assert.equal(await a.checkAndRemember('alice', id('m6'), now, now), 'fresh'); // compacts
    assert.equal(existsSync(p.file), true);
    assert.equal(existsSync(`${p.journal}.lock`), false);
    const restarted = new ProfileReplayCache(p.file);
    for (let i = 0; i < 7; i++) assert.equal(await restarted.checkAndRemember('alice', id(`m${i}`), now, now), 'replayed');
  } finally {
    p.done();
  }
});

test('four processes appending and compacting at once lose no id', { timeout: 120_000 }, async () => {
  const p = profile();
  try {
    const child = fileURLToPath(new URL('./replay-store-child.test-support.ts', import.meta.url));
    const PER = 400;
    const run = (prefix: string): Promise<string> => new Promise((resolve, reject) => {
      const c = spawn(process.execPath, ['--import', 'tsx', child, p.file, prefix, String(PER), '25'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      c.on('error', reject);
      c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${prefix} exited ${code}: ${err}`))));
    });
    const outs = await Promise.all(['p', 'q', 'r', 's'].map(run));
    assert.deepEqual(outs, ['done\n', 'done\n', 'done\n', 'done\n']);
    assert.equal(existsSync(p.file), true, 'compactions ran');
    assert.equal(existsSync(`${p.journal}.lock`), false);
    const now = new Date();
    const after = new ProfileReplayCache(p.file);
    assert.equal(after.size, 4 * PER);
    const missing: string[] = [];
    for (const prefix of ['p', 'q', 'r', 's']) {
      for (let i = 0; i < PER; i++) if ((await after.checkAndRemember('sender', id(`${prefix}-${i}`), now, now)) !== 'replayed') missing.push(`${prefix}-${i}`);
    }
    assert.deepEqual(missing, []);
  } finally {
    p.done();
  }
});
