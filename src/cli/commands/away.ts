/**
 * `certim away` and `certim profile`: the away message and profile others see (Locate, docs/protocol.md §3.2).
 * The server keeps them only while we are signed on, so `set` saves them in the profile directory and a running
 * `certim listen` or `certim chat` publishes them (at once, and at every sign-on); `show BUDDY` asks the server
 * for a signed-on buddy's.
 */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import type { CertimClient } from '../../client/client.js';
import { getDetails, MAX_INFO_BYTES } from '../../client/locate-info.js';
import { COMMON_OPTIONS, connectFromProfile, profileFrom, reportError, UsageError } from './client-options.js';
import { readStdinText } from './send-text.js';
import { readSaved, writeSaved, type SavedText } from './presence-settings.js';

function usage(which: SavedText): string {
  const what = which === 'away' ? 'away message' : 'profile';
  return `usage:
  certim ${which} set TEXT        set your ${what} ('-' reads it from stdin); a running listen or chat publishes it
  certim ${which} clear           ${which === 'away' ? 'come back (no away message)' : 'remove your profile'}
  certim ${which} show [BUDDY]    yours, or a signed-on buddy's ${which === 'away' ? 'away message' : 'profile and away message'}
common options: --profile DIR, --password-file F, --passphrase-file F`;
}

function command(which: SavedText, summary: string): Command {
  const what = which === 'away' ? 'away message' : 'profile';
  return {
    summary,
    async run(argv) {
      let client: CertimClient | undefined;
      try {
        const { values, positionals } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, json: { type: 'boolean' } }, allowPositionals: true });
        if (values.help) {
          console.log(usage(which));
          return 0;
        }
        const [action, ...words] = positionals;
        const profile = profileFrom(values);
        switch (action) {
          case 'set': {
            const text = words.length === 1 && words[0] === '-' ? await readStdinText() : words.join(' ');
            if (text.trim() === '') throw new UsageError(`certim ${which} set needs the text (certim ${which} clear removes it)`);
            if (Buffer.byteLength(text) > MAX_INFO_BYTES) throw new UsageError(`the ${what} is too long: ${Buffer.byteLength(text)} bytes, at most ${MAX_INFO_BYTES}`);
            profile.settings(); // a clear error when there is no profile yet
            writeSaved(profile, which, text);
            console.log(`${what} saved; a running certim listen or chat shows it to your buddies now, and at every sign-on`);
            return 0;
          }
          case 'clear':
            profile.settings();
            writeSaved(profile, which, undefined);
            console.log(`${what} cleared`);
            return 0;
          case 'show': {
            if (words.length === 0) {
              const mine = readSaved(profile, which);
              if (values.json) console.log(JSON.stringify({ [which]: mine ?? null }));
              else console.log(mine === undefined ? `you have no ${what}` : mine);
              return 0;
            }
            const buddy = words.join(' ');
            ({ client } = await connectFromProfile(values, { reconnect: false }));
            const d = await getDetails(client, buddy);
            if (values.json) {
              console.log(JSON.stringify({ screenName: d.screenName, away: d.away ?? null, profile: d.profile ?? null, idleMinutes: d.idleMinutes ?? null }));
            } else {
              console.log(`${d.screenName}: ${d.away !== undefined ? `away: ${d.away}` : 'available'}${d.idleMinutes ? ` (idle ${d.idleMinutes} min)` : ''}`);
              if (which === 'profile') console.log(d.profile !== undefined ? `profile: ${d.profile}` : 'no profile');
            }
            return 0;
          }
          default:
            throw new UsageError(action ? `unknown action '${action}'\n${usage(which)}` : usage(which));
        }
      } catch (e) {
        return reportError(which, e);
      } finally {
        client?.close();
      }
    },
  };
}

/** `certim away`. */
export const awayCommand: Command = command('away', 'your away message (and a buddy\'s)');

/** `certim profile`. */
export const profileCommand: Command = command('profile', 'your profile (and a buddy\'s)');
