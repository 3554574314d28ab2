/**
 * `certim listen [--json] [--count N]`: signs on and prints incoming IMs with their security verdict. With
 * --json, exactly one JSON object per IM on stdout: from, text, secure, verdict, trust, reason (and code,
 * profile, time, offline). Status and key-change warnings go to stderr. Exits after N IMs when --count is given.
 */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import type { CertimClient, IncomingIm } from '../../client/client.js';
import type { ProfileDir } from '../../client/node/profile.js';
import { COMMON_OPTIONS, connectFromProfile, keyChangeWarning, reportError, UsageError } from './client-options.js';

const USAGE = 'usage: certim listen [--json] [--count N] [--profile DIR]';

/** The one-line human form of an IM with its verdict marker. */
export function formatIm(m: IncomingIm): string {
  const t = m.time.toISOString().replace('T', ' ').slice(0, 19);
  const mark = !m.secure ? '[PLAINTEXT]' : m.verdict === 'verified' ? (m.trust === 'personal' ? '[secure, verified]' : m.trust === 'changed' ? '[secure, KEY CHANGED]' : '[secure]') : m.verdict === 'untrusted' ? '[UNTRUSTED]' : '[FAILED]';
  const body = m.verdict === 'failed' ? `(message rejected: ${m.reason})` : m.text;
  return `${t} ${m.to !== undefined ? `${m.from} -> ${m.to}` : m.from} ${mark}${m.offline ? ' (offline)' : ''}: ${body}${m.verdict === 'untrusted' && m.secure ? `  (${m.reason})` : ''}`;
}

/** `certim listen`. */
export const listenCommand: Command = {
  summary: 'print incoming IMs with their security verdict',
  async run(argv) {
    let client;
    try {
      const { values } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, json: { type: 'boolean' }, count: { type: 'string' } } });
      if (values.help) {
        console.error(USAGE);
        return 0;
      }
      const count = values.count === undefined ? undefined : Number(values.count);
      if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw new UsageError(`--count must be a positive integer\n${USAGE}`);
      let seen = 0;
      let finished = false;
      let resolveDone!: (code: number) => void;
      const done = new Promise<number>((resolve) => {
        resolveDone = resolve;
      });
      const setup = (c: CertimClient, profile: ProfileDir): void => {
        c.on('im', (m) => {
          if (values.json) {
            console.log(JSON.stringify({ from: m.from, text: m.text, secure: m.secure, verdict: m.verdict, trust: m.trust, reason: m.reason, code: m.code, profile: m.profile ?? null, time: m.time.toISOString(), offline: m.offline, ...(m.to !== undefined ? { to: m.to } : {}) }));
          } else {
            console.log(formatIm(m));
          }
          seen++;
          if (count !== undefined && seen >= count) {
            // Anything after the Nth IM stays in the profile's inbox for the next listen, not lost.
            c.spoolTo((body, at) => profile.spoolSave(body, at));
            resolveDone(0);
          }
        });
        c.on('key-change', (k) => console.error(keyChangeWarning(k)));
        c.on('warning', (w) => console.error(`certim listen: ${w.message}`));
        c.on('disconnected', ({ willReconnect }) => console.error(`certim listen: disconnected${willReconnect ? '; reconnecting' : ''}`));
        c.on('signed-off', ({ reason }) => {
          if (finished) return;
          console.error(`certim listen: signed off: ${reason}`);
          resolveDone(1);
        });
      };
      const stop = (): void => resolveDone(0);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const connected = await connectFromProfile(values, { reconnect: true, consume: true, setup });
      client = connected.client;
      const c = client;
      c.on('signed-on', ({ screenName }) => console.error(`certim listen: signed on again as ${screenName}`));
      console.error(`certim listen: signed on as ${c.screenName}; waiting for IMs`);
      const code = await done;
      finished = true;
      // Let stdout drain before exiting.
      await new Promise<void>((r) => process.stdout.write('', () => r()));
      return code;
    } catch (e) {
      return reportError('listen', e);
    } finally {
      client?.close();
    }
  },
};
