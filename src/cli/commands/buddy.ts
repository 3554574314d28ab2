/**
 * `certim buddy`: the server-stored buddy list (the feedbag, docs/protocol.md §3.9), the same list classic AIM
 * clients show: list it with presence, add and remove buddies and groups, block and unblock. Blocking works both
 * ways, as in AIM: no IMs either way and neither sees the other online (§3.3, §3.5).
 */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import type { CertimClient } from '../../client/client.js';
import { addBuddy, addGroup, block, buddyListOf, DEFAULT_GROUP, readFeedbag, removeBuddy, removeGroup, unblock } from '../../client/feedbag.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { COMMON_OPTIONS, connectFromProfile, reportError, UsageError } from './client-options.js';

const USAGE = `usage:
  certim buddy list [--json]                      your buddy list with who is online, away or idle
  certim buddy add NAME [--group GROUP]           add a buddy (group "${DEFAULT_GROUP}" unless named; created if new)
  certim buddy remove NAME [--group GROUP]        remove a buddy (from every group unless named)
  certim buddy group add GROUP                    add an empty group
  certim buddy group remove GROUP [--with-buddies]  remove a group (and the buddies in it)
  certim buddy block NAME | unblock NAME          block: no IMs either way, and you stop seeing each other online
common options: --profile DIR, --password-file F, --passphrase-file F`;

async function list(c: CertimClient, json: boolean): Promise<void> {
  const bl = buddyListOf(await readFeedbag(c));
  const presence = new Map(c.buddies().map((p) => [normalizeScreenName(p.screenName), p]));
  const state = (name: string): { online: boolean; away: boolean; idleMinutes?: number } => {
    const p = presence.get(normalizeScreenName(name));
    return p?.online ? { online: true, away: p.away, ...(p.idleMinutes ? { idleMinutes: p.idleMinutes } : {}) } : { online: false, away: false };
  };
  if (json) {
    console.log(JSON.stringify({ groups: bl.groups.map((g) => ({ name: g.name, buddies: g.buddies.map((b) => ({ screenName: b, ...state(b) })) })), blocked: bl.blocked }));
    return;
  }
  if (bl.groups.length === 0) console.log('Your buddy list is empty: certim buddy add NAME');
  for (const g of bl.groups) {
    console.log(`${g.name} (${g.buddies.filter((b) => state(b).online).length}/${g.buddies.length})`);
    for (const b of g.buddies) {
      const s = state(b);
      console.log(`  ${s.online ? (s.away ? '~' : '*') : '-'} ${b}${s.online ? (s.away ? '  away' : s.idleMinutes ? `  idle ${s.idleMinutes} min` : '  online') : '  offline'}`);
    }
  }
  if (bl.blocked.length > 0) console.log(`Blocked: ${bl.blocked.join(', ')}`);
}

/** `certim buddy`. */
export const buddyCommand: Command = {
  summary: 'your buddy list: add, remove, groups, block',
  async run(argv) {
    let client: CertimClient | undefined;
    try {
      const { values, positionals } = parseArgs({
        args: argv,
        options: { ...COMMON_OPTIONS, group: { type: 'string' }, json: { type: 'boolean' }, 'with-buddies': { type: 'boolean' } },
        allowPositionals: true,
      });
      if (values.help) {
        console.log(USAGE);
        return 0;
      }
      const [action, ...args] = positionals;
      const name = args.join(' ');
      const needName = (what: string): void => {
        if (!name) throw new UsageError(`${what} needs a screen name\n${USAGE}`);
      };
      switch (action) {
        case 'list': break;
        case 'add': case 'remove': case 'block': case 'unblock': needName(`buddy ${action}`); break;
        case 'group':
          if (args[0] !== 'add' && args[0] !== 'remove') throw new UsageError(`buddy group needs add or remove\n${USAGE}`);
          if (args.length < 2) throw new UsageError(`buddy group ${args[0]} needs a group name\n${USAGE}`);
          break;
        default:
          throw new UsageError(action ? `unknown action '${action}'\n${USAGE}` : USAGE);
      }
      ({ client } = await connectFromProfile(values, { reconnect: false }));
      const c = client;
      switch (action) {
        case 'list':
          await list(c, values.json === true);
          break;
        case 'add':
          console.log(await addBuddy(c, name, values.group ?? DEFAULT_GROUP) ? `${name} added to "${values.group ?? DEFAULT_GROUP}"` : `${name} is already in "${values.group ?? DEFAULT_GROUP}"`);
          break;
        case 'remove': {
          const n = await removeBuddy(c, name, values.group);
          if (n === 0) throw new UsageError(`${name} is not on your buddy list${values.group ? ` in "${values.group}"` : ''} (certim buddy list shows it)`);
          console.log(`${name} removed`);
          break;
        }
        case 'block':
          console.log(await block(c, name) ? `${name} blocked: no IMs either way, and you no longer see each other online` : `${name} was already blocked`);
          break;
        case 'unblock':
          console.log(await unblock(c, name) ? `${name} unblocked` : `${name} was not blocked`);
          break;
        case 'group': {
          const group = args.slice(1).join(' ');
          if (args[0] === 'add') console.log(await addGroup(c, group) ? `group "${group}" added` : `group "${group}" already exists`);
          else {
            await removeGroup(c, group, values['with-buddies'] === true);
            console.log(`group "${group}" removed`);
          }
          break;
        }
      }
      return 0;
    } catch (e) {
      return reportError('buddy', e);
    } finally {
      client?.close();
    }
  },
};
