/**
 * The CA's record of what it issued and revoked. The CA (ca.ts) owns this interface; the store implements it in SQL
 * (sqlite and postgres), and {@link MemoryCertificateLedger} (ledger-memory.ts) serves unit tests.
 *
 * Serials are lowercase hex, even length, without a leading 00 sign octet (ca.ts `normalizeSerial`), exactly as
 * given to `recordIssued`; implementations compare them as opaque strings.
 */

/** Why a certificate was revoked: the RFC 5280 §5.3.1 CRLReason names (value 7 is unused in the RFC). */
export type RevocationReason =
  | 'unspecified'
  | 'keyCompromise'
  | 'cACompromise'
  | 'affiliationChanged'
  | 'superseded'
  | 'cessationOfOperation'
  | 'certificateHold'
  | 'removeFromCRL'
  | 'privilegeWithdrawn'
  | 'aACompromise';

/** What a certificate is for; the key usage / EKU profile the CA applied. */
export type CertificatePurpose = 'encrypt' | 'sign' | 'common' | 'tls-server' | 'tls-client';

/** One certificate the CA issued. */
export interface IssuedCertificateRecord {
  /** Serial number, lowercase hex (no separators), unique per CA. */
  serial: string;
  /** Normalized screen name (screen-name.ts `normalizeScreenName`); for TLS server certs the first hostname. */
  screenName: string;
  /** Profile the certificate was issued with. */
  purpose: CertificatePurpose;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** SHA-256 of the certificate DER, lowercase hex. */
  fingerprint: string;
  /** The certificate, DER. */
  der: Uint8Array;
  /** When it was issued. */
  issuedAt: Date;
  /** Set once revoked. */
  revokedAt?: Date;
  /** Set once revoked. */
  revocationReason?: RevocationReason;
}

/** A revoked serial as a CRL lists it. */
export interface RevokedEntry {
  /** Serial number, lowercase hex. */
  serial: string;
  /** When it was revoked. */
  revokedAt: Date;
  /** Why. */
  reason: RevocationReason;
}

/** Persistence of issued and revoked certificates. All methods may be async (SQL backends). */
export interface CertificateLedger {
  /** Stores a newly issued certificate. Rejects if the serial already exists. */
  recordIssued(rec: IssuedCertificateRecord): Promise<void>;
  /** Every certificate issued to this normalized screen name, newest first (revoked ones included). */
  listByScreenName(screenName: string): Promise<IssuedCertificateRecord[]>;
  /** Every certificate issued, newest first, at most `limit` (admin listing across all users). */
  listAll(limit: number): Promise<IssuedCertificateRecord[]>;
  /** One certificate by serial (lowercase hex), or undefined. */
  get(serial: string): Promise<IssuedCertificateRecord | undefined>;
  /**
   * Marks a serial revoked. Returns false if the serial is unknown; revoking twice keeps the first date and reason
   * and returns true.
   */
  revoke(serial: string, reason: RevocationReason, at: Date): Promise<boolean>;
  /** Every revoked certificate, for building the CRL. */
  listRevoked(): Promise<RevokedEntry[]>;
}
