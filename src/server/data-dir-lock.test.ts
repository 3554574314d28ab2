import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirLockedError, LOCK_FILE, lockDataDir, processStartTime, runningServer } from './data-dir-lock.js';

const root = mkdtempSync(join(tmpdir(), 'certim-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const dir = (): string => {
  const d = join(root, String(n++));
  mkdirSync(d, { recursive: true });
  return d;
};

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('a second lock on the same directory is refused with the owner named; release frees it', () => {
  const d = dir();
  const a = lockDataDir(d);
  assert.equal(statSync(join(d, LOCK_FILE)).mode & 0o777, 0o600);
  assert.equal(JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8')).pid, process.pid);
  assert.equal(runningServer(d)?.pid, process.pid);
  assert.throws(() => lockDataDir(d), (e: unknown) => e instanceof DataDirLockedError && e.code === 'DATA_DIR_LOCKED' && e.owner?.pid === process.pid && /already running on data directory/.test(e.message));
  a.release();
  assert.equal(existsSync(join(d, LOCK_FILE)), false);
  assert.equal(runningServer(d), undefined);
  lockDataDir(d).release();
});

test('a lock whose process is gone (kill -9) is taken over', () => {
  const d = dir();
  const pid = deadPid();
  writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid, startedAt: '2026-01-01T00:00:00.000Z' }));
  assert.equal(runningServer(d), undefined);
  const l = lockDataDir(d);
  assert.equal(l.tookOverFrom, pid);
  l.release();
});

test('a recycled pid does not keep a dead server\'s lock: the start time must match', () => {
  const d = dir();
  const mine = processStartTime(process.pid);
  assert.equal(typeof mine, 'number', 'Linux /proc gives the start time');
  // Our own (live) pid, but another start time: the process that wrote this lock is not us.
  writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: process.pid, startTime: mine! - 1, startedAt: 'x' }));
  const l = lockDataDir(d);
  assert.equal(l.tookOverFrom, process.pid);
  l.release();
});

test('an unparseable lock is a server still writing it when fresh, stale when old', () => {
  const d = dir();
  writeFileSync(join(d, LOCK_FILE), '{"pi');
  assert.throws(() => lockDataDir(d), (e: unknown) => e instanceof DataDirLockedError && /is starting/.test(e.message));
  const old = new Date(Date.now() - 60_000);
  utimesSync(join(d, LOCK_FILE), old, old);
  lockDataDir(d).release();
});

test('release leaves a lock that is no longer ours alone', () => {
  const d = dir();
  const l = lockDataDir(d);
  writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: 1, startedAt: 'other' }));
  l.release();
  assert.equal(existsSync(join(d, LOCK_FILE)), true);
});
