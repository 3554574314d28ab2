/** The PKI's {@link CertificateLedger} in SQL, shared by both backends; behaves like pki/ledger-memory.ts. */
import { PkiError } from '../../pki/errors.js';
import type { CertificateLedger, CertificatePurpose, IssuedCertificateRecord, RevocationReason, RevokedEntry } from '../../pki/ledger.js';
import type { SqlDriver, SqlRow } from './driver.js';
import { bytes, num, numOrNull, str, strOrNull } from './rows.js';

const COLUMNS = 'serial, screen_name, purpose, not_before, not_after, fingerprint, der, issued_at, revoked_at, revocation_reason';

function toRecord(r: SqlRow): IssuedCertificateRecord {
  const rec: IssuedCertificateRecord = {
    serial: str(r.serial),
    screenName: str(r.screen_name),
    purpose: str(r.purpose) as CertificatePurpose,
    notBefore: new Date(num(r.not_before)),
    notAfter: new Date(num(r.not_after)),
    fingerprint: str(r.fingerprint),
    der: bytes(r.der),
    issuedAt: new Date(num(r.issued_at)),
  };
  const revokedAt = numOrNull(r.revoked_at);
  if (revokedAt !== null) {
    rec.revokedAt = new Date(revokedAt);
    rec.revocationReason = (strOrNull(r.revocation_reason) ?? 'unspecified') as RevocationReason;
  }
  return rec;
}

/** Builds the certificate ledger over a driver. */
export function sqlLedger(db: SqlDriver): CertificateLedger {
  return {
    async recordIssued(rec) {
      const changed = await db.run(
        `INSERT INTO certificates (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (serial) DO NOTHING`,
        [rec.serial, rec.screenName, rec.purpose, rec.notBefore.getTime(), rec.notAfter.getTime(), rec.fingerprint, rec.der,
          rec.issuedAt.getTime(), rec.revokedAt ? rec.revokedAt.getTime() : null, rec.revokedAt ? (rec.revocationReason ?? 'unspecified') : null],
      );
      // Same code as the memory ledger, so the CA handles both alike.
      if (changed === 0) throw new PkiError('DUPLICATE_SERIAL', `serial ${rec.serial} already recorded`);
    },

    async listByScreenName(screenName) {
      const rows = await db.all(`SELECT ${COLUMNS} FROM certificates WHERE screen_name = ? ORDER BY issued_at DESC, serial`, [screenName]);
      return rows.map(toRecord);
    },

    async listAll(limit) {
      const rows = await db.all(`SELECT ${COLUMNS} FROM certificates ORDER BY issued_at DESC, serial LIMIT ?`, [Math.max(0, Math.floor(limit))]);
      return rows.map(toRecord);
    },

    async get(serial) {
      const rows = await db.all(`SELECT ${COLUMNS} FROM certificates WHERE serial = ?`, [serial]);
      return rows[0] ? toRecord(rows[0]) : undefined;
    },

    async revoke(serial: string, reason: RevocationReason, at: Date): Promise<boolean> {
      // The first revocation wins: a later call neither moves the date nor changes the reason.
      const changed = await db.run(
        'UPDATE certificates SET revoked_at = ?, revocation_reason = ? WHERE serial = ? AND revoked_at IS NULL',
        [at.getTime(), reason, serial],
      );
      if (changed > 0) return true;
      return (await db.all('SELECT 1 AS present FROM certificates WHERE serial = ?', [serial])).length > 0;
    },

    async listRevoked(): Promise<RevokedEntry[]> {
      const rows = await db.all('SELECT serial, revoked_at, revocation_reason FROM certificates WHERE revoked_at IS NOT NULL ORDER BY revoked_at, serial');
      return rows.map((r) => ({
        serial: str(r.serial),
        revokedAt: new Date(num(r.revoked_at)),
        reason: (strOrNull(r.revocation_reason) ?? 'unspecified') as RevocationReason,
      }));
    },
  };
}
