import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { encodeLogFields, encodeLogString, MAX_STRING } from './log-encode.js';
import { RepeatLimiter } from './log-repeat.js';
import { createLogSink } from './log-sink.js';
import { formatFingerprint } from '../pki/fingerprint.js';
import { LOG_EVENT_NAMES, LogEvent, type LogEventName, type LogLevel } from './log.js';

/** A sink writing into an array of lines, with a clock the test moves. */
function captured(opts: { level?: 'debug' | 'info' | 'warn'; format?: 'json' | 'pretty' } = {}) {
  const lines: string[] = [];
  let buf = '';
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      buf += chunk.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      cb();
    },
  });
  const clock = { t: 1_000_000 };
  const sink = createLogSink({ level: opts.level ?? 'debug', format: opts.format ?? 'json', destination, isTty: false, now: () => clock.t, repeat: { windowMs: 10_000, maxPerEvent: 5 } });
  return { lines, clock, sink, json: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('event names are unique, dotted and lowercase, and ARCHITECTURE.md lists each one', () => {
  assert.equal(new Set(LOG_EVENT_NAMES).size, LOG_EVENT_NAMES.length);
  for (const n of LOG_EVENT_NAMES) assert.match(n, /^[a-z]+\.[a-z_]+$/);
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'ARCHITECTURE.md'), 'utf8');
  for (const n of LOG_EVENT_NAMES) assert.ok(doc.includes(`| \`${n}\` |`), `ARCHITECTURE.md's event table lacks ${n}`);
});

test('strings are encoded: control characters, separators, bidi overrides, backslash, length', () => {
  assert.equal(encodeLogString('bob\n{"level":"info"}'), 'bob\\x0a{"level":"info"}');
  assert.equal(encodeLogString('a\rb\u0000c\u001b[31m'), 'a\\x0db\\x00c\\x1b[31m');
  assert.equal(encodeLogString('x\u2028y\u202ez\u0085'), 'x\\u{2028}y\\u{202e}z\\x85');
  assert.equal(encodeLogString('back\\x0a'), 'back\\\\x0a', 'a literal backslash cannot pose as an escape');
  assert.equal(encodeLogString('lone \ud800 surrogate'), 'lone \\u{d800} surrogate');
  assert.equal(encodeLogString('emoji 😀 ok'), 'emoji 😀 ok');
  const long = encodeLogString('x'.repeat(MAX_STRING + 10));
  assert.equal(long, `${'x'.repeat(MAX_STRING)}...(+10)`);
});

test('fields: bytes become a length, secret-named fields are redacted, nesting is bounded', () => {
  const out = encodeLogFields({
    screenName: 'bob', password: 'hunter2', passphrase: 'p', keyPem: 'k', cookie: new Uint8Array(256),
    text: 'hello', der: new Uint8Array(1200), when: new Date(0), err: new Error('boom'), deep: { a: { b: { c: { d: 1 } } } },
    n: Number.NaN, none: undefined,
  });
  assert.deepEqual(out, {
    screenName: 'bob', password: '[redacted]', passphrase: '[redacted]', keyPem: '[redacted]', cookie: '[redacted]',
    text: '[redacted]', der: '[1200 bytes]', when: '1970-01-01T00:00:00.000Z', err: 'boom', deep: { a: { b: { c: '[nested]' } } },
    n: 'NaN',
  });
});

test('identical events within a window become one line plus one line with the count', () => {
  const written: Array<[LogLevel, LogEventName, Record<string, unknown>]> = [];
  let now = 0;
  const r = new RepeatLimiter((l, e, f) => written.push([l, e, f]), () => now, { windowMs: 1000, maxPerEvent: 100 });
  for (let i = 0; i < 500; i++) r.offer('warn', LogEvent.RATE_LIMIT_DISCONNECT, { address: '10.0.0.1' });
  r.offer('warn', LogEvent.RATE_LIMIT_DISCONNECT, { address: '10.0.0.2' });
  assert.equal(written.length, 2);
  now = 999;
  r.flush();
  assert.equal(written.length, 2, 'window still open');
  now = 1000;
  r.flush();
  assert.deepEqual(written[2], ['warn', LogEvent.RATE_LIMIT_DISCONNECT, { address: '10.0.0.1', repeated: 499 }]);
  assert.equal(written.length, 3, 'no summary for an event that did not repeat');
  r.offer('warn', LogEvent.RATE_LIMIT_DISCONNECT, { address: '10.0.0.1' });
  assert.equal(written.length, 4, 'a new window writes the first occurrence again');
});

