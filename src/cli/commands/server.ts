import type { Command } from '../command.js';

/** `certim server`: placeholder until the OSCAR server issue lands. */
export const serverCommand: Command = {
  summary: 'run the certim OSCAR server',
  async run() {
    console.error('certim: the server is not built yet (see issue 4).');
    return 1;
  },
};
