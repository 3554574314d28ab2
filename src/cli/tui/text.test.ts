import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cellWidth, fitCells, graphemes, inputWindow, wrapCells } from './text.js';

describe('terminal cell widths', () => {
  it('counts emoji and CJK as two cells and keeps graphemes whole', () => {
    assert.equal(cellWidth('a漢😀'), 5);
    assert.deepEqual(graphemes('👍🏽é'), ['👍🏽', 'é']);
    assert.equal(cellWidth('👍🏽'), 2);
  });

  it('segments a long mixed text quickly and exactly like one segmenter pass', () => {
    const unit = 'abc 漢字かな 😀👍🏽 e\u0301 🇩🇪\r\n';
    const long = unit.repeat(20_000);
    const started = Date.now();
    const g = graphemes(long);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.equal(g.join(''), long);
    assert.deepEqual(g.slice(0, 16), graphemes(unit));
    assert.equal(g.length, graphemes(unit).length * 20_000);
  });

  it('fits to an exact width, never splitting a wide character', () => {
    assert.equal(fitCells('漢字漢字', 5), '漢字…');
    assert.equal(cellWidth(fitCells('漢字漢字', 5)), 5);
    assert.equal(fitCells('ab', 4), 'ab  ');
    assert.equal(cellWidth(fitCells('a😀😀😀', 6)), 6);
  });

  it('wraps by cells, at spaces when it can', () => {
    const rows = wrapCells('hello 漢字漢字 world 😀😀', 10);
    assert.ok(rows.every((r) => cellWidth(r) <= 10), rows.join('|'));
    assert.equal(rows.join('').replace(/ /g, ''), 'hello漢字漢字world😀😀');
    assert.deepEqual(wrapCells('aaaa bbbb', 6, 2), ['aaaa ', '  bbbb']);
  });

  it('keeps the cursor of a long input visible', () => {
    const chars = graphemes('漢'.repeat(20));
    const { start, column } = inputWindow(chars, 20, 10);
    assert.ok(column <= 9 && start > 0);
    assert.deepEqual(inputWindow(chars, 2, 10), { start: 0, column: 4 });
  });
});
