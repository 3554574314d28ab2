/**
 * `certim trust show BUDDY` and `certim trust verify BUDDY FINGERPRINT`: the buddy's certificates and the three
 * trust levels — CA-certified (`ca`), personally verified (`personal`), changed since last verified (`changed`).
 */
import { X509Certificate } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { decodeCertificateInfo, encryptionCert, signingCert } from '../../wire/cert-info.js';
import { acceptRecord, formatFingerprint, isSha256Fingerprint, parseFingerprint, trustLevel, verifyRecord, type BuddyRecord } from '../../client/trust.js';
import { ClientError } from '../../client/errors.js';
import { profileCrl } from '../../client/node/account.js';
import type { ProfileDir } from '../../client/node/profile.js';
import { describeCrlState, type CrlState } from '../../client/revocation.js';
import { parseCertificate } from '../../pki/x509-parse.js';
import { COMMON_OPTIONS, connectFromProfile, keyChangeWarning, profileFrom, reportError, UsageError } from './client-options.js';

const USAGE = `usage:
  certim trust show BUDDY [--refresh] [--json] [--profile DIR]
  certim trust verify BUDDY FINGERPRINT [--profile DIR]
  certim trust accept BUDDY [--profile DIR]
show also checks the certificates against the CA's revocation list (fetched over HTTPS, kept in the profile).
accept takes a changed key WITHOUT verifying it (the buddy drops to CA-certified); prefer verify.
FINGERPRINT: the 64 hex digits your buddy reads from \`certim keys show\`, typed as shown (groups of four) or
without spaces; spaces, colons and case do not matter. --json output gives fingerprints as plain lowercase hex.`;

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
  return { screenName: rec.screenName, trust: trustLevel(rec), fingerprint: rec.fingerprint, previousFingerprint: rec.previousFingerprint ?? null, verifiedFingerprint: rec.verifiedFingerprint ?? null, since: rec.since, modern: rec.modern ?? false, modernSince: rec.modernSince ?? null, certs };
}

/** One revoked certificate of a buddy, as `trust show` reports it. */
interface RevokedCert {
  role: string;
  serial: string;
  revokedAt: string;
  reason: string;
}

/** Checks the buddy's cached certificates against the CRL (refreshed over HTTPS when possible). */
async function revocationOf(profile: ProfileDir, rec: BuddyRecord): Promise<{ state: CrlState; revoked: RevokedCert[] }> {
  const crl = profileCrl(profile);
  const state = await crl.state(true);
  const ci = decodeCertificateInfo(Buffer.from(rec.certInfo, 'base64'));
  const revoked: RevokedCert[] = [];
  for (const [role, der] of [['encryption', encryptionCert(ci)], ['signing', signingCert(ci)]] as const) {
    if (!der || state.status === 'unavailable') continue;
    const r = crl.lookup(parseCertificate(der));
    if (r) revoked.push({ role, serial: r.serial, revokedAt: r.revokedAt.toISOString(), reason: r.reason });
  }
  return { state, revoked };
}

async function show(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, json: { type: 'boolean' }, refresh: { type: 'boolean' } }, allowPositionals: true });
  const buddy = positionals[0];
  if (!buddy) throw new UsageError(USAGE);
  const profile = profileFrom(values);
  let rec = profile.get(buddy);
  if (!rec || values.refresh) rec = await refresh(values, buddy);
  const d = describe(rec) as { certs: { role: string; subject?: string; serial?: string; notAfter?: string; sha256: string }[] };
  const { state, revoked } = await revocationOf(profile, rec);
  const status = revoked.length > 0 ? 'revoked' : state.status === 'unavailable' ? 'revocation-unknown' : 'valid';
  if (values.json) {
    console.log(JSON.stringify({
      ...d, status, revoked,
      crl: { status: state.status, thisUpdate: state.thisUpdate?.toISOString() ?? null, nextUpdate: state.nextUpdate?.toISOString() ?? null, failClosedAt: state.failClosedAt?.toISOString() ?? null, lastError: state.lastError ?? null },
    }));
    return 0;
  }
  if (revoked.length > 0) {
    for (const r of revoked) console.log(`${rec.screenName}: REVOKED — the ${r.role} certificate (serial ${r.serial}) was revoked on ${r.revokedAt}, reason ${r.reason}. certim sends nothing to it and trusts no signature made with it.`);
  } else if (state.status === 'unavailable') {
    console.log(`${rec.screenName}: REVOCATION STATUS UNKNOWN (${describeCrlState(state)}); certim will not use this certificate until the revocation list can be fetched.`);
  }
  console.log(`${rec.screenName}: ${LEVEL_TEXT[trustLevel(rec)]}`);
  console.log(`  fingerprint: ${formatFingerprint(rec.fingerprint)}`);
  if (rec.previousFingerprint) console.log(`  previously:  ${formatFingerprint(rec.previousFingerprint)}`);
  for (const c of d.certs) console.log(`  ${c.role.padEnd(10)} ${c.subject ?? '-'}  serial ${c.serial ?? '-'}  expires ${c.notAfter ?? '-'}\n             sha256 ${c.sha256 ? formatFingerprint(c.sha256) : '-'}`);
  console.log(`  profile: ${rec.modernSince ? `modern (certim), pinned since ${rec.modernSince}` : rec.modern ? 'modern (certim)' : 'aim-legacy (weak MD5 digest, no replay or recipient binding)'}`);
  console.log(`  revocation: ${describeCrlState(state)}`);
  return 0;
}

async function accept(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS }, allowPositionals: true });
  const buddy = positionals[0];
  if (!buddy || positionals.length > 1) throw new UsageError(USAGE);
  const profile = profileFrom(values);
  const rec = profile.get(buddy);
  if (!rec) throw new ClientError('NO_BUDDY_CERT', `no certificate of ${buddy} is known yet: run certim trust show ${buddy} --refresh`);
  const next = acceptRecord(rec);
  if (!next) {
    console.log(`${rec.screenName}'s key has not changed; nothing to accept.`);
    return 0;
  }
  profile.put(next);
  console.log(`Accepted ${rec.screenName}'s new key ${formatFingerprint(rec.fingerprint)} WITHOUT verifying it (now CA-certified, not personally verified).\nCheck it with ${rec.screenName} and run: certim trust verify ${rec.screenName} ${formatFingerprint(rec.fingerprint)}`);
  return 0;
}

async function verify(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS }, allowPositionals: true });
  const [buddy, ...fpParts] = positionals;
  if (!buddy || fpParts.length === 0) throw new UsageError(USAGE);
  if (!isSha256Fingerprint(fpParts.join(''))) {
    throw new UsageError(`'${fpParts.join(' ')}' is not a fingerprint: give the 64 hex digits ${buddy} reads from \`certim keys show\` (groups of four as shown there, or without spaces)`);
  }
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
        case 'accept': return await accept(rest);
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
