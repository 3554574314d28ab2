/**
 * Terminal input shared by every command: the usage-error type (exit code 2) and the no-echo prompt used for
 * passwords and passphrases (`certim keys`/`send`/... through client-options.ts, `certim admin user`).
 */

/** A usage mistake: the CLI prints it and exits 2. */
export class UsageError extends Error {
  /** @param message what was wrong with the arguments. */
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The streams a prompt talks through (tests pass their own). */
export interface PromptIo {
  /** Where keys come from. */
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  /** Where the question goes. */
  stderr: NodeJS.WritableStream;
}

/**
 * Prompts on the terminal with echo off (raw mode), handling backspace, Enter and Ctrl-C / Ctrl-D (cancel: a
 * UsageError). Input beyond `maxLength` characters is ignored. The caller checks that stdin is a terminal.
 */
export function promptHidden(question: string, io: PromptIo = process, maxLength = Infinity): Promise<string> {
  const stdin = io.stdin;
  return new Promise((resolve, reject) => {
    io.stderr.write(question);
    let value = '';
    const finish = (err: Error | null): void => {
      stdin.removeListener('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      io.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === '\u0003' || ch === '\u0004') return finish(new UsageError('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (value.length < maxLength) value += ch;
      }
    };
    stdin.setRawMode?.(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
