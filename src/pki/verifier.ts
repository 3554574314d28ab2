/**
 * Decides whether a certificate may be used for a screen name and purpose (issue 3): chain to a trust anchor (this
 * server's CA root plus admin-configured CAs), signatures, validity windows, key strength, the OSCAR name binding,
 * keyUsage/extKeyUsage for the purpose, and revocation (CRLs and/or a lookup callback such as the CA ledger).
 *
 * Every rejection carries a distinct stable code and a human-readable reason, because users see these reasons
 * ("Bob's certificate was revoked on ...") and tests match on the codes. Checks run in a fixed order — structure,
 * chain and signatures first (nothing else means anything for a forged certificate), then key strength, time,
 * name, usage, revocation — so each defect maps to one code.
 */
import { OID } from './oids.js';
import { PkiError } from './errors.js';
import { hashForSignatureAlgorithm, verifySignature } from './algorithms.js';
import { parseCertificate, type Certificate } from './x509-parse.js';
import { parseCrl, verifyCrlSignature, type CertificateList } from './crl.js';
import { sameName, formatName } from './name.js';
import { normalizeScreenName } from './screen-name.js';
import { MIN_RSA_BITS } from './keys.js';
import { VERIFY_RULES, type VerifyPurpose } from './profiles.js';
import type { RevocationReason } from './ledger.js';
import { nodeCryptoProvider, type CryptoProvider } from './provider.js';

/** Why a certificate was refused. */
export type VerifyFailureCode =
  | 'MALFORMED' // not a parseable certificate, or a CA cert without CA rights
  | 'UNTRUSTED_ISSUER' // no chain to a configured trust anchor
  | 'BAD_SIGNATURE' // a signature in the chain does not verify (tampered or forged)
  | 'WEAK_ALGORITHM' // signed with MD5 (or SHA-1 unless allowed)
  | 'UNSUPPORTED_CRITICAL_EXTENSION' // a critical extension we do not understand
  | 'WEAK_KEY' // RSA under 2048 bits
  | 'NOT_YET_VALID' // now < notBefore
  | 'EXPIRED' // now > notAfter
  | 'WRONG_NAME' // subject does not name the expected screen name / host
  | 'WRONG_KEY_USAGE' // keyUsage/extKeyUsage do not allow the purpose
  | 'REVOKED' // on a CRL or marked revoked by the callback
  | 'REVOCATION_UNKNOWN'; // revocation info required but none covered the certificate

/** Success: the chain from the leaf up to and including the trust anchor. */
export interface VerifyOk {
  /** Always true. */
  ok: true;
  /** Leaf first, anchor last. */
  chain: Certificate[];
}

/** Failure with a stable code and a sentence a user can read. */
export interface VerifyFailure {
  /** Always false. */
  ok: false;
  /** Stable code. */
  code: VerifyFailureCode;
  /** Human-readable explanation. */
  reason: string;
}

/** Result of {@link verifyCertificate}. */
export type VerifyResult = VerifyOk | VerifyFailure;

/** Revocation status returned by a lookup callback. */
export interface RevocationStatus {
  /** When it was revoked. */
  revokedAt: Date;
  /** Why. */
  reason: RevocationReason;
}

/** A certificate given as parsed view, DER or PEM. */
export type CertificateInput = Certificate | Uint8Array | string;

/** Options of {@link verifyCertificate}. */
export interface VerifyOptions {
  /** What the certificate will be used for. */
  purpose: VerifyPurpose;
  /** The screen name it must belong to (encrypt/sign/tls-client); compared OSCAR-normalized. */
  screenName?: string;
  /** Host name or IP it must name (tls-server). */
  hostname?: string;
  /** Trusted roots / CAs (this server's root plus admin-configured CAs). */
  trustAnchors: readonly CertificateInput[];
  /** Untrusted intermediates that may help build the chain (e.g. our issuing CA). */
  intermediates?: readonly CertificateInput[];
  /** CRLs to honour; ones whose signature does not verify against the issuer are ignored. */
  crls?: readonly (CertificateList | Uint8Array | string)[];
  /** Revocation lookup (e.g. the CA ledger); undefined = not revoked as far as it knows. */
  isRevoked?: (serial: string, issuer: Certificate) => RevocationStatus | undefined | Promise<RevocationStatus | undefined>;
  /** Fail with REVOCATION_UNKNOWN when neither a CRL from the issuer nor the callback covered a certificate. */
  requireRevocationInfo?: boolean;
  /** Verification time; default now. */
  now?: Date;
  /** Accept SHA-1 signatures (old enterprise CAs, classic-client certificates). Default false. */
  allowSha1?: boolean;
  /** Longest chain, anchor included. Default 6. */
  maxChainLength?: number;
  /** Crypto provider. */
  provider?: CryptoProvider;
}

const KNOWN_CRITICAL = new Set<string>([OID.keyUsage, OID.basicConstraints, OID.extKeyUsage, OID.subjectAltName]);

function fail(code: VerifyFailureCode, reason: string): VerifyFailure {
  return { ok: false, code, reason };
}