test('distinct events of one name are capped per window and summarised as log.dropped', () => {
  const written: Array<[LogLevel, LogEventName, Record<string, unknown>]> = [];
  let now = 0;
  const r = new RepeatLimiter((l, e, f) => written.push([l, e, f]), () => now, { windowMs: 1000, maxPerEvent: 3 });
  for (let i = 0; i < 1000; i++) r.offer('warn', LogEvent.LOGIN_FAILED, { screenName: `guess${i}` });
  r.offer('info', LogEvent.SIGN_ON, { screenName: 'alice' });
  assert.equal(written.length, 4, '3 failed logins and the sign-on');
  now = 1000;
  r.flush();
  assert.deepEqual(written.at(-1), ['warn', LogEvent.LOG_DROPPED, { dropped: LogEvent.LOGIN_FAILED, count: 997 }]);
});

test('remembered lines are bounded', () => {
  const written: unknown[] = [];
  const r = new RepeatLimiter((...a) => written.push(a), () => 0, { windowMs: 1000, maxPerEvent: 1_000_000, maxKeys: 10 });
  for (let i = 0; i < 100; i++) r.offer('warn', LogEvent.LOGIN_FAILED, { i });
  assert.equal(written.length, 10);
});

test('the JSON sink writes one object per line with level, time, pid and event; a newline cannot forge a line', () => {
  const c = captured();
  c.sink.log('warn', LogEvent.LOGIN_FAILED, { screenName: 'evil\n{"level":"info","event":"session.sign_on","screenName":"admin"}', address: '127.0.0.1' });
  c.sink.log('debug', LogEvent.CONN_CLOSED, { level: 'fake', event: 'fake' });
  assert.equal(c.lines.length, 2);
  const [a, b] = c.json();
  assert.equal(a!.event, 'login.failed');
  assert.equal(a!.level, 'warn');
  assert.equal(typeof a!.time, 'string');
  assert.equal(a!.pid, process.pid);
  assert.equal(a!.screenName, 'evil\\x0a{"level":"info","event":"session.sign_on","screenName":"admin"}');
  assert.equal(b!.event, 'conn.closed', 'a field cannot shadow the event name');
  assert.equal(b!._event, 'fake');
  assert.equal(b!.level, 'debug');
});

test('the pretty sink is single-line and encoded too', () => {
  const c = captured({ format: 'pretty' });
  c.sink.log('warn', LogEvent.LOGIN_FAILED, { screenName: 'evil\nINFO: forged', address: '127.0.0.1' });
  assert.equal(c.lines.length, 1);
  assert.match(c.lines[0]!, /login\.failed/);
  assert.match(c.lines[0]!, /evil\\x0aINFO: forged/);
});

test('fingerprint fields: plain lowercase hex in JSON lines, the grouped display form in the pretty form', () => {
  const hex = '0123456789abcdef'.repeat(4);
  const fields = { caFingerprint: hex, rootFingerprint: hex, fingerprint: hex, serial: '0a' };
  const j = captured();
  j.sink.log('info', LogEvent.READY, fields);
  const line = j.json()[0]!;
  assert.deepEqual([line.caFingerprint, line.rootFingerprint, line.fingerprint], [hex, hex, hex]);
  const p = captured({ format: 'pretty' });
  p.sink.log('info', LogEvent.READY, fields);
  assert.equal(p.lines.length, 1);
  const shown = formatFingerprint(hex);
  for (const k of ['caFingerprint', 'rootFingerprint', 'fingerprint']) assert.ok(p.lines[0]!.includes(`"${k}":"${shown}"`), `${k} in ${p.lines[0]}`);
  assert.doesNotMatch(p.lines[0]!, /[0-9a-f]{64}/);
  assert.match(p.lines[0]!, /"serial":"0a"/, 'other fields unchanged');
});

test('levels below --log-level are dropped; close() writes pending summaries', () => {
  const c = captured({ level: 'warn' });
  c.sink.log('info', LogEvent.SIGN_ON, { screenName: 'a' });
  for (let i = 0; i < 3; i++) c.sink.log('warn', LogEvent.RATE_LIMIT_DISCONNECT, { address: 'x' });
  assert.equal(c.lines.length, 1);
  c.sink.close();
  assert.deepEqual(c.json().map((l) => [l.event, l.repeated]), [['conn.rate_limit_disconnect', undefined], ['conn.rate_limit_disconnect', 2]]);
});
