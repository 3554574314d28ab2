/**
 * `certim admin cert list|revoke`: issued user certificates, through the CA ledger the caller opened (the store's
 * SQL ledger). Revocation is recorded in the ledger; the server's CA rebuilds its CRL when the revoked set changes.
 *
 *   certim admin cert list SCREENNAME [--json]
 *   certim admin cert revoke SERIAL [--reason REASON]
 */
import type { CertificateLedger } from '../../pki/ledger.js';
import { isRevocationReason, REASON_CODES } from '../../pki/crl.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { normalizeSerial } from '../../pki/ca.js';

/** Where output goes; tests pass their own. */
export interface AdminCertIo {
  /** Results. */
  out: (line: string) => void;
  /** Errors. */
  err: (line: string) => void;
  /** Clock. */
  now: () => Date;
}

const defaultIo: AdminCertIo = { out: (l) => console.log(l), err: (l) => console.error(l), now: () => new Date() };

/** Usage text. */
export const ADMIN_CERT_USAGE = `usage:
  certim admin cert list SCREENNAME [--json]
  certim admin cert revoke SERIAL [--reason REASON]
reasons: ${Object.keys(REASON_CODES).join(', ')} (default unspecified)
options: --data-dir DIR, --db URL (which store holds the certificate ledger)`;

/** Runs `certim admin cert ...` (argv after `cert`, store flags already removed except --data-dir). */
export async function runAdminCert(argv: readonly string[], ledger: CertificateLedger, io: AdminCertIo = defaultIo): Promise<number> {
  const args: string[] = [];
  let json = false;
  let reason = 'unspecified';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--data-dir') i++; // consumed by the dispatcher
    else if (a === '--json') json = true;
    else if (a === '--reason') reason = argv[++i] ?? '';
    else if (a.startsWith('--reason=')) reason = a.slice(9);
    else args.push(a);
  }
  const [sub, target, extra] = args;
  if (sub === 'list' && target !== undefined && extra === undefined) {
    const recs = await ledger.listByScreenName(normalizeScreenName(target));
    if (json) {
      io.out(JSON.stringify(recs.map((r) => ({
        serial: r.serial, screenName: r.screenName, purpose: r.purpose, notBefore: r.notBefore.toISOString(),
        notAfter: r.notAfter.toISOString(), fingerprint: r.fingerprint, revokedAt: r.revokedAt?.toISOString() ?? null,
        revocationReason: r.revocationReason ?? null,
      })), null, 2));
      return 0;
    }
    if (recs.length === 0) {
      io.out(`no certificates issued to ${normalizeScreenName(target)}`);
      return 0;
    }
    const now = io.now();
    for (const r of recs) {
      const status = r.revokedAt ? `revoked ${r.revokedAt.toISOString()} (${r.revocationReason ?? 'unspecified'})`
        : r.notAfter < now ? 'expired' : 'valid';
      io.out(`${r.serial}  ${r.purpose.padEnd(10)}  ${r.notBefore.toISOString().slice(0, 10)} .. ${r.notAfter.toISOString().slice(0, 10)}  ${status}`);
    }
    return 0;
  }
  if (sub === 'revoke' && target !== undefined && extra === undefined) {
    if (!isRevocationReason(reason)) {
      io.err(`certim admin cert: unknown reason '${reason}'\n${ADMIN_CERT_USAGE}`);
      return 2;
    }
    let serial: string;
    try {
      serial = normalizeSerial(target);
    } catch (_e) {
      io.err(`certim admin cert: '${target}' is not a hex serial number`);
      return 2;
    }
    if (!(await ledger.revoke(serial, reason, io.now()))) {
      io.err(`certim admin cert: no certificate with serial ${serial}`);
      return 1;
    }
    io.out(`revoked ${serial} (${reason}); the CRL picks it up at the next request`);
    return 0;
  }
  io.err(sub === '--help' || sub === 'help' ? ADMIN_CERT_USAGE : `certim admin cert: bad arguments\n${ADMIN_CERT_USAGE}`);
  return sub === '--help' || sub === 'help' ? 0 : 2;
}