function toCert(c: CertificateInput, provider: CryptoProvider): Certificate {
  return c instanceof Uint8Array || typeof c === 'string' ? parseCertificate(c, provider) : c;
}

function label(c: Certificate): string {
  return c.subjectCN !== undefined ? `"${c.subjectCN}"` : `"${formatName(c.subject)}"`;
}

function day(d: Date): string {
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function issuedBy(child: Certificate, parent: Certificate): boolean {
  if (!sameName(child.issuer.der, parent.subject.der)) return false;
  if (child.authorityKeyId && parent.subjectKeyId) {
    return Buffer.from(child.authorityKeyId).equals(Buffer.from(parent.subjectKeyId));
  }
  return true;
}

function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase();
  if (p === h) return true;
  if (p.startsWith('*.')) {
    const rest = p.slice(1);
    return h.endsWith(rest) && !h.slice(0, h.length - rest.length).includes('.') && h.length > rest.length;
  }
  return false;
}

/** The local part of an `im:` URI (`im:bob@example.org` -> `bob`), OSCAR-normalized; undefined for other URIs. */
export function imUriScreenName(uri: string): string | undefined {
  const m = /^im:([^@]+)@.+$/i.exec(uri);
  if (!m) return undefined;
  try {
    return normalizeScreenName(decodeURIComponent(m[1]!));
  } catch {
    return undefined;
  }
}

/** Checks the name binding only (exported for callers that already verified the chain). */
export function checkNameBinding(cert: Certificate, screenName: string): VerifyFailure | undefined {
  const want = normalizeScreenName(screenName);
  const imNames = cert.sanUris.map(imUriScreenName).filter((x): x is string => x !== undefined);
  const other = imNames.find((n) => n !== want);
  if (other !== undefined) {
    return fail('WRONG_NAME', `certificate is for screen name "${other}", not "${screenName}"`);
  }
  const cn = cert.subjectCN;
  if (imNames.length === 0 && (cn === undefined || normalizeScreenName(cn) !== want)) {
    return fail('WRONG_NAME', `certificate is for ${cn === undefined ? 'no screen name' : `screen name "${cn}"`}, not "${screenName}"`);
  }
  return undefined;
}

/**
 * Verifies `cert` for `opts.purpose`. Never throws for bad certificates: every problem is a {@link VerifyFailure}.
 */
