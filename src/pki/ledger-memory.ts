import type { CertificateLedger, IssuedCertificateRecord, RevocationReason, RevokedEntry } from './ledger.js';
import { PkiError } from './errors.js';

/** An in-memory {@link CertificateLedger} for unit tests and throwaway CAs; forgets everything on exit. */
export class MemoryCertificateLedger implements CertificateLedger {
  readonly #bySerial = new Map<string, IssuedCertificateRecord>();

  /** Stores a copy of the record. */
  async recordIssued(rec: IssuedCertificateRecord): Promise<void> {
    if (this.#bySerial.has(rec.serial)) throw new PkiError('DUPLICATE_SERIAL', `serial ${rec.serial} already recorded`);
    this.#bySerial.set(rec.serial, { ...rec });
  }

  /** Records for a normalized screen name, newest first. */
  async listByScreenName(screenName: string): Promise<IssuedCertificateRecord[]> {
    return [...this.#bySerial.values()]
      .filter((r) => r.screenName === screenName)
      .sort((a, b) => b.issuedAt.getTime() - a.issuedAt.getTime())
      .map((r) => ({ ...r }));
  }

  /** All records, newest first, at most `limit`. */
  async listAll(limit: number): Promise<IssuedCertificateRecord[]> {
    return [...this.#bySerial.values()]
      .sort((a, b) => b.issuedAt.getTime() - a.issuedAt.getTime())
      .slice(0, limit)
      .map((r) => ({ ...r }));
  }

  /** One record by serial. */
  async get(serial: string): Promise<IssuedCertificateRecord | undefined> {
    const r = this.#bySerial.get(serial);
    return r ? { ...r } : undefined;
  }

  /** Marks revoked; the first revocation wins. */
  async revoke(serial: string, reason: RevocationReason, at: Date): Promise<boolean> {
    const r = this.#bySerial.get(serial);
    if (!r) return false;
    if (!r.revokedAt) {
      r.revokedAt = at;
      r.revocationReason = reason;
    }
    return true;
  }

  /** All revoked entries. */
  async listRevoked(): Promise<RevokedEntry[]> {
    const out: RevokedEntry[] = [];
    for (const r of this.#bySerial.values()) {
      if (r.revokedAt) out.push({ serial: r.serial, revokedAt: r.revokedAt, reason: r.revocationReason ?? 'unspecified' });
    }
    return out;
  }
}
