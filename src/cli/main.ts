/**
 * The `certim` command line: a thin shell that parses arguments and calls the library.
 * Each subcommand lives in its own module under src/cli/commands/ and is registered in the table below.
 */
import type { Command } from './command.js';
import { commands } from './commands/index.js';

/** Runs the CLI with the given arguments (without `node` and the script) and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    if (name) console.log(usage());
    else console.error(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`certim: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  if (wantsHelp(rest)) return help(name, command, rest);
  return command.run(rest);
}

/** Commands whose first argument names an area with its own usage (`certim admin user add --help`). */
const AREAS = new Set(['admin']);

/** True when `--help` or `-h` comes before a `--`. */
function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  const scope = end < 0 ? args : args.slice(0, end);
  return scope.includes('--help') || scope.includes('-h');
}

/**
 * `--help` anywhere, on any command or subcommand: prints the usage of the command (of its area for `admin`) on
 * stdout and exits 0. The command runs with nothing but `--help`, so asking for help never does anything else
 * (no store opened, no sign-on), whatever other arguments were given.
 */
async function help(name: string, command: Command, rest: readonly string[]): Promise<number> {
  const area = AREAS.has(name) && rest[0] !== undefined && !rest[0].startsWith('-') ? [rest[0]] : [];
  // Usage is the answer here, so it goes to stdout even from commands that print it on stderr.
  const consoleError = console.error;
  const stderrWrite = process.stderr.write;
  console.error = (...args: unknown[]) => console.log(...args);
  process.stderr.write = ((chunk: string | Uint8Array) => process.stdout.write(chunk)) as typeof process.stderr.write;
  try {
    const code = await command.run([...area, '--help']);
    return code === 2 ? 0 : code; // some commands answer a bare --help with their usage and the usage exit code
  } finally {
    console.error = consoleError;
    process.stderr.write = stderrWrite;
  }
}

function usage(): string {
  const lines = Object.entries(commands).map(([n, c]) => `  certim ${n.padEnd(8)} ${c.summary}`);
  return ['usage: certim <command> [options]', '', ...lines, '', 'certim <command> --help shows the options of one command.'].join('\n');
}
