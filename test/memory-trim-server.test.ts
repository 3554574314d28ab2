/**
 * The server's memory trim (src/server/memory-trim.ts) wired into a real server: start-up ends with a trim before
 * startServer resolves, and a sign-on over a real OSCAR socket that grew the young generation is followed, once
 * quiet, by another. The trim's own rules are unit-tested beside it; here the thresholds are set so that every look
 * at a grown young generation trims, to prove the wiring.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../src/server/main.js';
import { hashPassword, makeLegacyVerifier } from '../src/server/auth/password.js';
import { LogEvent, recordingLogger, type LoggedEvent, type Logger } from '../src/server/log.js';
import { databaseUrlForDataDir, openStore } from '../src/store/index.js';
import { signOn } from './support/oscar-test-client.js';

const tmp = mkdtempSync(join(tmpdir(), 'certim-trim-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A recording logger that also resolves waiters on `server.memory_trimmed`. */
function trimWatch(): { events: LoggedEvent[]; log: Logger; nthTrim(n: number): Promise<LoggedEvent> } {
  const events: LoggedEvent[] = [];
  const record = recordingLogger(events);
  const waiters: Array<() => void> = [];
  const trims = (): LoggedEvent[] => events.filter((e) => e.event === LogEvent.MEMORY_TRIMMED);
  return {
    events,
    log(level, event, fields) {
      record(level, event, fields);
      if (event === LogEvent.MEMORY_TRIMMED) for (const w of waiters.splice(0)) w();
    },
    async nthTrim(n) {
      while (trims().length < n) {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`${LogEvent.MEMORY_TRIMMED} was logged fewer than ${n} times within 10 s`)), 10_000);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return trims()[n - 1]!;
    },
  };
}

test('start-up and a sign-on burst are each followed by a trim; the trim is logged at debug level', async () => {
  const dataDir = join(tmp, 'data');
  const store = await openStore(databaseUrlForDataDir(dataDir));
  await store.accounts.create({ screenName: 'trimmer', passwordHash: await hashPassword('trim-pw'), legacyVerifier: makeLegacyVerifier('trim-pw'), legacyLoginEnabled: true });
  await store.close();
  const watch = trimWatch();
  const { events } = watch;
  const server = await startServer({
    dataDir, host: '127.0.0.1', port: 0, tlsPort: 0, httpPort: 0, log: watch.log,
    memoryTrim: { minYoungBytes: 0, quietMs: 3000, maxPauseShare: 1, maxBusy: 1 },
  });
  try {
    const trims = events.filter((e) => e.event === LogEvent.MEMORY_TRIMMED);
    assert.equal(trims.length, 1, 'start-up trimmed before startServer resolved');
    const first = trims[0]!;
    assert.equal(first.level, 'debug');
    assert.ok(Number(first.fields.youngAfterMB) <= Number(first.fields.youngBeforeMB));
    assert.ok(Number(first.fields.pauseMs) >= 0);
    const ready = events.findIndex((e) => e.event === LogEvent.READY);
    assert.ok(events.indexOf(first) < ready, 'trimmed before the server said ready');

    const client = await signOn({ port: server.ports.oscar }, 'trimmer', 'trim-pw', 'md5-strong');
    // One sign-on leaves too little to grow the young generation, and the trim only gives back what a burst grew:
    // grow it here (this process is the server's), as a burst of sign-ons would, well inside the quiet time.
    const survivors = Array.from({ length: 400_000 }, (_, i) => ({ i, name: `session-${i}` }));
    try {
      const second = await watch.nthTrim(2);
      assert.ok(events.indexOf(second) > ready, 'the sign-on was followed by a trim');
      assert.ok(Number(second.fields.youngAfterMB) < Number(second.fields.youngBeforeMB), 'the grown young generation was given back');
      assert.equal(survivors.length, 400_000);
    } finally {
      client.conn.close();
    }
  } finally {
    await server.close();
  }
});

test('memoryTrim: false leaves the heap alone', async () => {
  const events: LoggedEvent[] = [];
  const server = await startServer({
    dataDir: join(tmp, 'off'), host: '127.0.0.1', port: 0, tlsPort: 0, httpPort: 0, log: recordingLogger(events), memoryTrim: false,
  });
  await server.close();
  assert.equal(events.filter((e) => e.event === LogEvent.MEMORY_TRIMMED).length, 0);
  assert.ok(events.some((e) => e.event === LogEvent.READY));
});
