/**
 * The client's view of revocation: the CA's CRL (docs/protocol.md §12.2), fetched over HTTPS pinned to the CA,
 * kept in the profile, refreshed when old or stale, and applied to every certificate the client uses — before
 * encrypting to a buddy, when verifying a signer, in `trust show`, and to our own certificates.
 *
 * Freshness policy (also in ARCHITECTURE.md "Trust model"):
 * - A CRL is *fresh* until its nextUpdate. A running client refetches one older than `refreshMs` (default 5 min),
 *   and every process fetches once on first use, so a revocation shows up at the next command.
 * - When no fresh CRL can be had, the last one is still used for `graceMs` (default 24 h) past its nextUpdate,
 *   with a warning (state `grace`).
 * - After that, or with no CRL at all, the client fails closed (state `unavailable`): no IM is encrypted to, and
 *   no signature is trusted from, a certificate whose revocation status is unknown.
 *
 * A CRL is accepted only when it is signed by one of the pinned CA certificates, its thisUpdate is not in the
 * future (beyond a small skew) and it is not older than the one we hold (no rollback to a CRL from before a
 * revocation).
 */
import { parseCrl, verifyCrlSignature, type CertificateList } from '../pki/crl.js';
import { sameName } from '../pki/name.js';
import { parseCertificate, type Certificate } from '../pki/x509-parse.js';
import { ClientError } from './errors.js';

/** Past nextUpdate, how long the last CRL is still honoured (with a warning) before the client fails closed. */
export const CRL_GRACE_MS = 24 * 3600_000;
/** How old a CRL a running client keeps before refetching it, even when it is not yet stale. */
export const CRL_REFRESH_MS = 5 * 60_000;
/** After a failed download, how long before the next automatic attempt (so an unreachable server costs one try a minute, not one per message). */
export const CRL_RETRY_MS = 60_000;
/** Clock skew tolerated on a CRL's thisUpdate. */
const CRL_SKEW_MS = 10 * 60_000;

/** How usable the revocation information is right now. */
export type CrlStatus = 'fresh' | 'grace' | 'unavailable';

/** The revocation information as the UI shows it. */
export interface CrlState {
  /** `fresh`: within nextUpdate; `grace`: stale but within the grace period; `unavailable`: fail closed. */
  status: CrlStatus;
  /** The CRL in use (absent when `unavailable` because none was ever had). */
  crl?: CertificateList;
  /** When the CRL was issued. */
  thisUpdate?: Date;
  /** When it goes stale. */
  nextUpdate?: Date;
  /** When the client stops honouring it (nextUpdate + grace). */
  failClosedAt?: Date;
  /** Why the last refresh failed, if it did. */
  lastError?: string;
}

/** Where a CRL comes from and where it is kept (the Node side passes HTTPS + the profile). */
export interface CrlSource {
  /** Downloads the current CRL (DER). */
  fetch(): Promise<Uint8Array>;
  /** The CRL kept from an earlier run, if any. */
  load(): Uint8Array | undefined;
  /** Keeps a newly accepted CRL. */
  save(der: Uint8Array): void;
}

/** Options of {@link CrlCache}. */
export interface CrlCacheOptions {
  /** Where the CRL comes from. */
  source: CrlSource;
  /** The pinned CA certificates (DER); the CRL must be signed by one of them. */
  caCerts: readonly Uint8Array[];
  /** Clock (tests). */
  now?: () => Date;
  /** See {@link CRL_GRACE_MS}. */
  graceMs?: number;
  /** See {@link CRL_REFRESH_MS}. */
  refreshMs?: number;
}

/** What a revocation lookup says about one certificate. */
export interface RevocationInfo {
  /** Serial, lowercase hex. */
  serial: string;
  /** When it was revoked. */
  revokedAt: Date;
  /** RFC 5280 reason name. */
  reason: string;
}

/** The client's CRL: see the file comment. */
export class CrlCache {
  private crl: CertificateList | undefined;
  private fetchedAt = -Infinity;
  private failedAt = -Infinity;
  private lastError: string | undefined;
  private inflight: Promise<void> | undefined;
  private loaded = false;
  private readonly cas: Certificate[];
  private readonly now: () => Date;
  private readonly graceMs: number;
  private readonly refreshMs: number;

  constructor(private readonly o: CrlCacheOptions) {
    this.cas = o.caCerts.map((d) => parseCertificate(d));
    this.now = o.now ?? (() => new Date());
    this.graceMs = o.graceMs ?? CRL_GRACE_MS;
    this.refreshMs = o.refreshMs ?? CRL_REFRESH_MS;
  }

