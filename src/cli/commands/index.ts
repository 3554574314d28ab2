/** The table of `certim` subcommands. Each module exports one `Command`; add a line here to register it. */
import type { Command } from '../command.js';
import { serverCommand } from './server.js';
import { adminCommand } from './admin.js';
import { keysCommand } from './keys.js';
import { trustCommand } from './trust.js';
import { sendCommand } from './send.js';
import { listenCommand } from './listen.js';
import { chatCommand } from './chat.js';
import { messageCommand } from './message.js';
import { buddyCommand } from './buddy.js';
import { awayCommand, profileCommand } from './away.js';
import { roomCommand } from './room.js';

export const commands: Record<string, Command> = {
  server: serverCommand,
  admin: adminCommand,
  keys: keysCommand,
  trust: trustCommand,
  send: sendCommand,
  listen: listenCommand,
  chat: chatCommand,
  buddy: buddyCommand,
  away: awayCommand,
  profile: profileCommand,
  message: messageCommand,
  room: roomCommand,
};
