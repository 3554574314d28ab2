/** One `certim` subcommand. */
export interface Command {
  /** One line shown in `certim --help`. */
  summary: string;
  /** Runs with the arguments after the subcommand name; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}
