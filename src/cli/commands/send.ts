/**
 * `certim send BUDDY TEXT`: one-shot secure IM. Signs on, encrypts to the buddy's verified certificate, waits for
 * the server's ack, signs off, and says whether the IM was delivered or stored for an offline buddy (a long text
 * goes as parts, docs/protocol.md §3.4). `-` as TEXT reads the text from stdin. Exits non-zero with the reason
 * when the IM could not be sent securely (plaintext only with --allow-plaintext, an explicit choice for this
 * message) or was refused (no such user, blocked, queue full), and refuses an empty message.
 */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { ClientError } from '../../client/errors.js';
import { formatFingerprint } from '../../client/trust.js';
import { COMMON_OPTIONS, connectFromProfile, keyChangeWarning, reportError, UsageError } from './client-options.js';
import { deliveryWords, readStdinText } from './send-text.js';

const USAGE = `usage: certim send BUDDY TEXT [--allow-plaintext] [--legacy] [--json] [--profile DIR]
  TEXT '-' reads the message from stdin. A long message goes as several IMs that certim joins again.
  Prints whether the IM was delivered or stored for BUDDY (offline); exits 1 when it was refused.
  Exits 1 without sending when BUDDY's certificate is revoked, its revocation status cannot be checked, or a key
  you personally verified changed (certim trust verify / certim trust accept). --legacy sends the aim-legacy
  profile (MD5, no replay or recipient binding) even to a buddy pinned to the modern profile.`;

/** `certim send`. */
export const sendCommand: Command = {
  summary: 'send one end-to-end encrypted IM',
  async run(argv) {
    let client;
    try {
      const { values, positionals } = parseArgs({
        args: argv,
        options: { ...COMMON_OPTIONS, 'allow-plaintext': { type: 'boolean' }, legacy: { type: 'boolean' }, json: { type: 'boolean' } },
        allowPositionals: true,
      });
      if (values.help) {
        console.error(USAGE);
        return 0;
      }
      const [buddy, ...words] = positionals;
      if (!buddy || words.length === 0) throw new UsageError(USAGE);
      const text = words.length === 1 && words[0] === '-' ? await readStdinText() : words.join(' ');
      if (text.trim() === '') throw new UsageError('nothing to send: the message is empty');
      ({ client } = await connectFromProfile(values, { reconnect: false }));
      client.on('key-change', (c) => console.error(keyChangeWarning(c)));
      // Downgrade notes come back with the result; other warnings (a stale CRL in its grace period) are printed.
      client.on('warning', (w) => {
        if (w.code !== 'DOWNGRADE') console.error(`certim send: ${w.message}`);
      });
      const r = await client.sendIm(buddy, text, { allowPlaintext: values['allow-plaintext'] === true, forceLegacy: values.legacy === true });
      for (const n of r.notes ?? []) console.error(`certim send: ${n}`);
      if (values.json) {
        console.log(JSON.stringify({
          to: buddy, secure: r.secure, profile: r.profile ?? null, legacy: r.profile === 'aim-legacy', trust: r.trust ?? null,
          fingerprint: r.fingerprint ?? null, keyChanged: r.keyChange !== undefined, notes: r.notes ?? [], delivery: r.delivery, parts: r.parts,
        }));
      } else if (r.secure) {
        console.log(`sent to ${buddy}: encrypted and signed (${r.profile === 'aim-legacy' ? 'aim-legacy: weak MD5 digest, no replay or recipient binding' : r.profile}), recipient ${r.trust === 'personal' ? 'personally verified' : r.trust === 'changed' ? 'KEY CHANGED' : 'CA-certified'} ${formatFingerprint(r.fingerprint ?? '')} — ${deliveryWords(buddy, r)}`);
      } else {
        console.log(`sent to ${buddy}: NOT ENCRYPTED (you allowed plaintext) — ${deliveryWords(buddy, r)}`);
      }
      return 0;
    } catch (e) {
      const code = reportError('send', e);
      if (ClientError.is(e, 'PLAINTEXT_REFUSED')) console.error('certim send: to send it unencrypted anyway (anyone on the way can read it), add --allow-plaintext');
      return code;
    } finally {
      client?.close();
    }
  },
};
