/** The table of `certim` subcommands. Each module exports one `Command`; add a line here to register it. */
import type { Command } from '../command.js';
import { serverCommand } from './server.js';
import { adminCommand } from './admin.js';

export const commands: Record<string, Command> = {
  server: serverCommand,
  admin: adminCommand,
};
