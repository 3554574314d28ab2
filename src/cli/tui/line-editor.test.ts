import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { emitKeypressEvents } from 'node:readline';
import { LineEditor, type EditResult, type Keypress } from './line-editor.js';

/** Feeds raw terminal bytes through Node's own keypress decoder into an editor. */
function feed(ed: LineEditor, raw: string): EditResult[] {
  const s = new PassThrough();
  const out: EditResult[] = [];
  emitKeypressEvents(s);
  s.on('keypress', (str: string | undefined, k: Keypress) => out.push(ed.key(str, k)));
  s.write(raw);
  return out;
}

describe('the chat input line', () => {
  it('edits with arrows, Home, End, Delete and Backspace around wide characters', () => {
    const ed = new LineEditor();
    feed(ed, 'ab漢😀c');
    feed(ed, '\x1b[H\x1b[3~'); // Home, Delete -> "b漢😀c"
    assert.equal(ed.text, 'b漢😀c');
    feed(ed, '\x1b[F\x1b[D\x7f'); // End, Left, Backspace -> deletes the emoji
    assert.equal(ed.text, 'b漢c');
    feed(ed, '\x1b[1~X\x1b[4~Y'); // the other Home/End sequences
    assert.equal(ed.text, 'Xb漢cY');
    feed(ed, '\x01\x0b'); // Ctrl-A, Ctrl-K
    assert.equal(ed.text, '');
  });

  it('a bracketed paste keeps its newlines instead of sending', () => {
    const ed = new LineEditor();
    const r = feed(ed, '\x1b[200~line one\rline two\x1b[201~');
    assert.ok(!r.includes('submit'));
    assert.equal(ed.text, 'line one\nline two');
    const big = 'x'.repeat(200_000);
    const started = Date.now();
    feed(ed, `\x1b[200~${big}\x1b[201~`);
    assert.equal(ed.text.length, 'line one\nline two'.length + big.length);
    assert.ok(Date.now() - started < 5000, 'a long paste is inserted in one go');
    assert.deepEqual(feed(ed, '\r'), ['submit']);
  });

  it('Ctrl-W deletes the word before the cursor; control characters are not inserted', () => {
    const ed = new LineEditor();
    feed(ed, 'hello big world\x17');
    assert.equal(ed.text, 'hello big ');
    assert.equal(ed.key('\x07', { name: 'g', ctrl: true, sequence: '\x07' }), 'unhandled');
  });
});
