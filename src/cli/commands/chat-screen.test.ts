import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cellWidth } from '../tui/text.js';
import { markerFor, render, sanitize, sentMarker, type ChatState } from './chat-screen.js';

// eslint-disable-next-line no-control-regex
const strip = (s: string): string => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

test('every verdict has its own marker', () => {
  assert.equal(markerFor({ secure: true, verdict: 'verified', trust: 'ca', reason: '' }), '[secure]');
  assert.equal(markerFor({ secure: true, verdict: 'verified', trust: 'personal', reason: '' }), '[secure, verified]');
  assert.equal(markerFor({ secure: true, verdict: 'verified', trust: 'changed', reason: '' }), '[secure, KEY CHANGED]');
  assert.equal(markerFor({ secure: true, verdict: 'failed', trust: null, reason: 'tampered' }), '[FAILED: tampered]');
  assert.equal(markerFor({ secure: true, verdict: 'untrusted', trust: null, reason: 'expired' }), '[UNTRUSTED: expired]');
  assert.equal(markerFor({ secure: false, verdict: 'untrusted', trust: null, reason: '' }), '[PLAINTEXT]');
});

test('aim-legacy messages say what they lack, received and sent', () => {
  assert.equal(markerFor({ secure: true, verdict: 'verified', trust: 'ca', reason: '', legacy: true }), '[secure, LEGACY: weak MD5, no replay/recipient binding]');
  assert.equal(markerFor({ secure: true, verdict: 'untrusted', trust: null, reason: 'REVOKED', legacy: true }), '[UNTRUSTED: REVOKED, LEGACY: weak MD5, no replay/recipient binding]');
  assert.equal(sentMarker(true, 'personal', true), '[secure, verified, LEGACY: weak MD5, no replay/recipient binding]');
  assert.equal(sentMarker(true, 'ca'), '[secure]');
});

test('remote text cannot inject terminal escapes', () => {
  assert.equal(sanitize('a\x1b[2Jb\x07'), 'a?[2Jb?');
});

test('renders buddy list, selection, conversation and notices within the terminal size', () => {
  const st: ChatState = {
    me: 'alice', status: 'online', selected: 1, input: 'typing', plaintextAllowed: new Set(), notices: ["WARNING: bob's key changed!"],
    buddies: [
      { screenName: 'carol', online: false, away: false, hasCert: false, trust: undefined, unread: 2 },
      { screenName: 'bob', online: true, away: false, hasCert: true, trust: 'changed', unread: 0 },
    ],
    conversations: new Map([['bob', [{ time: new Date(), who: 'bob', text: 'hi \x1b]0;pwned\x07', marker: '[secure]' }]]]),
  };
  const out = render(st, 80, 20);
  const lines = strip(out).split('\r\n');
  assert.equal(lines.length, 20);
  assert.ok(lines.every((l) => [...l].length <= 80), 'no line wider than the terminal');
  assert.ok(out.includes('\x1b[7m> * bob !KEY'));
  assert.match(out, /- carol \(2\)/);
  assert.match(out, /bob: secure, KEY CHANGED/);
  assert.match(out, /bob \[secure\] hi \?\]0;pwned\?/);
  assert.match(out, /! WARNING: bob's key changed!/);
  assert.match(lines[lines.length - 1]!, /^bob> typing/);
});

test('emoji and CJK text keep every row exactly as wide as the terminal; the cursor sits after the input', () => {
  const st: ChatState = {
    me: 'alice', status: 'online', selected: 0, input: '你好😀', plaintextAllowed: new Set(), notices: [],
    buddies: [{ screenName: 'bob', online: true, away: false, idleMinutes: 12, hasCert: true, trust: 'ca', unread: 0 }, { screenName: '李', online: true, away: true, hasCert: false, trust: undefined, unread: 1 }],
    conversations: new Map([['bob', [
      { time: new Date(), who: 'bob', text: 'emoji 😀👍🏽 and 漢字かな交じり文 '.repeat(6), marker: '[secure]' },
      { time: new Date(), who: 'me', text: 'two\nlines', marker: '[secure]', status: 'delivered' },
    ]]]),
  };
  const out = render(st, 100, 16);
  const lines = strip(out).split('\r\n');
  assert.equal(lines.length, 16);
  for (const l of lines) assert.equal(cellWidth(l), 100, JSON.stringify(l));
  assert.match(out, /> \* bob key idle 12m/);
  assert.match(out, /~ 李 \(1\) away/);
  assert.match(out, /me \[secure\] two/);
  assert.match(out, /lines {2}\(delivered\)/);
  assert.ok(out.endsWith(`\x1b[16;${'bob> '.length + 6 + 1}H`), JSON.stringify(out.slice(-12)));
});

test('each conversation scrolls on its own, with a marker when newer rows are below', () => {
  const many = Array.from({ length: 40 }, (_, i) => ({ time: new Date(), who: 'bob', text: `line ${i}`, marker: '[secure]' }));
  const st: ChatState = {
    me: 'alice', status: 'online', selected: 0, input: '', plaintextAllowed: new Set(), notices: [],
    buddies: [{ screenName: 'bob', online: true, away: false, hasCert: true, trust: 'ca', unread: 0 }],
    conversations: new Map([['bob', many]]), scroll: new Map([['bob', 10]]),
  };
  const text = strip(render(st, 80, 20));
  assert.match(text, /line 28/);
  assert.doesNotMatch(text, /line 29/);
  assert.match(text, /-- 10 more rows below: PgDn --/);
});

test('groups of the stored buddy list get a header with how many are online', () => {
  const st: ChatState = {
    me: 'alice', status: 'online', selected: 1, input: '', plaintextAllowed: new Set(), notices: [], conversations: new Map(),
    buddies: [
      { screenName: 'dave', online: true, away: false, hasCert: false, trust: undefined, unread: 0 },
      { screenName: 'bob', online: true, away: false, hasCert: true, trust: 'ca', unread: 0, group: 'Friends' },
      { screenName: 'carol', online: false, away: false, hasCert: false, trust: undefined, unread: 0, group: 'Friends' },
    ],
  };
  const rows = strip(render(st, 80, 12)).split('\r\n').map((l) => l.split(' | ')[0]!.trimEnd());
  assert.deepEqual(rows.slice(2, 7), ['Others (1/1)', '  * dave', 'Friends (1/2)', '> * bob key', '  - carol']);
});
