/**
 * `certim keys init|show|rotate|export|import`: the user's own keys and certificates.
 */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { assertNoIdentity, existingIdentity, exportIdentityP12, importIdentityP12, importIdentityP12NewProfile, initKeys, keysSummary, profileCrl, rotateKeys, type KeysSummary } from '../../client/node/account.js';
import type { ProfileDir } from '../../client/node/profile.js';
import { parseCertificate } from '../../pki/x509-parse.js';
import { fromPem } from '../../pki/asn1/der.js';
import { describeCrlState } from '../../client/revocation.js';
import { formatFingerprint, isSha256Fingerprint } from '../../client/trust.js';

import { COMMON_OPTIONS, connectFromProfile, keySizeFrom, profileFrom, promptLine, readPassphrase, readPassword, reportError, UsageError } from './client-options.js';

const USAGE = `usage:
  certim keys init --server HOST[:PORT] --user NAME [--https URL] [--ca-fingerprint FINGERPRINT] [--force] [--profile DIR]
  certim keys show [--json] [--profile DIR]
  certim keys rotate [--profile DIR]
  certim keys export --p12 FILE [--legacy] [--profile DIR]
  certim keys import FILE [--profile DIR]
  certim keys import FILE --server HOST[:PORT] [--https URL] [--ca-fingerprint FINGERPRINT] [--profile DIR]
PORT is the server's OSCAR-over-TLS port (default 5191); --https is the EST URL (default https://HOST:8443).
--ca-fingerprint: the CA root's SHA-256 fingerprint from the server's admin (\`certim admin ca show\`), as shown
  there (groups of four, in quotes) or as plain hex; spaces, colons and case do not matter. Without it, init shows
  the fingerprint and asks. Text output shows fingerprints in groups of four; --json gives plain lowercase hex.
import with --server makes a new profile from the file (e.g. exported by the web client) instead of enrolling:
  the CA is pinned as for init, the screen name is the certificates', and the file's password becomes the key
  passphrase. Without --server, import goes into an existing profile.
init refuses to replace existing keys unless --force (the old files go to backup-<time>/ in the profile).
rotate and init --force enroll new certificates; the server revokes the ones they replace (reason superseded).
import says which identity it replaces and keeps a backup of it.
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
      force: { type: 'boolean' },
    },
  });
  if (!values.server || !values.user) throw new UsageError(`keys init needs --server and --user\n${USAGE}`);
  if (values['ca-fingerprint'] !== undefined && !isSha256Fingerprint(values['ca-fingerprint'])) {
    throw new UsageError(`--ca-fingerprint ${JSON.stringify(values['ca-fingerprint'])} is not a SHA-256 fingerprint (64 hex digits). ` +
      'Copy the whole SHA-256 line of `certim admin ca show` from the server\'s admin, in quotes: --ca-fingerprint "3F2A 9C01 ..." (spaces, colons and case do not matter)');
  }
  const profile = profileFrom(values);
  // Before any prompt or network: an existing identity is not replaced by accident.
  assertNoIdentity(profile, values.force);
  const replaced = existingIdentity(profile);
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
    confirmCa: askToTrustCa,
    ...(keySize ? { keySize } : {}),
    ...(values.plain ? { plain: true } : {}),
    ...(values.force ? { force: true } : {}),
  });
  if (replaced) console.error(`certim keys init: replaced the identity ${formatFingerprint(replaced.fingerprint)} (old files kept in a backup-* directory of the profile); the server revokes its certificates as superseded.`);
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
  console.log(`CA fingerprint: ${formatFingerprint(settings.caFingerprint)} (pinned)`);
  console.log(`Your fingerprint: ${formatFingerprint(summary.fingerprint)}`);
  console.log(`Keys enrolled${published ? ' and published' : ''}, stored encrypted. Buddies can verify you with the fingerprint above.`);
  return 0;
}

async function show(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, json: { type: 'boolean' } } });
  const profile = profileFrom(values);
  const s = keysSummary(profile);
  // Our own certificates against the CA's revocation list (fetched when the server can be reached).
  const crl = profileCrl(profile);
  const state = await crl.state();
  const revoked = new Map<string, string>();
  for (const role of ['encryption', 'signing'] as const) {
    const pem = profile.read(`${role}.crt`);
    const der = pem ? fromPem(pem).find((b) => b.label === 'CERTIFICATE')?.der : undefined;
    const r = der && state.crl ? crl.lookup(parseCertificate(der)) : undefined;
    if (r) revoked.set(role, `REVOKED on ${r.revokedAt.toISOString()} (reason ${r.reason})`);
  }
  if (values.json) {
    console.log(JSON.stringify({ ...s, certs: s.certs.map((c) => ({ ...c, revoked: revoked.get(c.role) ?? null })), crl: state.status }));
    return 0;
  }
  console.log(`Screen name:      ${s.screenName}`);
  console.log(`Server:           ${s.server}`);
  console.log(`CA fingerprint:   ${formatFingerprint(s.caFingerprint)}`);
  console.log(`Your fingerprint: ${formatFingerprint(s.fingerprint)}`);
  for (const c of s.certs) {
    console.log(`  ${c.role.padEnd(10)} RSA-${c.keyBits ?? '?'}  serial ${c.serial}  expires ${c.notAfter}${revoked.has(c.role) ? `  ${revoked.get(c.role)}` : ''}\n             sha256 ${formatFingerprint(c.fingerprint)}`);
  }
  if (revoked.size > 0) console.log('Your certificates were revoked: you cannot send or receive secure IMs. Enroll new keys with your password: certim keys init --force');
  else if (state.status !== 'fresh') console.log(`Revocation status: ${describeCrlState(state)}`);
  return 0;
}

async function rotate(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, 'key-size': { type: 'string' } } });
  const profile = profileFrom(values);
  const old = keysSummary(profile);
  const before = old.fingerprint;
  const passphrase = await readPassphrase(values);
  const keySize = keySizeFrom(values['key-size']);
  await rotateKeys(profile, passphrase, keySize ? { keySize } : {});
  const after = keysSummary(profile).fingerprint;
  const revoked = await supersededStatus(profile, old);
  // Publish the new certificates now, so buddies who message us while we are offline encrypt to the new key.
  try {
    const { client } = await connectFromProfile(values, { reconnect: false, secrets: { passphrase } });
    client.close();
  } catch (e) {
    console.error(`certim keys rotate: the new certificates are enrolled but not yet published (${(e as Error).message}); they will be at your next sign-on.`);
  }
  console.log(`Keys rotated.\n  old fingerprint: ${formatFingerprint(before)}\n  new fingerprint: ${formatFingerprint(after)}`);
  for (const r of revoked) console.log(`  old ${r.role} certificate ${r.serial}: ${r.status}`);
  console.log('Your buddies will see a key-change warning; tell them the new fingerprint.');
  return 0;
}

/** Whether the server's CRL now lists the replaced certificates (it revokes them as superseded at enrollment). */
async function supersededStatus(profile: ProfileDir, old: KeysSummary): Promise<{ role: string; serial: string; status: string }[]> {
  const crl = profileCrl(profile);
  const state = await crl.state(true);
  const out: { role: string; serial: string; status: string }[] = [];
  for (const role of ['encryption', 'signing'] as const) {
    const pem = profile.read(`previous-${role}.crt`);
    const der = pem ? fromPem(pem).find((b) => b.label === 'CERTIFICATE')?.der : undefined;
    const serial = old.certs.find((c) => c.role === role)?.serial ?? '?';
    const r = der && state.crl ? crl.lookup(parseCertificate(der)) : undefined;
    out.push({ role, serial, status: r ? `revoked (${r.reason}) on ${r.revokedAt.toISOString()}` : state.crl ? 'NOT yet on the CRL (ask the admin: certim admin cert revoke SERIAL --reason superseded)' : 'revocation not checked: the CRL could not be fetched' });
  }
  return out;
}

async function exportCmd(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, p12: { type: 'string' }, legacy: { type: 'boolean' } } });
  if (!values.p12) throw new UsageError('keys export needs --p12 FILE');
  const passphrase = await readPassphrase(values);
  await exportIdentityP12(profileFrom(values), passphrase, values.p12, values.legacy === true);
  console.log(`Wrote ${values.p12} (protected with your key passphrase).`);
  return 0;
}

/** First contact with a CA (init, import --server) without --ca-fingerprint: shows the fingerprint and asks. */
async function askToTrustCa(fp: string): Promise<boolean> {
  console.error(`The server's CA root fingerprint (SHA-256) is:\n  ${formatFingerprint(fp)}\nCompare it with the one the server's admin gave you (\`certim admin ca show\`).`);
  return /^y(es)?$/i.test(await promptLine('Trust this CA? [y/N] '));
}