export async function verifyCertificate(cert: CertificateInput, opts: VerifyOptions): Promise<VerifyResult> {
  const provider = opts.provider ?? nodeCryptoProvider;
  const now = opts.now ?? new Date();
  let leaf: Certificate;
  let anchors: Certificate[];
  let pool: Certificate[];
  try {
    leaf = toCert(cert, provider);
  } catch (e) {
    return fail('MALFORMED', `the certificate cannot be read: ${(e as Error).message}`);
  }
  try {
    anchors = opts.trustAnchors.map((a) => toCert(a, provider));
    pool = (opts.intermediates ?? []).map((a) => toCert(a, provider));
  } catch (e) {
    throw new PkiError('INVALID_ARGUMENT', `a configured trust anchor or intermediate is unreadable: ${(e as Error).message}`, { cause: e });
  }

  // 1. Build the chain, checking each signature as we go up.
  const chain: Certificate[] = [leaf];
  const maxLen = opts.maxChainLength ?? 6;
  let current = leaf;
  for (;;) {
    if (anchors.some((a) => a.fingerprint256 === current.fingerprint256)) break; // reached an anchor itself
    const candidates = [...anchors.filter((a) => issuedBy(current, a)), ...pool.filter((p) => issuedBy(current, p) && !chain.includes(p))];
    if (candidates.length === 0) {
      return fail('UNTRUSTED_ISSUER', chain.length === 1
        ? `certificate ${label(leaf)} was issued by "${formatName(current.issuer)}", which is not a trusted CA`
        : `the chain ends at "${formatName(current.issuer)}", which is not a trusted CA`);
    }
    const hash = hashForSignatureAlgorithm(current.signatureAlgorithm);
    if (!hash) return fail('WEAK_ALGORITHM', `certificate ${label(current)} uses unsupported signature algorithm ${current.signatureAlgorithm}`);
    if (hash === 'sha1' && !opts.allowSha1) return fail('WEAK_ALGORITHM', `certificate ${label(current)} is signed with SHA-1`);
    const parent = candidates.find((c) => verifySignature(current.signatureAlgorithm, current.tbs, current.signature, c.publicKey, provider));
    if (!parent) {
      return fail('BAD_SIGNATURE', `the signature on certificate ${label(current)} does not verify with its issuer's key (tampered or forged)`);
    }
    chain.push(parent);
    if (chain.length > maxLen) return fail('UNTRUSTED_ISSUER', `no trusted chain within ${maxLen} certificates`);
    if (anchors.includes(parent)) break;
    current = parent;
  }

  // 2. CA rights and path lengths of every issuer in the chain.
  for (let i = 1; i < chain.length; i++) {
    const ca = chain[i]!;
    const isAnchor = i === chain.length - 1;
    if (!isAnchor || ca.version === 3) {
      if (!ca.basicConstraints?.ca) return fail('UNTRUSTED_ISSUER', `issuer ${label(ca)} is not a CA certificate`);
      if (ca.keyUsage && !ca.keyUsage.includes('keyCertSign')) return fail('UNTRUSTED_ISSUER', `issuer ${label(ca)} may not sign certificates`);
      const below = i - 1; // intermediates between this CA and the leaf
      if (ca.basicConstraints.pathLen !== undefined && below > ca.basicConstraints.pathLen) {
        return fail('UNTRUSTED_ISSUER', `issuer ${label(ca)} exceeds its path length constraint`);
      }
    }
  }

  // 3. Critical extensions, key strength and validity windows along the chain.
  for (const c of chain) {
    const unknown = c.extensions.find((x) => x.critical && !KNOWN_CRITICAL.has(x.oid));
    if (unknown) return fail('UNSUPPORTED_CRITICAL_EXTENSION', `certificate ${label(c)} has an unsupported critical extension ${unknown.oid}`);
    if (c.keyType === 'rsa' && (c.keyBits ?? 0) < MIN_RSA_BITS) {
      return fail('WEAK_KEY', `certificate ${label(c)} has a ${c.keyBits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required`);
    }
    if (c.keyType !== 'rsa' && c.keyType !== 'ec') return fail('WEAK_KEY', `certificate ${label(c)} has an unsupported ${c.keyType} key`);
  }
  for (const c of chain) {
    const who = c === leaf ? `certificate ${label(c)}` : `CA certificate ${label(c)}`;
    if (now < c.notBefore) return fail('NOT_YET_VALID', `${who} is not valid until ${day(c.notBefore)}`);
    if (now > c.notAfter) return fail('EXPIRED', `${who} expired on ${day(c.notAfter)}`);
  }

  // 4. Name binding.
  if (opts.purpose === 'tls-server') {
    if (opts.hostname !== undefined) {
      const h = opts.hostname;
      const names = [...leaf.subjectAltName.dns, ...leaf.subjectAltName.ips];
      const okName = names.length ? names.some((n) => hostMatches(n, h)) : leaf.subjectCN !== undefined && hostMatches(leaf.subjectCN, h);
      if (!okName) return fail('WRONG_NAME', `certificate ${label(leaf)} is not valid for host "${h}"`);
    }
  } else if (opts.screenName !== undefined) {
    const bad = checkNameBinding(leaf, opts.screenName);
    if (bad) return bad;
  }

  // 5. Key usage for the purpose.
  const rule = VERIFY_RULES[opts.purpose];
  if (leaf.keyUsage && !rule.anyKeyUsage.some((u) => leaf.keyUsage!.includes(u))) {
    return fail('WRONG_KEY_USAGE', `certificate ${label(leaf)} may not be used to ${purposeText(opts.purpose)} (key usage: ${leaf.keyUsage.join(', ') || 'none'})`);
  }
  if (leaf.extKeyUsage && !leaf.extKeyUsage.includes(rule.eku) && !leaf.extKeyUsage.includes(OID.anyExtendedKeyUsage)) {
    return fail('WRONG_KEY_USAGE', `certificate ${label(leaf)} may not be used to ${purposeText(opts.purpose)} (extended key usage does not allow it)`);
  }

  // 6. Revocation of every non-anchor certificate.
  const crls: CertificateList[] = [];
  for (const c of opts.crls ?? []) {
    try {
      crls.push(c instanceof Uint8Array || typeof c === 'string' ? parseCrl(c) : c);
    } catch {
      // An unreadable CRL is skipped; requireRevocationInfo turns the gap into a failure below.
    }
  }
  for (let i = 0; i < chain.length - 1; i++) {
    const c = chain[i]!;
    const issuer = chain[i + 1]!;
    let covered = false;
    for (const crl of crls) {
      if (!sameName(crl.issuer.der, issuer.subject.der) || !verifyCrlSignature(crl, issuer, provider)) continue;
      covered = true;
      const e = crl.entries.get(c.serial);
      if (e) return revoked(c, e);
    }
    if (opts.isRevoked) {
      covered = true;
      const s = await opts.isRevoked(c.serial, issuer);
      if (s) return revoked(c, s);
    }
    if (!covered && opts.requireRevocationInfo) {
      return fail('REVOCATION_UNKNOWN', `no revocation information covers certificate ${label(c)}`);
    }
  }
  return { ok: true, chain };
}

function revoked(c: Certificate, s: RevocationStatus): VerifyFailure {
  const why = s.reason === 'unspecified' ? '' : ` (reason: ${s.reason})`;
  return fail('REVOKED', `certificate ${label(c)} (serial ${c.serial}) was revoked on ${day(s.revokedAt)}${why}`);
}

function purposeText(p: VerifyPurpose): string {
  return p === 'encrypt' ? 'encrypt messages' : p === 'sign' ? 'sign messages' : p === 'tls-server' ? 'identify a TLS server' : 'authenticate a TLS client';
}
