/**
 * Text measured in terminal cells, for the chat screen: a CJK character or an emoji takes two cells, a combining
 * mark none, and a user-perceived character (grapheme: an emoji with modifiers, a flag) is never cut in half.
 * Widths come from `string-width` (the Unicode East Asian Width and emoji tables terminals follow).
 */
import stringWidth from 'string-width';

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Code units between which a grapheme boundary is certain: printable ASCII and CJK ideographs (no extenders). */
function simple(c: number): boolean {
  return (c >= 0x20 && c <= 0x7e) || (c >= 0x4e00 && c <= 0x9fff);
}

const CHUNK = 512;

/**
 * The graphemes of `s` in order. Long texts (a big paste) are segmented in chunks cut where a boundary is certain,
 * because one segmenter pass over a long string takes time quadratic in its length (20,000 characters: ~0.3 s).
 */
export function graphemes(s: string): string[] {
  const out: string[] = [];
  let start = 0;
  while (s.length - start > CHUNK) {
    let cut = -1;
    for (let i = start + CHUNK; i < s.length && i < start + 4 * CHUNK; i++) {
      const a = s.charCodeAt(i - 1);
      const b = s.charCodeAt(i);
      if ((simple(a) && simple(b)) || a === 0x0a || (b === 0x0a && a !== 0x0d)) {
        cut = i;
        break;
      }
    }
    if (cut < 0) break; // no certain boundary nearby: segment the rest in one go
    for (const x of segmenter.segment(s.slice(start, cut))) out.push(x.segment);
    start = cut;
  }
  for (const x of segmenter.segment(s.slice(start))) out.push(x.segment);
  return out;
}

/** Terminal cells `s` takes. */
export function cellWidth(s: string): number {
  return stringWidth(s);
}

/**
 * `s` cut or padded to exactly `width` cells: cut with '…' when too wide (a wide character that would straddle the
 * edge becomes a space), padded with spaces when narrower.
 */
export function fitCells(s: string, width: number): string {
  if (width <= 0) return '';
  const w = cellWidth(s);
  if (w <= width) return s + ' '.repeat(width - w);
  let out = '';
  let used = 0;
  for (const g of graphemes(s)) {
    const gw = cellWidth(g);
    if (used + gw > width - 1) break;
    out += g;
    used += gw;
  }
  return out + '…' + ' '.repeat(Math.max(0, width - used - 1));
}

/**
 * Wraps `s` into rows of at most `width` cells, breaking after a space when one is in the second half of the row,
 * else between graphemes. Continuation rows start with `indent` spaces.
 */
export function wrapCells(s: string, width: number, indent = 0): string[] {
  if (width <= indent + 1) return [s];
  const rows: string[] = [];
  let row: string[] = [];
  let used = 0;
  let limit = width;
  const flush = (upto: number): void => {
    const head = row.slice(0, upto);
    rows.push(head.join(''));
    row = row.slice(upto);
    limit = width - indent;
    used = cellWidth(row.join(''));
  };
  for (const g of graphemes(s)) {
    const gw = cellWidth(g);
    if (used + gw > limit) {
      let cut = row.length;
      for (let i = row.length - 1; i > row.length / 2; i--) {
        if (row[i] === ' ') {
          cut = i + 1;
          break;
        }
      }
      flush(cut);
    }
    row.push(g);
    used += gw;
  }
  rows.push(row.join(''));
  return rows.map((r, i) => (i === 0 ? r : ' '.repeat(indent) + r));
}

/**
 * The part of an input line to show in `width` cells so the cursor (a grapheme index) stays visible: the first
 * grapheme index shown, and the cursor's cell column relative to it.
 */
export function inputWindow(chars: readonly string[], cursor: number, width: number): { start: number; column: number } {
  let start = 0;
  let column = 0;
  for (let i = 0; i < cursor; i++) column += cellWidth(chars[i]!);
  while (column > width - 1 && start < cursor) column -= cellWidth(chars[start++]!);
  return { start, column };
}
