import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordingLogger, type LoggedEvent } from '../log.js';
import { AdminError, MAX_ADMIN_LINE, adminSocketPath } from './admin-protocol.js';
import { startAdminServer } from './admin-server.js';
import type { AdminDispatch } from './admin-commands.js';

const root = mkdtempSync(join(tmpdir(), 'certim-admin-sock-'));
after(() => rmSync(root, { recursive: true, force: true }));

const dispatch: AdminDispatch = async (req) => {
  if (req.cmd === 'ping') return { pong: true };
  if (req.cmd === 'user.unlock') throw new AdminError('NOPE', `cannot unlock ${req.screenName}`);
  throw new Error('secret internal detail');
};

/** Sends raw text, returns every line received until the server closes or `lines` arrived. */
function exchange(path: string, text: string, lines: number): Promise<{ lines: string[]; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect({ path });
    let buf = '';
    const done = (closed: boolean): void => {
      s.destroy();
      resolve({ lines: buf.split('\n').filter(Boolean), closed });
    };
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      if (buf.split('\n').filter(Boolean).length >= lines) done(false);
    });
    s.on('error', () => {});
    s.on('close', () => done(true));
    s.write(text);
  });
}

test('JSON lines in order: results, typed refusals, generic internal errors; private modes', async () => {
  const dir = join(root, 'a');
  mkdirSync(dir);
  const events: LoggedEvent[] = [];
  const srv = await startAdminServer(dir, dispatch, recordingLogger(events));
  try {
    assert.equal(srv.path, adminSocketPath(dir));
    assert.equal(statSync(join(dir, 'admin')).mode & 0o777, 0o700);
    assert.equal(statSync(srv.path).mode & 0o777, 0o600);
    const r = await exchange(srv.path, [
      '{"id":1,"cmd":"ping"}', 'not json', '{"id":3,"cmd":"rm -rf"}', '{"id":4,"cmd":"user.unlock","screenName":"x"}',
      '{"id":5,"cmd":"sessions"}', '{"id":6,"cmd":"user.unlock"}', '',
    ].join('\n'), 6);
    const out = r.lines.map((l) => JSON.parse(l) as { id?: number; ok: boolean; result?: unknown; error?: { code: string; message: string } });
    assert.deepEqual(out.map((o) => [o.id, o.ok, o.error?.code]), [
      [1, true, undefined], [undefined, false, 'BAD_REQUEST'], [3, false, 'UNKNOWN_COMMAND'], [4, false, 'NOPE'], [5, false, 'INTERNAL'], [6, false, 'BAD_REQUEST'],
    ]);
    assert.deepEqual(out[0]!.result, { pong: true });
    assert.doesNotMatch(out[4]!.error!.message, /secret internal detail/, 'internal errors are not shown to the client');
    assert.ok(events.some((e) => e.event === 'admin.command' && e.level === 'error' && e.fields.command === 'sessions'));
  } finally {
    await srv.close();
  }
});

test('an over-long line closes the connection; the server keeps serving', async () => {
  const dir = join(root, 'b');
  mkdirSync(dir);
  const events: LoggedEvent[] = [];
  const srv = await startAdminServer(dir, dispatch, recordingLogger(events));
  try {
    const r = await exchange(srv.path, 'x'.repeat(MAX_ADMIN_LINE + 10), 1);
    assert.equal(r.closed, true);
    assert.deepEqual(r.lines, []);
    assert.ok(events.some((e) => e.event === 'admin.refused'));
    const ok = await exchange(srv.path, '{"cmd":"ping"}\n', 1);
    assert.equal(JSON.parse(ok.lines[0]!).ok, true);
  } finally {
    await srv.close();
  }
});

test('a stale socket file is replaced; a symlinked admin directory is refused', async () => {
  const dir = join(root, 'c');
  mkdirSync(join(dir, 'admin'), { recursive: true });
  writeFileSync(adminSocketPath(dir), 'stale');
  const srv = await startAdminServer(dir, dispatch, () => {});
  assert.ok(statSync(srv.path).isSocket());
  await srv.close();

  const evil = join(root, 'd');
  mkdirSync(evil);
  mkdirSync(join(root, 'elsewhere'));
  symlinkSync(join(root, 'elsewhere'), join(evil, 'admin'));
  await assert.rejects(startAdminServer(evil, dispatch, () => {}), /is not a directory; refusing/);
});