  /**
   * The revocation state, refreshing first when this process has not fetched yet, the CRL is older than
   * `refreshMs`, or it is stale. A failed refresh keeps the previous CRL and records the error; automatic retries
   * then wait {@link CRL_RETRY_MS} (`forceRefresh` always tries).
   */
  async state(forceRefresh = false): Promise<CrlState> {
    this.loadKept();
    const now = this.now().getTime();
    const stale = !this.crl || (this.crl.nextUpdate !== undefined && now > this.crl.nextUpdate.getTime());
    const due = (stale || now - this.fetchedAt >= this.refreshMs) && now - this.failedAt >= CRL_RETRY_MS;
    if (forceRefresh || due) await this.refresh();
    return this.current();
  }

  /** The state without any network access. */
  current(): CrlState {
    this.loadKept();
    const crl = this.crl;
    const err = this.lastError !== undefined ? { lastError: this.lastError } : {};
    if (!crl) return { status: 'unavailable', ...err };
    // A CRL without nextUpdate gives no freshness promise: treat it as stale from its issue time.
    const next = crl.nextUpdate ?? crl.thisUpdate;
    const failClosedAt = new Date(next.getTime() + this.graceMs);
    const now = this.now().getTime();
    const status: CrlStatus = now <= next.getTime() ? 'fresh' : now <= failClosedAt.getTime() ? 'grace' : 'unavailable';
    return { status, crl, thisUpdate: crl.thisUpdate, nextUpdate: next, failClosedAt, ...err };
  }

  /** Looks a certificate up in the CRL held now (no network); undefined when not listed. */
  lookup(cert: Certificate): RevocationInfo | undefined {
    const e = this.crl?.entries.get(cert.serial);
    return e ? { serial: cert.serial, revokedAt: e.revokedAt, reason: e.reason } : undefined;
  }

  private loadKept(): void {
    if (this.loaded) return;
    this.loaded = true;
    let der: Uint8Array | undefined;
    try {
      der = this.o.source.load();
    } catch {
      der = undefined;
    }
    if (!der) return;
    try {
      this.accept(der);
    } catch {
      // A damaged or foreign file is ignored: the next fetch replaces it.
    }
  }

  private refresh(): Promise<void> {
    if (!this.inflight) {
      this.inflight = (async () => {
        try {
          const der = await this.o.source.fetch();
          if (this.accept(der)) this.o.source.save(der);
          this.fetchedAt = this.now().getTime();
          this.failedAt = -Infinity;
          this.lastError = undefined;
        } catch (e) {
          this.failedAt = this.now().getTime();
          this.lastError = (e as Error).message;
        }
      })().finally(() => {
        this.inflight = undefined;
      });
    }
    return this.inflight;
  }

  /** Checks and installs a CRL; false when it is not newer than the one held. Throws CRL_INVALID. */
  private accept(der: Uint8Array): boolean {
    let crl: CertificateList;
    try {
      crl = parseCrl(der);
    } catch (e) {
      throw new ClientError('CRL_INVALID', `the CA's revocation list cannot be read: ${(e as Error).message}`, { cause: e });
    }
    const issuer = this.cas.find((c) => sameName(c.subject.der, crl.issuer.der) && verifyCrlSignature(crl, c));
    if (!issuer) throw new ClientError('CRL_INVALID', 'the revocation list is not signed by the pinned CA');
    if (crl.thisUpdate.getTime() > this.now().getTime() + CRL_SKEW_MS) {
      throw new ClientError('CRL_INVALID', `the revocation list claims to be issued in the future (${crl.thisUpdate.toISOString()})`);
    }
    const held = this.crl;
    if (held) {
      const older = crl.crlNumber !== undefined && held.crlNumber !== undefined ? crl.crlNumber < held.crlNumber : crl.thisUpdate < held.thisUpdate;
      if (older) throw new ClientError('CRL_INVALID', 'the server offered a revocation list older than the one we hold');
      if (crl.crlNumber !== undefined && crl.crlNumber === held.crlNumber) return false;
    }
    this.crl = crl;
    return true;
  }
}

/** One line for users: how current the revocation information is. */
export function describeCrlState(s: CrlState): string {
  const at = (d: Date | undefined): string => (d ? d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '?');
  const why = s.lastError ? `; last refresh failed: ${s.lastError}` : '';
  if (s.status === 'fresh') return `revocation list issued ${at(s.thisUpdate)}, valid until ${at(s.nextUpdate)}`;
  if (s.status === 'grace') return `revocation list is STALE (expired ${at(s.nextUpdate)}); still honoured until ${at(s.failClosedAt)}${why}`;
  if (!s.crl) return `no revocation list could be fetched from the server${why}`;
  return `revocation list expired ${at(s.nextUpdate)} and the grace period ended ${at(s.failClosedAt)}${why}`;
}
