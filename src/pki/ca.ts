/**
 * The server's certificate authority. Layout under `<dataDir>/ca/`:
 *
 *   root.crt        root certificate (PEM), self-signed, RSA >= 3072, pathLen 1
 *   root.key        root private key, PKCS#8 scrypt + AES-256 ("ENCRYPTED PRIVATE KEY"); absent for imported CAs
 *   (no root.pass)  the root passphrase is never written: CERTIM_ROOT_PASSPHRASE (or CERTIM_CA_PASSPHRASE) when set
 *                   at the first start, else generated, handed once to `rootPassphraseNotice` (the server shows it
 *                   on a terminal) and forgotten. A root.pass left by an older certim is reported at every start.
 *   issuing.crt     issuing CA certificate (PEM), signed by the root (or imported), pathLen 0
 *   issuing.key     issuing private key, PKCS#8 scrypt + AES-256, passphrase in issuing.pass (0600) or
 *                   CERTIM_CA_PASSPHRASE
 *   issuing.pass    generated issuing-key passphrase (0600) when CERTIM_CA_PASSPHRASE is not set
 *   chain.pem       intermediates between the issuing CA and the root (imported CAs only; may be empty)
 *   trusted/*.pem   extra trust anchors the admin configured (other CAs whose users we accept)
 *
 * Why two passphrases: the issuing key must open unattended on every start, the root key never needs to (it only
 * signs the issuing CA once), so the data directory alone (a stolen backup, a read-only compromise) must not open
 * the root key: only the admin holds its passphrase.
 *
 * Issued and revoked certificates are recorded through the {@link CertificateLedger} (SQL in the store).
 */
