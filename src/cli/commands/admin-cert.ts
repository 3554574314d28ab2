/**
 * `certim admin cert list|revoke`: issued user certificates, through the CA ledger the caller opened (the store's
 * SQL ledger). Revocation goes to the running server when there is one (admin socket: the CA marks the serial,
 * the CRL is rebuilt, and the owner's published certificate block is withdrawn from Locate at once); with no
 * server it is recorded in the ledger directly and the stored block withdrawn, and the next start serves both.
 *
 *   certim admin cert list [SCREENNAME] [--json]
 *   certim admin cert revoke SERIAL [--reason REASON]
 */
import type { ControlOutcome } from './admin-control.js';
import type { RevokeResult } from '../../server/admin/admin-protocol.js';
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

/** How revocation reaches a running server, and the no-server fallback's withdrawal (admin.ts supplies both). */
export interface AdminCertHooks {
  /** Sends the revocation to the running server. */
  revokeLive?: (serial: string, reason: string) => Promise<ControlOutcome>;
  /** With no server: clears the owner's stored cert-info block if it carries the serial; true when it did. */
  withdraw?: (screenName: string, serial: string) => Promise<boolean>;
}

/** Most certificates `list` prints without a screen name. */
const LIST_ALL_LIMIT = 1000;

/** Usage text. */
export const ADMIN_CERT_USAGE = `usage:
  certim admin cert list [SCREENNAME] [--json]   one user's certificates, or every user's (newest first)
  certim admin cert revoke SERIAL [--reason REASON]
    on a running server it takes effect at once: CRL, and the owner's published certificates withdrawn
reasons: ${Object.keys(REASON_CODES).join(', ')} (default unspecified)
options: --data-dir DIR, --db URL (which store holds the certificate ledger)`;

/** Runs `certim admin cert ...` (argv after `cert`, store flags already removed except --data-dir). */
export async function runAdminCert(argv: readonly string[], ledger: CertificateLedger, io: AdminCertIo = defaultIo, hooks: AdminCertHooks = {}): Promise<number> {
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
  if (sub === 'list' && extra === undefined) {
    // Without a screen name: every user's certificates (the server's own TLS certificates are left out).
    const recs = target !== undefined
      ? await ledger.listByScreenName(normalizeScreenName(target))
      : (await ledger.listAll(LIST_ALL_LIMIT)).filter((r) => r.purpose !== 'tls-server');
    if (json) {
      io.out(JSON.stringify(recs.map((r) => ({
        serial: r.serial, screenName: r.screenName, purpose: r.purpose, notBefore: r.notBefore.toISOString(),
        notAfter: r.notAfter.toISOString(), fingerprint: r.fingerprint, revokedAt: r.revokedAt?.toISOString() ?? null,
        revocationReason: r.revocationReason ?? null,
      })), null, 2));
      return 0;
    }
    if (recs.length === 0) {
      io.out(target !== undefined ? `no certificates issued to ${normalizeScreenName(target)}` : 'no user certificates issued');
      return 0;
    }
    const now = io.now();
    for (const r of recs) {
      const status = r.revokedAt ? `revoked ${r.revokedAt.toISOString()} (${r.revocationReason ?? 'unspecified'})`
        : r.notAfter < now ? 'expired' : 'valid';
      io.out(`${r.serial}  ${target === undefined ? `${r.screenName.padEnd(16)}  ` : ''}${r.purpose.padEnd(10)}  ${r.notBefore.toISOString().slice(0, 10)} .. ${r.notAfter.toISOString().slice(0, 10)}  ${status}`);
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
    const live = hooks.revokeLive ? await hooks.revokeLive(serial, reason) : { kind: 'no-server' as const };
    if (live.kind === 'answered') {
      if (!live.response.ok) {
        io.err(`certim admin cert: ${live.response.error.code}: ${live.response.error.message}`);
        return 1;
      }
      const r = live.response.result as RevokeResult;
      io.out(`revoked ${r.serial} of ${r.screenName} (${reason}) on the running server: the CRL lists it now` +
        (r.withdrawn ? `, and ${r.screenName}'s published certificates were withdrawn` : ''));
      return 0;
    }
    if (live.kind === 'unreachable') {
      io.err(`certim admin cert: a certim server (pid ${live.pid}) holds this data directory, but ${live.reason}; not revoking behind its back — try again, or stop it first`);
      return 1;
    }
    if (!(await ledger.revoke(serial, reason, io.now()))) {
      io.err(`certim admin cert: no certificate with serial ${serial}`);
      return 1;
    }
    const rec = await ledger.get(serial);
    const withdrawn = rec && rec.purpose !== 'tls-server' && hooks.withdraw ? await hooks.withdraw(rec.screenName, serial) : false;
    io.out(`revoked ${serial} (${reason}); no server is running: the CRL lists it from the next start` +
      (withdrawn ? `, and ${rec!.screenName}'s published certificates were withdrawn` : ''));
    return 0;
  }
  io.err(sub === '--help' || sub === 'help' ? ADMIN_CERT_USAGE : `certim admin cert: bad arguments\n${ADMIN_CERT_USAGE}`);
  return sub === '--help' || sub === 'help' ? 0 : 2;
}
