import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeKeys, markerFor, render, sanitize, sentMarker, type ChatState } from './chat-screen.js';

test('decodes arrows, enter, backspace, ctrl-c and text', () => {
  assert.deepEqual(decodeKeys('hi\x1b[A\x1b[B\r\x7f\x03'), [
    { kind: 'char', ch: 'h' }, { kind: 'char', ch: 'i' }, { kind: 'up' }, { kind: 'down' }, { kind: 'enter' }, { kind: 'backspace' }, { kind: 'ctrl-c' },
  ]);
});

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
  // eslint-disable-next-line no-control-regex
  const lines = out.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').split('\r\n');
  assert.equal(lines.length, 20);
  assert.ok(lines.every((l) => [...l].length <= 80), 'no line wider than the terminal');
  assert.ok(out.includes('\x1b[7m> * bob !KEY'));
  assert.match(out, /- carol \(2\)/);
  assert.match(out, /bob: secure, KEY CHANGED/);
  assert.match(out, /bob \[secure\] hi \?\]0;pwned\?/);
  assert.match(out, /! WARNING: bob's key changed!/);
  assert.match(lines[lines.length - 1]!, /^bob> typing/);
});