import { mkdir, readFile, writeFile, rename, readdir, chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { toPem } from './asn1/der.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';
import { generateRsaKeyPair, assertStrongRsaKey, publicKeyOf, DEFAULT_RSA_BITS, MIN_RSA_BITS } from './keys.js';
import { encryptPrivateKey, readPrivateKey } from './pkcs8.js';
import { encodeName } from './name.js';
import {
  encodeExtension, encodeBasicConstraints, encodeKeyUsage, encodeExtKeyUsage, encodeGeneralNames,
  encodeAuthorityKeyIdentifier, encodeCrlDistributionPoints,
} from './extensions.js';
import { buildCertificate, keyIdentifier, randomSerial, spkiOf } from './x509-builder.js';
import { parseCertificate, parseCertificatesPem, type Certificate } from './x509-parse.js';
import { parseCsr, verifyCsrSignature, type CertificationRequest } from './csr.js';
import { buildCrl } from './crl.js';
import { encodeCertsOnly } from './certs-only.js';
import { normalizeScreenName } from './screen-name.js';
import { ISSUE_EXT_KEY_USAGE, ISSUE_KEY_USAGE, type VerifyPurpose } from './profiles.js';
import { verifyCertificate, type VerifyResult } from './verifier.js';
import type { CertificateLedger, CertificatePurpose, IssuedCertificateRecord, RevocationReason, RevokedEntry } from './ledger.js';
import { nodeCryptoProvider, type CryptoProvider } from './provider.js';

/** Environment variable holding the CA passphrase (both keys) when the admin supplies one. */
export const CA_PASSPHRASE_ENV = 'CERTIM_CA_PASSPHRASE';
/** Environment variable holding the root key's passphrase only (preferred over {@link CA_PASSPHRASE_ENV} for it). */
export const ROOT_PASSPHRASE_ENV = 'CERTIM_ROOT_PASSPHRASE';
/** Path the server should serve the CRL (DER, application/pkix-crl) at; issued certificates point here. */
export const CRL_PATH = '/ca/crl';

const DAY = 86_400_000;
/** Longest CRL validity (nextUpdate - thisUpdate) the CA issues, hours. */
export const MAX_CRL_VALIDITY_HOURS = 24;

/** A digest of the revoked set (order-independent), to notice any ledger change, not only a count change. */
function revokedDigest(revoked: readonly RevokedEntry[], provider: CryptoProvider): string {
  const h = provider.createHash('sha256');
  for (const line of revoked.map((r) => `${r.serial}|${r.revokedAt.getTime()}|${r.reason}`).sort()) h.update(`${line}\n`);
  return h.digest('hex');
}

/** Options of {@link openCertificateAuthority}. */
export interface CaOptions {
  /** Server data directory; the CA lives in `<dataDir>/ca/`. */
  dataDir: string;
  /** The IM domain: SAN URIs are `im:<sn>@<domain>`; CA names mention it. */
  domain: string;
  /** Where issued/revoked certificates are recorded. */
  ledger: CertificateLedger;
  /** CRL distribution point URL written into certificates; default `https://<domain>/ca/crl`. */
  crlUrl?: string;
  /** Passphrase for the CA keys; default env CERTIM_CA_PASSPHRASE, else generated files. */
  passphrase?: string;
  /** Environment to read CERTIM_CA_PASSPHRASE from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Warning sink (default console.warn). Never receives key material or passphrases. */
  warn?: (message: string) => void;
  /** Clock (default Date.now). */
  now?: () => Date;
  /** Lifetime of user certificates in days (default 365). */
  userCertificateDays?: number;
  /** RSA size for a new root (default 3072; must be >= 3072). */
  rootKeyBits?: number;
  /** RSA size for a new issuing CA (default 3072). */
  issuingKeyBits?: number;
  /**
   * How long a CRL is valid (nextUpdate - thisUpdate), hours; default and maximum 24 (relying
   * parties fail closed after nextUpdate plus their grace period, so a short window bounds how long a revocation
   * can go unseen). Larger values are refused (INVALID_ARGUMENT).
   */
  crlValidityHours?: number;
  /** Age after which the CRL is rebuilt even with no new revocation, minutes; default 60 (so >= 23 h always remain). */
  crlRefreshMinutes?: number;
  /** Extra trust anchors besides the root and `<dataDir>/ca/trusted/*.pem`. */
  extraTrustAnchors?: readonly (Uint8Array | string)[];
  /** Crypto provider. */
  provider?: CryptoProvider;
  /**
   * Receives a generated root passphrase once, at creation, so the admin can record it (it is never written to
   * disk); without it the generated passphrase is discarded and the root key stays sealed.
   */
  rootPassphraseNotice?: (passphrase: string) => void;
}

/** What the CA returns for each certificate it issues. */
export interface IssuedCertificate {
  /** DER. */
  der: Uint8Array;
  /** PEM "CERTIFICATE". */
  pem: string;
  /** Parsed view. */
  certificate: Certificate;
  /** The ledger record that was stored. */
  record: IssuedCertificateRecord;
}

/** Server TLS credentials issued by this CA. */
export interface ServerTlsCredentials {
  /** Private key (PKCS#8 PEM, unencrypted: hand it to tls.createServer and keep it in memory). */
  keyPem: string;
  /** The private key object. */
  privateKey: KeyObject;
  /** Leaf + issuing CA + intermediates, PEM: what the server presents. */
  certChainPem: string;
  /** The leaf certificate. */
  certificate: Certificate;
}

/** Something certificates can be issued for: a CSR (DER/PEM/parsed) or a bare public key. */
export type CertificateSubjectKey = Uint8Array | string | CertificationRequest | KeyObject;

/** The CA. Create with {@link openCertificateAuthority}. */
export class CertificateAuthority {
  readonly #o: CaInternals;
  #root: Certificate;
  #issuing: Certificate;
  #issuingKey: KeyObject;
  #intermediates: Certificate[];
  #extraAnchors: Certificate[];
  #crlCache: { der: Uint8Array; at: number; digest: string } | undefined;
  #lastCrlNumber = 0n;
  #crlListeners = new Set<(crl: Uint8Array) => void>();

  /** @internal use openCertificateAuthority */
  constructor(
    o: CaInternals, root: Certificate, issuing: Certificate, issuingKey: KeyObject,
    intermediates: Certificate[], extraAnchors: Certificate[],
  ) {
    this.#o = o;
    this.#root = root;
    this.#issuing = issuing;
    this.#issuingKey = issuingKey;
    this.#intermediates = intermediates;
    this.#extraAnchors = extraAnchors;
  }

  /** The root certificate users pin. */
  get rootCertificate(): Certificate {
    return this.#root;
  }

  /** The certificate that signs user certificates and CRLs. */
  get issuingCertificate(): Certificate {
    return this.#issuing;
  }

  /** Issuing CA followed by any intermediates up to (not including) the root. */
  get chain(): Certificate[] {
    return [this.#issuing, ...this.#intermediates];
  }

  /** Trust anchors: this CA's root plus admin-configured CAs. */
  get trustAnchors(): Certificate[] {
    return [this.#root, ...this.#extraAnchors];
  }

  /** SHA-256 of the root certificate DER, lowercase hex: the machine form (`certim admin ca show` prints it grouped, fingerprint.ts). */
  rootFingerprint(): string {
    return this.#root.fingerprint256;
  }

  /** The IM domain. */
  get domain(): string {
    return this.#o.domain;
  }

  /**
   * Issues a user certificate for `screenName` (subject CN = the screen name as given; SAN `im:<normalized>@<domain>`).
   * A CSR must carry a valid proof-of-possession signature (BAD_SIGNATURE otherwise); keys under 2048 bits are
   * refused (WEAK_KEY). The CSR's own subject is NOT copied: the CA decides the names.
   */
  async issueUserCertificate(
    subjectKey: CertificateSubjectKey, screenName: string, purpose: 'encrypt' | 'sign' | 'common',
    opts: { days?: number } = {},
  ): Promise<IssuedCertificate> {
    const sn = normalizeScreenName(screenName);
    if (sn.length === 0 || sn.length > 97 || /[\s\p{Cc}]/u.test(sn)) throw new PkiError('INVALID_ARGUMENT', `bad screen name "${screenName}"`);
    const publicKey = this.#subjectPublicKey(subjectKey);
    const san = encodeGeneralNames({ uris: [imUri(sn, this.#o.domain)] });
    return this.#issue(publicKey, encodeName([['CN', screenName.trim()]]), sn, purpose, [
      encodeExtension(OID.subjectAltName, false, san),
    ], opts.days ?? this.#o.userCertificateDays);
  }

  /**
   * Issues the server's TLS certificate (for OSCAR-over-TLS and HTTPS) from this CA, so clients pinning the root
   * trust the server. A fresh RSA-2048 key is generated unless one is given: 2048 because TLS handshakes are private
   * key operations and RSA-2048 is ~7x faster than RSA-3072 on our 2-core hosts (measured).
   */
  async issueServerTlsCertificate(hostnames: readonly string[], ips: readonly string[] = [], opts: { privateKey?: KeyObject; days?: number } = {}): Promise<ServerTlsCredentials> {
    if (hostnames.length === 0 && ips.length === 0) throw new PkiError('INVALID_ARGUMENT', 'a TLS certificate needs at least one host name or IP');
    const privateKey = opts.privateKey ?? (await generateRsaKeyPair(MIN_RSA_BITS, this.#o.provider)).privateKey;
    const cn = hostnames[0] ?? ips[0]!;
    const issued = await this.#issue(publicKeyOf(privateKey, this.#o.provider), encodeName([['CN', cn]]), cn.toLowerCase(), 'tls-server', [
      encodeExtension(OID.subjectAltName, false, encodeGeneralNames({ dns: [...hostnames], ips: [...ips] })),
    ], opts.days ?? 365);
    return {
      keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      privateKey,
      certChainPem: [issued.pem, ...this.chain.map((c) => toPem('CERTIFICATE', c.der))].join(''),
      certificate: issued.certificate,
    };
  }

  /**
   * Revokes a serial (lowercase hex) and rebuilds the CRL at once (schedule listeners get it). Throws UNKNOWN_SERIAL
   * when this CA never issued it.
   */
  async revoke(serial: string, reason: RevocationReason = 'unspecified'): Promise<void> {
    const s = normalizeSerial(serial);
    const ok = await this.#o.ledger.revoke(s, reason, this.#o.now());
    if (!ok) throw new PkiError('UNKNOWN_SERIAL', `no certificate with serial ${s} was issued by this CA`);
    this.#crlCache = undefined;
    await this.crl();
  }

  /**
   * Revokes (reason superseded) every other still-valid certificate of `screenName` with the same purpose as the
   * one just issued (`keepSerial`), so each user holds at most one valid certificate per purpose (encrypt, sign,
   * common): the certificate-info block a user publishes names one identity (docs/protocol.md §6.1). Returns the
   * serials revoked.
   */
  async supersede(screenName: string, purpose: CertificatePurpose, keepSerial: string): Promise<string[]> {
    const now = this.#o.now();
    const done: string[] = [];
    for (const r of await this.#o.ledger.listByScreenName(normalizeScreenName(screenName))) {
      if (r.serial === keepSerial || r.purpose !== purpose || r.revokedAt || r.notAfter < now) continue;
      if (await this.#o.ledger.revoke(r.serial, 'superseded', now)) done.push(r.serial);
    }
    if (done.length) {
      this.#crlCache = undefined;
      await this.crl(); // published at once, like revoke()
    }
    return done;
  }

  /**
   * The current CRL (DER), signed by the issuing CA, with nextUpdate = thisUpdate + crlValidityHours (<= 24 h).
   * Cached, and rebuilt when the ledger's revoked set differs from the one the cached CRL was built from (a digest of
   * every serial, date and reason — so a revocation written by another process, such as `certim admin cert revoke`
   * or another node, shows up at the next call even if the count did not change), or when the cached CRL is older
   * than crlRefreshMinutes. cRLNumber is the issue time in ms, kept strictly increasing.
   */
  async crl(): Promise<Uint8Array> {
    const now = this.#o.now();
    const revoked = await this.#o.ledger.listRevoked();
    const digest = revokedDigest(revoked, this.#o.provider);
    const c = this.#crlCache;
    if (c && c.digest === digest && now.getTime() - c.at < this.#o.crlRefreshMinutes * 60_000 && now.getTime() >= c.at) return c.der;
    let crlNumber = BigInt(now.getTime());
    if (crlNumber <= this.#lastCrlNumber) crlNumber = this.#lastCrlNumber + 1n;
    this.#lastCrlNumber = crlNumber;
    const crlDer = buildCrl({
      issuer: this.#issuing, issuerKey: this.#issuingKey, revoked, thisUpdate: now,
      nextUpdate: new Date(now.getTime() + this.#o.crlValidityHours * 3_600_000),
      crlNumber, provider: this.#o.provider,
    });
    this.#crlCache = { der: crlDer, at: now.getTime(), digest };
    for (const l of this.#crlListeners) {
      try {
        l(crlDer);
      } catch (e) {
        this.#o.warn(`CRL listener failed: ${(e as Error).message}`);
      }
    }
    return crlDer;
  }

  /**
   * Keeps the CRL fresh without waiting for a request: every `intervalMs` (default 60 s) the ledger is read and the
   * CRL rebuilt when the revoked set changed or it reached crlRefreshMinutes. `onCrl` receives every newly built CRL
   * (also the ones built by {@link revoke} or a request). The timer is unref'd; call `stop` on shutdown.
   */
  scheduleCrl(o: { intervalMs?: number; onCrl?: (crl: Uint8Array) => void; onError?: (e: unknown) => void } = {}): { stop(): void } {
    if (o.onCrl) this.#crlListeners.add(o.onCrl);
    const tick = (): void => {
      this.crl().catch((e: unknown) => (o.onError ? o.onError(e) : this.#o.warn(`CRL refresh failed: ${(e as Error).message}`)));
    };
    tick();
    const timer = setInterval(tick, o.intervalMs ?? 60_000);
    timer.unref();
    return {
      stop: () => {
        clearInterval(timer);
        if (o.onCrl) this.#crlListeners.delete(o.onCrl);
      },
    };
  }

  /** Certs-only PKCS#7 of the CA certificates (issuing, intermediates, root): the EST /cacerts body (DER). */
  caCertsPkcs7(): Uint8Array {
    return encodeCertsOnly([...this.chain.map((c) => c.der), this.#root.der]);
  }

  /**
   * Verifies a certificate against this CA's anchors and chain, with revocation from the ledger (for our own
   * issuing CA) — what the server runs before publishing a certificate.
   */
  async verify(cert: Uint8Array | string | Certificate, o: { purpose: VerifyPurpose; screenName?: string; hostname?: string; now?: Date }): Promise<VerifyResult> {
    return verifyCertificate(cert, {
      ...o,
      trustAnchors: this.trustAnchors,
      intermediates: this.chain,
      now: o.now ?? this.#o.now(),
      provider: this.#o.provider,
      isRevoked: async (serial, issuer) => {
        if (issuer.fingerprint256 !== this.#issuing.fingerprint256) return undefined;
        const r = await this.#o.ledger.get(serial);
        return r?.revokedAt ? { revokedAt: r.revokedAt, reason: r.revocationReason ?? 'unspecified' } : undefined;
      },
    });
  }

  /**
   * Replaces the issuing CA with an admin's existing one (e.g. made with openssl or an enterprise CA): the issuing
   * certificate and key (PEM; encrypted keys need `keyPassphrase`), plus the chain up to and including its root
   * (omit when the issuing certificate is itself self-signed). The new root becomes this CA's root; the old files are
   * overwritten and the generated root key (if any) is kept as root.key.replaced.
   */
  async importIssuingCa(certPem: string, keyPem: string, chainPem?: string, keyPassphrase?: string): Promise<void> {
    const imported = await validateImport(certPem, keyPem, chainPem, keyPassphrase, this.#o.provider);
    const dir = caDir(this.#o.dataDir);
    const pass = await issuingPassphrase(dir, this.#o, true);
    await writeAtomic(join(dir, 'issuing.key'), await encryptPrivateKey(imported.key, pass, { provider: this.#o.provider }), 0o600);
    await writeAtomic(join(dir, 'issuing.crt'), toPem('CERTIFICATE', imported.issuing.der), 0o644);
    await writeAtomic(join(dir, 'chain.pem'), imported.intermediates.map((c) => toPem('CERTIFICATE', c.der)).join(''), 0o644);
    await writeAtomic(join(dir, 'root.crt'), toPem('CERTIFICATE', imported.root.der), 0o644);
    try {
      await rename(join(dir, 'root.key'), join(dir, 'root.key.replaced'));
    } catch {
      // no generated root key to set aside
    }
    this.#root = imported.root;
    this.#issuing = imported.issuing;
    this.#issuingKey = imported.key;
    this.#intermediates = imported.intermediates;
    this.#crlCache = undefined;
  }

  #subjectPublicKey(k: CertificateSubjectKey): KeyObject {
    let key: KeyObject;
    if (k instanceof Uint8Array || typeof k === 'string' || isCsr(k)) {
      const csr = isCsr(k) ? k : parseCsr(k, this.#o.provider);
      if (!verifyCsrSignature(csr, this.#o.provider)) {
        throw new PkiError('BAD_SIGNATURE', 'the CSR signature does not verify with its own key (no proof of possession)');
      }
      key = csr.publicKey;
    } else {
      key = publicKeyOf(k, this.#o.provider);
    }
    assertStrongRsaKey(key);
    return key;
  }

  async #issue(
    publicKey: KeyObject, subject: Uint8Array, ledgerName: string, purpose: CertificatePurpose, extra: Uint8Array[], days: number,
  ): Promise<IssuedCertificate> {
    if (!(days > 0 && days <= 3650)) throw new PkiError('INVALID_ARGUMENT', `certificate lifetime ${days} days out of range`);
    const now = this.#o.now();
    // Backdate a little so a client whose clock runs slightly behind does not see "not yet valid".
    const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 - 5 * 60_000);
    const notAfter = new Date(notBefore.getTime() + days * DAY);
    const spki = spkiOf(publicKey, this.#o.provider);
    const exts = [
      encodeExtension(OID.basicConstraints, true, encodeBasicConstraints({ ca: false })),
      encodeExtension(OID.keyUsage, true, encodeKeyUsage(ISSUE_KEY_USAGE[purpose])),
      encodeExtension(OID.extKeyUsage, false, encodeExtKeyUsage(ISSUE_EXT_KEY_USAGE[purpose])),
      ...extra,
      encodeExtension(OID.subjectKeyIdentifier, false, derOctets(keyIdentifier(spki, this.#o.provider))),
      encodeExtension(OID.authorityKeyIdentifier, false, encodeAuthorityKeyIdentifier(this.#issuing.subjectKeyId ?? keyIdentifier(this.#issuing.spki, this.#o.provider))),
      encodeExtension(OID.cRLDistributionPoints, false, encodeCrlDistributionPoints([this.#o.crlUrl])),
    ];
    for (let attempt = 0; ; attempt++) {
      const certDer = buildCertificate({
        serial: randomSerial(this.#o.provider), issuer: this.#issuing.subject.der, subject, notBefore, notAfter, publicKey: spki, extensions: exts,
      }, this.#issuingKey, this.#o.provider);
      const certificate = parseCertificate(certDer, this.#o.provider, { publicKey, spki });
      const record: IssuedCertificateRecord = {
        serial: certificate.serial, screenName: ledgerName, purpose, notBefore, notAfter,
        fingerprint: certificate.fingerprint256, der: certDer, issuedAt: now,
      };
      try {
        await this.#o.ledger.recordIssued(record);
      } catch (e) {
        // A 2^-126 serial collision: draw again once; anything else is the ledger's problem to report.
        if (attempt === 0 && PkiError.is(e, 'DUPLICATE_SERIAL')) continue;
        throw e;
      }
      return { der: certDer, pem: toPem('CERTIFICATE', certDer), certificate, record };
    }
  }
}

type CaInternals = {
  dataDir: string; domain: string; ledger: CertificateLedger; crlUrl: string; warn: (m: string) => void; now: () => Date;
  userCertificateDays: number; crlValidityHours: number; crlRefreshMinutes: number; provider: CryptoProvider; passphrase?: string;
  env: Record<string, string | undefined>; rootPassphraseNotice?: (passphrase: string) => void;
};

function isCsr(k: unknown): k is CertificationRequest {
  return typeof k === 'object' && k !== null && 'info' in k && 'spki' in k && 'signature' in k;
}

function derOctets(b: Uint8Array): Uint8Array {
  // KeyIdentifier ::= OCTET STRING
  const len = b.length;
  return Uint8Array.from([0x04, len, ...b]);
}

/**
 * Canonical serial text as the ledger stores it: lowercase hex, even length, without leading 00 octets
 * (`0A:12` -> `0a12`, `00ff` -> `ff`). Separators (`:` and spaces) are dropped. Throws INVALID_ARGUMENT for non-hex.
 */
export function normalizeSerial(serial: string): string {
  let s = serial.toLowerCase().replace(/[:\s]/g, '');
  if (!/^[0-9a-f]+$/.test(s)) throw new PkiError('INVALID_ARGUMENT', `'${serial}' is not a hex serial number`);
  if (s.length % 2) s = `0${s}`;
  while (s.length > 2 && s.startsWith('00')) s = s.slice(2);
  return s;
}

/** `im:<normalized screen name>@<domain>` (RFC 3860); characters outside the URI unreserved set are %-encoded. */
export function imUri(screenName: string, domain: string): string {
  return `im:${encodeURIComponent(normalizeScreenName(screenName))}@${domain.toLowerCase()}`;
}

function caDir(dataDir: string): string {
  return join(dataDir, 'ca');
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

function generatedPassphrase(provider: CryptoProvider): string {
  return provider.randomBytes(32).toString('base64url');
}

async function readPassFile(path: string): Promise<string> {
  return (await readFile(path, 'utf8')).trim();
}

function envPassphrase(o: CaInternals): string | undefined {
  const p = o.passphrase ?? o.env[CA_PASSPHRASE_ENV];
  return p !== undefined && p.length > 0 ? p : undefined;
}

/**
 * The issuing key's passphrase: issuing.pass when present (it was generated with the key), else the configured
 * passphrase / CERTIM_CA_PASSPHRASE. Only when `creating` a new issuing key and neither exists is one generated.
 */
async function issuingPassphrase(dir: string, o: CaInternals, creating: boolean): Promise<string> {
  const f = join(dir, 'issuing.pass');
  if (await exists(f)) return readPassFile(f);
  const fromEnv = envPassphrase(o);
  if (fromEnv) return fromEnv;
  if (!creating) {
    throw new PkiError('BAD_PASSPHRASE', `the issuing CA key is encrypted: set ${CA_PASSPHRASE_ENV} (or restore ${f})`);
  }
  const p = generatedPassphrase(o.provider);
  await writeAtomic(f, `${p}\n`, 0o600);
  return p;
}

async function validateImport(
  certPem: string, keyPem: string, chainPem: string | undefined, keyPassphrase: string | undefined, provider: CryptoProvider,
): Promise<{ issuing: Certificate; key: KeyObject; intermediates: Certificate[]; root: Certificate }> {
  const issuing = parseCertificate(certPem, provider);
  const key = await readPrivateKey(keyPem, keyPassphrase, provider);
  if (!Buffer.from(spkiOf(key, provider)).equals(Buffer.from(issuing.spki))) {
    throw new PkiError('CA_MISMATCH', 'the private key does not belong to the issuing certificate');
  }
  assertStrongRsaKey(key);
  if (!issuing.basicConstraints?.ca) throw new PkiError('CA_MISMATCH', 'the issuing certificate is not a CA certificate (basicConstraints cA)');
  if (issuing.keyUsage && !issuing.keyUsage.includes('keyCertSign')) throw new PkiError('CA_MISMATCH', 'the issuing certificate lacks keyUsage keyCertSign');
  const chain = chainPem ? parseCertificatesPem(chainPem, provider) : [];
  const selfSigned = (c: Certificate): boolean => Buffer.from(c.issuer.der).equals(Buffer.from(c.subject.der));
  let root: Certificate | undefined;
  const intermediates: Certificate[] = [];
  if (selfSigned(issuing)) {
    root = issuing;
  } else {
    root = chain.find(selfSigned);
    if (!root) throw new PkiError('CA_MISMATCH', 'the chain must include the self-signed root of the imported issuing CA');
    intermediates.push(...chain.filter((c) => c !== root && c.fingerprint256 !== issuing.fingerprint256));
  }
  // The imported chain must actually verify (signatures, CA rights, validity).
  const res = await verifyCertificate(issuing, { purpose: 'sign', trustAnchors: [root], intermediates, provider });
  if (!res.ok && res.code !== 'WRONG_KEY_USAGE') throw new PkiError('CA_MISMATCH', `the imported CA chain does not verify: ${res.reason}`);
  return { issuing, key, intermediates, root };
}

async function loadTrusted(dir: string, provider: CryptoProvider, extra: readonly (Uint8Array | string)[]): Promise<Certificate[]> {
  const out = extra.map((e) => parseCertificate(e, provider));
  const tdir = join(dir, 'trusted');
  if (!(await exists(tdir))) return out;
  for (const f of (await readdir(tdir)).sort()) {
    if (!/\.(pem|crt)$/.test(f)) continue;
    out.push(...parseCertificatesPem(await readFile(join(tdir, f), 'utf8'), provider));
  }
  return out;
}

async function createHierarchy(dir: string, o: CaInternals, rootBits: number, issuingBits: number): Promise<void> {
  const p = o.provider;
  const fromEnv = o.env[ROOT_PASSPHRASE_ENV];
  let rootPass = fromEnv !== undefined && fromEnv.length > 0 ? fromEnv : envPassphrase(o);
  if (!rootPass) {
    // Never written: the data directory alone must not open the root key.
    rootPass = generatedPassphrase(p);
    if (o.rootPassphraseNotice) {
      o.rootPassphraseNotice(rootPass);
    } else {
      o.warn(`certim CA: the root key passphrase was generated and not kept (set ${ROOT_PASSPHRASE_ENV} before the first start ` +
        'to choose one); the root key stays sealed. The server never needs it after this first start.');
    }
  }
  const [rootKeys, issuingKeys] = await Promise.all([generateRsaKeyPair(rootBits, p), generateRsaKeyPair(issuingBits, p)]);
  const now = o.now();
  const nb = new Date(Math.floor(now.getTime() / 1000) * 1000 - 5 * 60_000);
  const rootName = encodeName([['O', 'certim'], ['CN', `certim Root CA (${o.domain})`]]);
  const rootSki = keyIdentifier(rootKeys.publicKey, p);
  const rootDer = buildCertificate({
    serial: randomSerial(p), issuer: rootName, subject: rootName, notBefore: nb, notAfter: new Date(nb.getTime() + 20 * 365 * DAY),
    publicKey: rootKeys.publicKey,
    extensions: [
      encodeExtension(OID.basicConstraints, true, encodeBasicConstraints({ ca: true, pathLen: 1 })),
      encodeExtension(OID.keyUsage, true, encodeKeyUsage(['keyCertSign', 'cRLSign'])),
      encodeExtension(OID.subjectKeyIdentifier, false, derOctets(rootSki)),
    ],
  }, rootKeys.privateKey, p);
  const issuingName = encodeName([['O', 'certim'], ['CN', `certim Issuing CA (${o.domain})`]]);
  const issuingDer = buildCertificate({
    serial: randomSerial(p), issuer: rootName, subject: issuingName, notBefore: nb, notAfter: new Date(nb.getTime() + 10 * 365 * DAY),
    publicKey: issuingKeys.publicKey,
    extensions: [
      encodeExtension(OID.basicConstraints, true, encodeBasicConstraints({ ca: true, pathLen: 0 })),
      encodeExtension(OID.keyUsage, true, encodeKeyUsage(['keyCertSign', 'cRLSign'])),
      encodeExtension(OID.subjectKeyIdentifier, false, derOctets(keyIdentifier(issuingKeys.publicKey, p))),
      encodeExtension(OID.authorityKeyIdentifier, false, encodeAuthorityKeyIdentifier(rootSki)),
    ],
  }, rootKeys.privateKey, p);
  const issuingPass = await issuingPassphrase(dir, o, true);
  await writeAtomic(join(dir, 'root.key'), await encryptPrivateKey(rootKeys.privateKey, rootPass, { provider: p }), 0o600);
  await writeAtomic(join(dir, 'issuing.key'), await encryptPrivateKey(issuingKeys.privateKey, issuingPass, { provider: p }), 0o600);
  await writeAtomic(join(dir, 'issuing.crt'), toPem('CERTIFICATE', issuingDer), 0o644);
  await writeAtomic(join(dir, 'chain.pem'), '', 0o644);
  // root.crt last: its presence marks a complete CA.
  await writeAtomic(join(dir, 'root.crt'), toPem('CERTIFICATE', rootDer), 0o644);
}

/**
 * Opens the CA in `<dataDir>/ca/`, creating a root + issuing CA on first start (RSA-3072 by default) and reusing
 * them afterwards. Throws BAD_PASSPHRASE when the issuing key cannot be opened (issuing.pass, else the configured
 * passphrase / CERTIM_CA_PASSPHRASE).
 */
export async function openCertificateAuthority(opts: CaOptions): Promise<CertificateAuthority> {
  const o: CaInternals = {
    dataDir: opts.dataDir,
    domain: opts.domain.toLowerCase(),
    ledger: opts.ledger,
    crlUrl: opts.crlUrl ?? `https://${opts.domain.toLowerCase()}${CRL_PATH}`,
    warn: opts.warn ?? ((m) => console.warn(m)),
    now: opts.now ?? (() => new Date()),
    userCertificateDays: opts.userCertificateDays ?? 365,
    crlValidityHours: opts.crlValidityHours ?? MAX_CRL_VALIDITY_HOURS,
    crlRefreshMinutes: opts.crlRefreshMinutes ?? 60,
    provider: opts.provider ?? nodeCryptoProvider,
    env: opts.env ?? process.env,
    ...(opts.passphrase !== undefined ? { passphrase: opts.passphrase } : {}),
    ...(opts.rootPassphraseNotice ? { rootPassphraseNotice: opts.rootPassphraseNotice } : {}),
  };
  if (!/^[a-z0-9.-]+$/.test(o.domain)) throw new PkiError('INVALID_ARGUMENT', `bad domain "${opts.domain}"`);
  if (!(o.crlValidityHours > 0 && o.crlValidityHours <= MAX_CRL_VALIDITY_HOURS)) {
    throw new PkiError('INVALID_ARGUMENT', `crlValidityHours must be in (0, ${MAX_CRL_VALIDITY_HOURS}]`);
  }
  if (!(o.crlRefreshMinutes > 0 && o.crlRefreshMinutes * 60 < o.crlValidityHours * 3600)) {
    throw new PkiError('INVALID_ARGUMENT', 'crlRefreshMinutes must be positive and shorter than the CRL validity');
  }
  const rootBits = opts.rootKeyBits ?? DEFAULT_RSA_BITS;
  if (rootBits < 3072) throw new PkiError('WEAK_KEY', 'the root key must be at least 3072 bits');
  const dir = caDir(o.dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (!(await exists(join(dir, 'root.crt')))) await createHierarchy(dir, o, rootBits, opts.issuingKeyBits ?? DEFAULT_RSA_BITS);
  if (await exists(join(dir, 'root.pass'))) {
    o.warn(`certim CA: ${join(dir, 'root.pass')} (written by an older certim) makes the root key usable from the data ` +
      'directory alone: record the passphrase somewhere offline, then delete the file. The server does not need it.');
  }
  const p = o.provider;
  const root = parseCertificate(await readFile(join(dir, 'root.crt'), 'utf8'), p);
  const issuing = parseCertificate(await readFile(join(dir, 'issuing.crt'), 'utf8'), p);
  const intermediates = (await exists(join(dir, 'chain.pem')))
    ? parseCertificatesPem(await readFile(join(dir, 'chain.pem'), 'utf8'), p)
    : [];
  const issuingKey = await readPrivateKey(await readFile(join(dir, 'issuing.key'), 'utf8'), await issuingPassphrase(dir, o, false), p);
  if (!Buffer.from(spkiOf(issuingKey, p)).equals(Buffer.from(issuing.spki))) {
    throw new PkiError('CA_MISMATCH', `${join(dir, 'issuing.key')} does not belong to ${join(dir, 'issuing.crt')}`);
  }
  const extra = await loadTrusted(dir, p, opts.extraTrustAnchors ?? []);
  return new CertificateAuthority(o, root, issuing, issuingKey, intermediates, extra);
}

/** Reads only the root certificate of a CA directory (no keys, no passphrase): for `certim admin ca show`. */
export async function readRootCertificate(dataDir: string): Promise<Certificate> {
  const f = join(caDir(dataDir), 'root.crt');
  let pem: string;
  try {
    pem = await readFile(f, 'utf8');
  } catch (e) {
    throw new PkiError('NOT_FOUND', `no CA found at ${f} (start the server once to create it)`, { cause: e });
  }
  return parseCertificate(pem);
}
