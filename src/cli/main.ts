/**
 * The `certim` command line: a thin shell that parses arguments and calls the library.
 * Each subcommand lives in its own module under src/cli/commands/ and is registered in the table below.
 */
import { commands } from './commands/index.js';

/** Runs the CLI with the given arguments (without `node` and the script) and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    printUsage();
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`certim: unknown command '${name}'`);
    printUsage();
    return 2;
  }
  return command.run(rest);
}

function printUsage(): void {
  const lines = Object.entries(commands).map(([n, c]) => `  certim ${n.padEnd(8)} ${c.summary}`);
  console.error(['usage: certim <command> [options]', '', ...lines].join('\n'));
}
