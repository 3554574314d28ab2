/**
 * A real terminal for tests: one detached tmux session running a command, driven with `send-keys` /
 * `paste-buffer` and read with `capture-pane -p`; `pipe-pane` keeps the raw bytes the program wrote (to see a
 * bell or an escape sequence the screen does not show).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

/** Quotes one word for sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** One tmux session. */
export class TmuxSession {
  readonly name = `certim-${process.pid}-${randomBytes(3).toString('hex')}`;

  private constructor() {}

  /** Starts `command` (a shell line) in a `cols` x `rows` terminal. */
  static start(command: string, cols: number, rows: number): TmuxSession {
    execFileSync('tmux', ['-V']); // fails loudly if tmux is missing
    const s = new TmuxSession();
    s.tmux('new-session', '-d', '-s', s.name, '-x', String(cols), '-y', String(rows), command);
    return s;
  }

  /** Runs a tmux command. */
  tmux(...args: string[]): string {
    return execFileSync('tmux', args, { encoding: 'utf8' });
  }

  /** The screen as text, one line per row. */
  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', this.name);
  }

  /** Polls the screen until `pred` holds; fails with the last screen after `timeoutMs`. */
  async waitScreen(pred: (s: string) => boolean, what: string, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let s = '';
    while (Date.now() < deadline) {
      s = this.screen();
      if (pred(s)) return s;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out waiting for ${what}; screen:\n${s}`);
  }

  /** Types `text` literally. */
  keys(text: string): void {
    this.tmux('send-keys', '-t', this.name, '-l', text);
  }

  /** Presses named keys (Enter, Home, End, DC for Delete, Left, PPage, NPage...). */
  press(...keys: string[]): void {
    this.tmux('send-keys', '-t', this.name, ...keys);
  }

  /** Types `text` and presses Enter. */
  line(text: string): void {
    this.keys(text);
    this.press('Enter');
  }

  /** Sends raw bytes to the program (e.g. a focus report the terminal would send). */
  raw(bytes: string): void {
    this.tmux('send-keys', '-t', this.name, '-H', ...[...Buffer.from(bytes, 'utf8')].map((b) => b.toString(16).padStart(2, '0')));
  }

  /** Pastes `text` as a terminal does: bracketed when the program asked for it. */
  paste(text: string, file: string): void {
    writeFileSync(file, text);
    this.tmux('load-buffer', '-b', this.name, file);
    this.tmux('paste-buffer', '-p', '-d', '-b', this.name, '-t', this.name);
  }

  /** Starts keeping everything the program writes in `file`. */
  pipeTo(file: string): void {
    writeFileSync(file, '');
    this.tmux('pipe-pane', '-o', '-t', this.name, `cat >> ${shellQuote(file)}`);
  }

  /** The bytes kept by {@link pipeTo}. */
  static piped(file: string): string {
    return readFileSync(file, 'utf8');
  }

  /** Ends the session. */
  kill(): void {
    try {
      this.tmux('kill-session', '-t', this.name);
    } catch {
      // already gone
    }
  }
}
