/**
 * `certim keys init|show|rotate|export|import`: the user's own keys and certificates (issue 6, CLI).
 */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { exportIdentityP12, importIdentityP12, initKeys, keysSummary, rotateKeys } from '../../client/node/account.js';
import { formatFingerprint } from '../../client/trust.js';

import { COMMON_OPTIONS, connectFromProfile, keySizeFrom, profileFrom, promptLine, readPassphrase, readPassword, reportError, UsageError } from './client-options.js';

const USAGE = `usage:
  certim keys init --server HOST[:PORT] --user NAME [--https URL] [--ca-fingerprint HEX] [--profile DIR]
  certim keys show [--json] [--profile DIR]
  certim keys rotate [--profile DIR]
  certim keys export --p12 FILE [--legacy] [--profile DIR]
  certim keys import FILE [--profile DIR]
PORT is the server's OSCAR-over-TLS port (default 5191); --https is the EST URL (default https://HOST:8443).
Secrets: CERTIM_PASSWORD / --password-file, CERTIM_PASSPHRASE / --passphrase-file, else a prompt.
export --legacy: 3DES/SHA-1 PKCS#12 for classic clients (AIM 5.x, joscar/joustsim), with your two key pairs and
  the server's CA certificates. Classic clients trust a buddy's certificate only when a certificate you trust
  signed it DIRECTLY (no chain building): in the classic client, trust the server's ISSUING CA certificate
  ("certim Issuing CA (...)", in the file and at HTTPS /.well-known/est/cacerts), not only the root, or every certim
  buddy shows as untrusted. Compare its fingerprint with the one your server's admin gives you.`;

async function init(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...COMMON_OPTIONS,
      server: { type: 'string' },
      user: { type: 'string' },
      https: { type: 'string' },
      'ca-fingerprint': { type: 'string' },
      'key-size': { type: 'string' },
      plain: { type: 'boolean' },
    },
  });
  if (!values.server || !values.user) throw new UsageError(`keys init needs --server and --user\n${USAGE}`);
  const profile = profileFrom(values);
  const password = await readPassword(values, values.user);
  const passphrase = await readPassphrase(values, true);
  const keySize = keySizeFrom(values['key-size']);
  console.error(`Generating ${keySize ?? 3072}-bit RSA encryption and signing keys for ${values.user}...`);
  const { settings } = await initKeys({
    profile,
    screenName: values.user,
    server: values.server,
    ...(values.https ? { https: values.https } : {}),
    password,
    passphrase,
    ...(values['ca-fingerprint'] ? { caFingerprint: values['ca-fingerprint'] } : {}),
    confirmCa: async (fp) => {
      console.error(`The server's CA root fingerprint (SHA-256) is:\n  ${formatFingerprint(fp)}\nCompare it with the one the server's admin gave you (\`certim admin ca show\`).`);
      const answer = await promptLine('Trust this CA? [y/N] ');
      return /^y(es)?$/i.test(answer);
    },
    ...(keySize ? { keySize } : {}),
    ...(values.plain ? { plain: true } : {}),
  });
  // Sign on once to publish the certificates, so buddies can send us secure IMs even while we are offline.
  let published = true;
  try {
    const { client } = await connectFromProfile(values, { reconnect: false, secrets: { password, passphrase } });
    client.close();
  } catch (e) {
    published = false;
    console.error(`certim keys init: keys enrolled, but publishing them failed (${(e as Error).message}); they will be published at your next sign-on.`);
  }
  const summary = keysSummary(profile);
  console.log(`Profile:        ${profile.dir}`);
  console.log(`Screen name:    ${settings.screenName}`);
  console.log(`Server:         ${settings.server} (EST ${settings.https})`);
  console.log(`CA fingerprint: ${settings.caFingerprint} (pinned)`);
  console.log(`Your fingerprint: ${formatFingerprint(summary.fingerprint)}`);
  console.log(`Keys enrolled${published ? ' and published' : ''}, stored encrypted. Buddies can verify you with the fingerprint above.`);
  return 0;
}

function show(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, json: { type: 'boolean' } } });
  const s = keysSummary(profileFrom(values));
  if (values.json) {
    console.log(JSON.stringify(s));
    return 0;
  }
  console.log(`Screen name:      ${s.screenName}`);
  console.log(`Server:           ${s.server}`);
  console.log(`CA fingerprint:   ${s.caFingerprint}`);
  console.log(`Your fingerprint: ${formatFingerprint(s.fingerprint)}`);
  for (const c of s.certs) {
    console.log(`  ${c.role.padEnd(10)} RSA-${c.keyBits ?? '?'}  serial ${c.serial}  expires ${c.notAfter}\n             sha256 ${c.fingerprint}`);
  }
  return 0;
}

async function rotate(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, 'key-size': { type: 'string' } } });
  const profile = profileFrom(values);
  const before = keysSummary(profile).fingerprint;
  const passphrase = await readPassphrase(values);
  const keySize = keySizeFrom(values['key-size']);
  await rotateKeys(profile, passphrase, keySize ? { keySize } : {});
  const after = keysSummary(profile).fingerprint;
  // Publish the new certificates now, so buddies who message us while we are offline encrypt to the new key.
  try {
    const { client } = await connectFromProfile(values, { reconnect: false, secrets: { passphrase } });
    client.close();
  } catch (e) {
    console.error(`certim keys rotate: the new certificates are enrolled but not yet published (${(e as Error).message}); they will be at your next sign-on.`);
  }
  console.log(`Keys rotated.\n  old fingerprint: ${formatFingerprint(before)}\n  new fingerprint: ${formatFingerprint(after)}`);
  console.log('Your buddies will see a key-change warning; tell them the new fingerprint.');
  return 0;
}

async function exportCmd(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, p12: { type: 'string' }, legacy: { type: 'boolean' } } });
  if (!values.p12) throw new UsageError('keys export needs --p12 FILE');
  const passphrase = await readPassphrase(values);
  await exportIdentityP12(profileFrom(values), passphrase, values.p12, values.legacy === true);
  console.log(`Wrote ${values.p12} (protected with your key passphrase).`);
  return 0;
}

async function importCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS }, allowPositionals: true });
  const file = positionals[0];
  if (!file) throw new UsageError('keys import needs a FILE (.p12)');
  const passphrase = await readPassphrase(values);
  await importIdentityP12(profileFrom(values), passphrase, file);
  console.log(`Imported ${file}.`);
  return 0;
}

/** `certim keys`. */
export const keysCommand: Command = {
  summary: 'create, show, rotate, export and import your keys',
  async run(argv) {
    const [sub, ...rest] = argv;
    try {
      switch (sub) {
        case 'init': return await init(rest);
        case 'show': return show(rest);
        case 'rotate': return await rotate(rest);
        case 'export': return await exportCmd(rest);
        case 'import': return await importCmd(rest);
        case undefined:
        case '--help':
        case '-h':
        case 'help':
          console.error(USAGE);
          return sub ? 0 : 2;
        default:
          throw new UsageError(`unknown subcommand '${sub}'\n${USAGE}`);
      }
    } catch (e) {
      return reportError(`keys ${sub ?? ''}`.trim(), e);
    }
  },
};
