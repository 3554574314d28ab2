/** Test-only: runs the CLI's `main` in-process with stdout/stderr (console and process.stdout) captured. */
import { main } from './main.js';

/** Output of one {@link captureMain} run. */
export interface CapturedRun {
  /** Exit code `main` returned. */
  code: number;
  /** Everything written to stdout. */
  out: string;
  /** Everything written to stderr through console.error. */
  err: string;
}

/** Runs main with console output captured; restores the console afterwards. */
export async function captureMain(argv: string[]): Promise<CapturedRun> {
  const log = console.log;
  const error = console.error;
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  let err = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  console.log = (...a: unknown[]) => {
    out += `${a.join(' ')}\n`;
  };
  console.error = (...a: unknown[]) => {
    err += `${a.join(' ')}\n`;
  };
  try {
    return { code: await main(argv), out, err };
  } finally {
    console.log = log;
    console.error = error;
    process.stdout.write = write;
  }
}
