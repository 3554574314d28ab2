/**
 * The chat input line: text as graphemes with a cursor, edited by the keys Node's `readline.emitKeypressEvents`
 * decodes (arrows, Home/End, Delete, Backspace, the Emacs keys Ctrl-A/E/U/K/W), and bracketed paste, during which
 * Enter inserts a newline instead of sending (a pasted paragraph arrives as one message).
 */
import { graphemes } from './text.js';

/** The `key` object of a Node `keypress` event. */
export interface Keypress {
  /** Key name (`left`, `home`, `delete`, `return`, `paste-start`...), undefined for plain characters. */
  name?: string;
  /** The raw sequence. */
  sequence?: string;
  /** Ctrl held. */
  ctrl?: boolean;
  /** Meta/Alt held. */
  meta?: boolean;
  /** Shift held. */
  shift?: boolean;
}

/** What a key did to the line. */
export type EditResult = 'edited' | 'moved' | 'submit' | 'unhandled';

/** An editable input line. */
export class LineEditor {
  private chars: string[] = [];
  /** Cursor as a grapheme index (0 = before the first). */
  cursor = 0;
  /** Inside a bracketed paste. */
  pasting = false;
  /** What the paste brought so far: inserted in one go at its end (one splice, however long the paste). */
  private pasted = '';

  /** The text. */
  get text(): string {
    return this.chars.join('');
  }

  /** The graphemes (for rendering). */
  get graphemes(): readonly string[] {
    return this.chars;
  }

  /** Replaces the text and puts the cursor at the end. */
  set(text: string): void {
    this.chars = graphemes(text);
    this.cursor = this.chars.length;
  }

  /** Inserts text at the cursor. */
  insert(text: string): void {
    const g = graphemes(text.replace(/\r\n?/g, '\n'));
    this.chars = [...this.chars.slice(0, this.cursor), ...g, ...this.chars.slice(this.cursor)]; // no spread into a call: a paste may be long
    this.cursor += g.length;
  }

  /** Applies one keypress; `str` is the character it typed, if any. */
  key(str: string | undefined, k: Keypress): EditResult {
    const name = k.name;
    if (name === 'paste-start') {
      this.pasting = true;
      this.pasted = '';
      return 'moved';
    }
    if (name === 'paste-end') {
      this.pasting = false;
      this.insert(this.pasted);
      this.pasted = '';
      return 'edited';
    }
    if (this.pasting) {
      // Everything inside the brackets is text: newlines and tabs included, control characters dropped.
      const ch = name === 'return' || name === 'enter' ? '\n' : name === 'tab' ? '\t' : str ?? '';
      // eslint-disable-next-line no-control-regex
      this.pasted += ch.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
      return 'moved';
    }
    if (name === 'return' || name === 'enter') return 'submit';
    if (k.ctrl) {
      switch (name) {
        case 'a': return this.move(0);
        case 'e': return this.move(this.chars.length);
        case 'u': this.chars.splice(0, this.cursor); this.cursor = 0; return 'edited';
        case 'k': this.chars.splice(this.cursor); return 'edited';
        case 'w': {
          let i = this.cursor;
          while (i > 0 && /\s/.test(this.chars[i - 1]!)) i--;
          while (i > 0 && !/\s/.test(this.chars[i - 1]!)) i--;
          this.chars.splice(i, this.cursor - i);
          this.cursor = i;
          return 'edited';
        }
        default: return 'unhandled';
      }
    }
    switch (name) {
      case 'left': return this.move(this.cursor - 1);
      case 'right': return this.move(this.cursor + 1);
      case 'home': return this.move(0);
      case 'end': return this.move(this.chars.length);
      case 'backspace':
        if (this.cursor === 0) return 'moved';
        this.chars.splice(--this.cursor, 1);
        return 'edited';
      case 'delete':
        if (this.cursor >= this.chars.length) return 'moved';
        this.chars.splice(this.cursor, 1);
        return 'edited';
      default:
        break;
    }
    // Printable text (one key, or several characters at once from a paste without bracketing).
    if (str !== undefined && !k.meta && str.length > 0 && (name === undefined || name.length === 1 || name === 'space')) {
      // eslint-disable-next-line no-control-regex
      const clean = str.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
      if (clean.length === 0) return 'unhandled';
      this.insert(clean);
      return 'edited';
    }
    return 'unhandled';
  }

  private move(to: number): EditResult {
    this.cursor = Math.max(0, Math.min(this.chars.length, to));
    return 'moved';
  }
}