async function importCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...COMMON_OPTIONS, server: { type: 'string' }, https: { type: 'string' }, 'ca-fingerprint': { type: 'string' } },
    allowPositionals: true,
  });
  const file = positionals[0];
  if (!file) throw new UsageError('keys import needs a FILE (.p12)');
  const profile = profileFrom(values);
  if (values.server !== undefined) {
    if (profile.exists()) throw new UsageError(`${profile.dir} is already a profile: import into it without --server`);
    const passphrase = await readPassphrase(values);
    const { settings } = await importIdentityP12NewProfile({
      profile, server: values.server, passphrase, file,
      ...(values.https ? { https: values.https } : {}),
      ...(values['ca-fingerprint'] ? { caFingerprint: values['ca-fingerprint'] } : {}),
      confirmCa: askToTrustCa,
    });
    const now = keysSummary(profile);
    console.log(`Imported ${file} into a new profile ${profile.dir}: ${settings.screenName} on ${settings.server}, CA ${formatFingerprint(settings.caFingerprint)} (pinned), identity ${formatFingerprint(now.fingerprint)}.`);
    return 0;
  }
  if (values['ca-fingerprint'] !== undefined || values.https !== undefined) throw new UsageError('--https and --ca-fingerprint go with --server (a new profile)');
  const passphrase = await readPassphrase(values);
  const replaced = existingIdentity(profile);
  await importIdentityP12(profile, passphrase, file);
  const now = keysSummary(profile);
  if (replaced && replaced.fingerprint !== now.fingerprint) {
    console.log(`Imported ${file}: it REPLACES ${replaced.screenName}'s identity ${formatFingerprint(replaced.fingerprint)} (serials ${replaced.certs.map((c) => c.serial).join(', ')}) with ${formatFingerprint(now.fingerprint)}.\nThe old files are kept in a backup-* directory of ${profile.dir}; buddies will see a key change at your next sign-on.`);
  } else if (replaced) {
    console.log(`Imported ${file}: the same identity ${formatFingerprint(now.fingerprint)} as before.`);
  } else {
    console.log(`Imported ${file}: identity ${formatFingerprint(now.fingerprint)}.`);
  }
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
        case 'show': return await show(rest);
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
