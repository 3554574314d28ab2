/**
 * `certim trust show BUDDY` and `certim trust verify BUDDY FINGERPRINT`: the buddy's certificates and the three
 * trust levels — CA-certified (`ca`), personally verified (`personal`), changed since last verified (`changed`).
 */
import { X509Certificate } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { decodeCertificateInfo, encryptionCert, signingCert } from '../../wire/cert-info.js';
import { formatFingerprint, parseFingerprint, trustLevel, verifyRecord, type BuddyRecord } from '../../client/trust.js';
import { ClientError } from '../../client/errors.js';
import { COMMON_OPTIONS, connectFromProfile, keyChangeWarning, profileFrom, reportError, UsageError } from './client-options.js';

const USAGE = `usage:
  certim trust show BUDDY [--refresh] [--json] [--profile DIR]
  certim trust verify BUDDY FINGERPRINT [--profile DIR]`;

const LEVEL_TEXT = {
  ca: 'CA-certified (not personally verified)',
  personal: 'personally verified',
  changed: 'KEY CHANGED since you last saw or verified it — not verified',
} as const;

type Values = { profile?: string; 'password-file'?: string; 'passphrase-file'?: string };

/** Signs on and fetches the buddy's current certificates into the cache. */
async function refresh(values: Values, buddy: string): Promise<BuddyRecord> {
  const { client, profile } = await connectFromProfile(values, { reconnect: false });
  try {
    client.on('key-change', (c) => console.error(keyChangeWarning(c)));
    const certs = await client.buddyCerts(buddy, true);
    if (!certs) throw new ClientError('NO_BUDDY_CERT', `${buddy} has not published a certificate`);
    profile.reload();
    return profile.get(buddy) ?? certs.record;
  } finally {
    client.close();
  }
}

function describe(rec: BuddyRecord): object {
  const ci = decodeCertificateInfo(Buffer.from(rec.certInfo, 'base64'));
  const certs = ([['encryption', encryptionCert(ci)], ['signing', signingCert(ci)]] as const).map(([role, der]) => {
    const c = der ? new X509Certificate(der) : undefined;
    return { role, subject: c?.subject.replace(/\n/g, ', '), issuer: c?.issuer.replace(/\n/g, ', '), serial: c?.serialNumber.toLowerCase(), notAfter: c ? new Date(c.validTo).toISOString() : undefined, sha256: role === 'encryption' ? rec.encryptionFingerprint : rec.signingFingerprint };
  });
  return { screenName: rec.screenName, trust: trustLevel(rec), fingerprint: rec.fingerprint, previousFingerprint: rec.previousFingerprint ?? null, verifiedFingerprint: rec.verifiedFingerprint ?? null, since: rec.since, modern: rec.modern ?? false, certs };
}

async function show(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, json: { type: 'boolean' }, refresh: { type: 'boolean' } }, allowPositionals: true });
  const buddy = positionals[0];
  if (!buddy) throw new UsageError(USAGE);
  const profile = profileFrom(values);
  let rec = profile.get(buddy);
  if (!rec || values.refresh) rec = await refresh(values, buddy);
  const d = describe(rec) as { certs: { role: string; subject?: string; serial?: string; notAfter?: string; sha256: string }[] };
  if (values.json) {
    console.log(JSON.stringify(d));
    return 0;
  }
  console.log(`${rec.screenName}: ${LEVEL_TEXT[trustLevel(rec)]}`);
  console.log(`  fingerprint: ${formatFingerprint(rec.fingerprint)}`);
  if (rec.previousFingerprint) console.log(`  previously:  ${formatFingerprint(rec.previousFingerprint)}`);
  for (const c of d.certs) console.log(`  ${c.role.padEnd(10)} ${c.subject ?? '-'}  serial ${c.serial ?? '-'}  expires ${c.notAfter ?? '-'}\n             sha256 ${c.sha256}`);
  console.log(`  profile: ${rec.modern ? 'modern (certim)' : 'aim-legacy'}`);
  return 0;
}

async function verify(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS }, allowPositionals: true });
  const [buddy, ...fpParts] = positionals;
  if (!buddy || fpParts.length === 0) throw new UsageError(USAGE);
  const fingerprint = parseFingerprint(fpParts.join(''));
  const profile = profileFrom(values);
  let rec = profile.get(buddy);
  if (!rec || rec.fingerprint !== fingerprint) rec = await refresh(values, buddy);
  const r = verifyRecord(rec, fingerprint);
  if (!r.ok) {
    console.error(`certim trust verify: the fingerprint does NOT match ${rec.screenName}'s current certificate.\n  you gave: ${formatFingerprint(fingerprint)}\n  current:  ${formatFingerprint(r.expected)}\nNot marked as verified.`);
    return 1;
  }
  profile.put(r.record);
  console.log(`${rec.screenName} is now personally verified (${formatFingerprint(fingerprint)}).`);
  return 0;
}

/** `certim trust`. */
export const trustCommand: Command = {
  summary: "show and verify buddies' certificates",
  async run(argv) {
    const [sub, ...rest] = argv;
    try {
      switch (sub) {
        case 'show': return await show(rest);
        case 'verify': return await verify(rest);
        case undefined:
        case '--help':
        case '-h':
          console.error(USAGE);
          return sub ? 0 : 2;
        default:
          throw new UsageError(`unknown subcommand '${sub}'\n${USAGE}`);
      }
    } catch (e) {
      return reportError(`trust ${sub ?? ''}`.trim(), e);
    }
  },
};
