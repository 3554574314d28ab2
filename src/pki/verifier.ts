/**
 * Decides whether a certificate may be used for a screen name and purpose: RFC 5280 §6 path validation to a trust
 * anchor (this server's CA root plus admin-configured CAs) with path building, then the OSCAR name binding,
 * keyUsage/extKeyUsage for the purpose, and revocation (CRLs and/or a lookup callback such as the CA ledger).
 *
 * Path building: candidate issuers are every anchor and intermediate whose subject matches the certificate's issuer
 * (and whose subjectKeyIdentifier matches its authorityKeyIdentifier, when both exist), anchors first. A depth-first
 * search tries each candidate in turn; when a path fails any check, the next candidate is tried (backtracking), so
 * a bad or expired cross-certificate does not hide a good path. The search is bounded (chain length, paths tried).
 *
 * Every rejection carries a distinct stable code and a human-readable reason, because users see these reasons
 * ("Bob's certificate was revoked on ...") and tests match on the codes. Checks on a path run in a fixed order —
 * signatures, CA rights and path length, critical extensions and key strength, validity, name constraints, name,
 * usage, revocation — so each defect maps to one code. When no path succeeds, the failure reported is the one from
 * the first path that reached a trust anchor, else the one from the path that got furthest from the leaf.
 */
import { bytesEqual } from '../wire/bytes.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';
import { hashForSignatureAlgorithm, verifySignature } from './algorithms.js';
import { parseCertificate, type Certificate } from './x509-parse.js';
import { parseCrl, checkCrl, type CertificateList, type CrlProblemCode } from './crl.js';
import { sameName, formatName } from './name.js';
import { normalizeScreenName } from './screen-name.js';
import { MIN_RSA_BITS } from './keys.js';
import { VERIFY_RULES, type VerifyPurpose } from './profiles.js';
import { checkNameConstraints } from './name-constraints.js';
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
  | 'REVOCATION_UNKNOWN' // revocation info required but none covered the certificate
  | 'REVOCATION_STALE' // revocation info required; the only CRL covering it is past nextUpdate (+ grace)
  | 'ISSUER_NOT_CA' // an issuer lacks basicConstraints cA=TRUE or the keyCertSign key usage (RFC 5280 §6.1.4 (k), (n))
  | 'PATH_LENGTH_EXCEEDED' // more non-self-issued intermediates below a CA than its pathLenConstraint (§4.2.1.9)
  | 'NAME_CONSTRAINTS_VIOLATION' // a name outside a CA's permitted, or inside its excluded, subtrees (§4.2.1.10)
  | 'UNSUPPORTED_NAME_CONSTRAINT'; // a constraint on a name form certim does not interpret, and the cert uses it

/** How the revocation status of one certificate of the chain was established. */
export interface RevocationCoverage {
  /** The certificate's serial (lowercase hex). */
  serial: string;
  /** `crl`: a valid CRL from its issuer; `callback`: the isRevoked lookup; `none`: nothing covered it. */
  source: 'crl' | 'callback' | 'none';
  /** For `crl`: `current`, or `stale` (past nextUpdate but inside `crlGracePeriodMs`). */
  crlState?: 'current' | 'stale';
  /** For `crl`: the nextUpdate of the CRL used. */
  nextUpdate?: Date;
}

/** A CRL that was not used, and why. */
export interface CrlProblem {
  /** Stable code. */
  code: CrlProblemCode | 'CRL_UNREADABLE' | 'CRL_STALE';
  /** Human-readable explanation. */
  reason: string;
}

/** Success: the chain from the leaf up to and including the trust anchor. */
export interface VerifyOk {
  /** Always true. */
  ok: true;
  /** Leaf first, anchor last. */
  chain: Certificate[];
  /** One entry per non-anchor certificate of `chain`, in the same order. */
  revocation?: RevocationCoverage[];
  /** CRLs that were offered but not used (wrong issuer excluded). */
  crlProblems?: CrlProblem[];
}

/** Failure with a stable code and a sentence a user can read. */
export interface VerifyFailure {
  /** Always false. */
  ok: false;
  /** Stable code. */
  code: VerifyFailureCode;
  /** Human-readable explanation. */
  reason: string;
  /** For REVOCATION_UNKNOWN / REVOCATION_STALE: CRLs that were offered but not used. */
  crlProblems?: CrlProblem[];
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
  /**
   * Fail when neither a usable CRL from the issuer nor the callback covered a certificate: REVOCATION_STALE when a
   * valid CRL exists but is past nextUpdate + `crlGracePeriodMs`, else REVOCATION_UNKNOWN.
   */
  requireRevocationInfo?: boolean;
  /**
   * Which certificates `requireRevocationInfo` applies to: the whole chain below the anchor (default), or only the
   * leaf. certim's CA publishes only the issuing CA's CRL (the root key stays offline), so clients checking user
   * certificates against it use 'leaf'; CRLs and the callback are still honoured for every certificate.
   */
  revocationRequiredFor?: 'leaf' | 'chain';
  /**
   * How long after its nextUpdate a CRL still counts as covering (default 0). Entries on a stale CRL always count:
   * a revocation does not expire.
   */
  crlGracePeriodMs?: number;
  /** Verification time; default now. */
  now?: Date;
  /** Accept SHA-1 signatures (old enterprise CAs, classic-client certificates). Default false. */
  allowSha1?: boolean;
  /** Longest chain, anchor included. Default 6. */
  maxChainLength?: number;
  /** Crypto provider. */
  provider?: CryptoProvider;
}

const KNOWN_CRITICAL = new Set<string>([
  OID.keyUsage, OID.basicConstraints, OID.extKeyUsage, OID.subjectAltName, OID.nameConstraints,
]);
/** EC curves we accept (RFC 5480 named curves of at least 256 bits; P-192 and explicit parameters are refused). */
const GOOD_CURVES = new Set(['P-256', 'P-384', 'P-521']);
/** Complete paths tried, and certificates visited, before giving up (bounds the search on hostile intermediate sets). */
const MAX_PATHS = 16;
const MAX_VISITS = 256;

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
    return bytesEqual(child.authorityKeyId, parent.subjectKeyId);
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
  const crls: CertificateList[] = [];
  const unreadable: CrlProblem[] = [];
  for (const c of opts.crls ?? []) {
    try {
      crls.push(c instanceof Uint8Array || typeof c === 'string' ? parseCrl(c) : c);
    } catch (e) {
      unreadable.push({ code: 'CRL_UNREADABLE', reason: (e as Error).message });
    }
  }
  const ctx: PathContext = { opts, provider, now, leaf, anchors, crls, unreadable, sigCache: new Map() };

  // Depth-first path building with backtracking. Failure to report: that of the first path that reached an anchor;
  // else the one that got furthest from the leaf (a dead end above a good signature beats a bad signature below it).
  const maxLen = opts.maxChainLength ?? 6;
  const anchorFps = new Set(anchors.map((a) => a.fingerprint256));
  let firstAnchored: VerifyFailure | undefined;
  let furthest: { depth: number; failure: VerifyFailure } | undefined;
  const note = (depth: number, failure: VerifyFailure): void => {
    if (!furthest || depth > furthest.depth) furthest = { depth, failure };
  };
  let paths = 0;
  let visits = 0;
  const search = async (chain: Certificate[]): Promise<VerifyOk | undefined> => {
    if (++visits > MAX_VISITS) return undefined;
    const current = chain[chain.length - 1]!;
    if (anchorFps.has(current.fingerprint256)) {
      paths++;
      const r = await validatePath(chain, ctx);
      if (r.ok) return r;
      firstAnchored ??= r;
      return undefined;
    }
    if (chain.length >= maxLen) {
      note(chain.length, fail('UNTRUSTED_ISSUER', `no trusted chain within ${maxLen} certificates`));
      return undefined;
    }
    const candidates = [
      ...anchors.filter((a) => issuedBy(current, a)),
      ...pool.filter((p) => issuedBy(current, p) && !anchorFps.has(p.fingerprint256)),
    ].filter((c) => !chain.some((x) => x.fingerprint256 === c.fingerprint256));
    if (candidates.length === 0) {
      note(chain.length, fail('UNTRUSTED_ISSUER', chain.length === 1
        ? `certificate ${label(current)} was issued by "${formatName(current.issuer)}", which is not a trusted CA`
        : `the chain ends at "${formatName(current.issuer)}", which is not a trusted CA`));
    }
    for (const parent of candidates) {
      if (paths >= MAX_PATHS || visits > MAX_VISITS) return undefined;
      const sigFail = checkSignature(current, parent, ctx);
      if (sigFail) {
        note(chain.length, sigFail);
        continue;
      }
      const ok = await search([...chain, parent]);
      if (ok) return ok;
    }
    return undefined;
  };
  const found = await search([leaf]);
  if (found) return found;
  if (firstAnchored) return firstAnchored;
  if (visits > MAX_VISITS || paths >= MAX_PATHS) return fail('UNTRUSTED_ISSUER', `no trusted chain found for certificate ${label(leaf)} (path search limit reached)`);
  return furthest?.failure ?? fail('UNTRUSTED_ISSUER', `no trusted chain found for certificate ${label(leaf)}`);
}

interface PathContext {
  opts: VerifyOptions;
  provider: CryptoProvider;
  now: Date;
  leaf: Certificate;
  anchors: Certificate[];
  crls: CertificateList[];
  unreadable: CrlProblem[];
  sigCache: Map<string, boolean>;
}

/** Algorithm policy and the signature of `child` under `parent`'s key (cached per pair). */
function checkSignature(child: Certificate, parent: Certificate, ctx: PathContext): VerifyFailure | undefined {
  const hash = hashForSignatureAlgorithm(child.signatureAlgorithm);
  if (!hash) return fail('WEAK_ALGORITHM', `certificate ${label(child)} uses unsupported signature algorithm ${child.signatureAlgorithm}`);
  if (hash === 'sha1' && !ctx.opts.allowSha1) return fail('WEAK_ALGORITHM', `certificate ${label(child)} is signed with SHA-1`);
  const key = `${child.fingerprint256}/${parent.fingerprint256}`;
  let ok = ctx.sigCache.get(key);
  if (ok === undefined) {
    ok = verifySignature(child.signatureAlgorithm, child.tbs, child.signature, parent.publicKey, ctx.provider);
    ctx.sigCache.set(key, ok);
  }
  if (!ok) return fail('BAD_SIGNATURE', `the signature on certificate ${label(child)} does not verify with its issuer's key (tampered or forged)`);
  return undefined;
}

/** Everything after the signatures, for one complete path (leaf first, anchor last). */
async function validatePath(chain: Certificate[], ctx: PathContext): Promise<VerifyResult> {
  const { opts, now, leaf } = ctx;
  const n = chain.length;

  // CA rights and path lengths of every issuer. The anchor is held to its own v3 extensions too (as OpenSSL does).
  for (let i = 1; i < n; i++) {
    const ca = chain[i]!;
    const isAnchor = i === n - 1;
    if (!isAnchor || ca.version === 3) {
      if (!ca.basicConstraints?.ca) return fail('ISSUER_NOT_CA', `issuer ${label(ca)} is not a CA certificate`);
      if (ca.keyUsage && !ca.keyUsage.includes('keyCertSign')) return fail('ISSUER_NOT_CA', `issuer ${label(ca)} may not sign certificates (keyUsage lacks keyCertSign)`);
      // RFC 5280 §4.2.1.9: pathLenConstraint counts the non-self-issued intermediates below this CA.
      let below = 0;
      for (let j = 1; j < i; j++) if (!chain[j]!.selfIssued) below++;
      if (ca.basicConstraints.pathLen !== undefined && below > ca.basicConstraints.pathLen) {
        return fail('PATH_LENGTH_EXCEEDED', `issuer ${label(ca)} allows ${ca.basicConstraints.pathLen} intermediate CA(s) below it; this chain has ${below}`);
      }
    }
  }

  // Critical extensions and key strength along the chain.
  for (const c of chain) {
    const unknown = c.extensions.find((x) => x.critical && !KNOWN_CRITICAL.has(x.oid));
    if (unknown) return fail('UNSUPPORTED_CRITICAL_EXTENSION', `certificate ${label(c)} has an unsupported critical extension ${unknown.oid}`);
    if (c.keyType === 'rsa' && (c.keyBits ?? 0) < MIN_RSA_BITS) {
      return fail('WEAK_KEY', `certificate ${label(c)} has a ${c.keyBits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required`);
    }
    if (c.keyType === 'ec' && !GOOD_CURVES.has(c.keyCurve ?? '')) {
      const what = c.keyCurve === 'explicit' ? 'explicit curve parameters' : `curve ${c.keyCurve ?? 'unknown'}`;
      return fail('WEAK_KEY', `certificate ${label(c)} has an EC key with ${what}; only P-256, P-384 and P-521 are accepted`);
    }
    if (c.keyType !== 'rsa' && c.keyType !== 'ec') return fail('WEAK_KEY', `certificate ${label(c)} has an unsupported ${c.keyType} key`);
  }

  // Validity windows.
  for (const c of chain) {
    const who = c === leaf ? `certificate ${label(c)}` : `CA certificate ${label(c)}`;
    if (now < c.notBefore) return fail('NOT_YET_VALID', `${who} is not valid until ${day(c.notBefore)}`);
    if (now > c.notAfter) return fail('EXPIRED', `${who} expired on ${day(c.notAfter)}`);
  }

  // Name constraints of every CA (anchor included) over every certificate below it; self-issued intermediates are
  // exempt (RFC 5280 §6.1.3 (b)).
  for (let i = n - 1; i >= 1; i--) {
    const nc = chain[i]!.nameConstraints;
    if (!nc) continue;
    for (let j = i - 1; j >= 0; j--) {
      const c = chain[j]!;
      if (j > 0 && c.selfIssued) continue;
      const bad = checkNameConstraints(c, nc, j === 0);
      if (bad) return fail(bad.code, `certificate ${label(c)}: ${bad.reason} (constrained by ${label(chain[i]!)})`);
    }
  }

  // Name binding.
  if (opts.purpose === 'tls-server') {
    if (opts.hostname !== undefined) {
      const h = opts.hostname;
      const names = [...leaf.subjectAltName.dns, ...leaf.subjectAltName.ips];
      const okName = names.length ? names.some((x) => hostMatches(x, h)) : leaf.subjectCN !== undefined && hostMatches(leaf.subjectCN, h);
      if (!okName) return fail('WRONG_NAME', `certificate ${label(leaf)} is not valid for host "${h}"`);
    }
  } else if (opts.screenName !== undefined) {
    const bad = checkNameBinding(leaf, opts.screenName);
    if (bad) return bad;
  }

  // Key usage for the purpose: the leaf's keyUsage and EKU, and the EKU of every CA that has one (a CA whose EKU
  // lacks the purpose may not vouch for it; the same rule as OpenSSL's purpose check).
  const rule = VERIFY_RULES[opts.purpose];
  if (leaf.keyUsage && !rule.anyKeyUsage.some((u) => leaf.keyUsage!.includes(u))) {
    return fail('WRONG_KEY_USAGE', `certificate ${label(leaf)} may not be used to ${purposeText(opts.purpose)} (key usage: ${leaf.keyUsage.join(', ') || 'none'})`);
  }
  for (let i = 0; i < n; i++) {
    const c = chain[i]!;
    if (c.extKeyUsage && !c.extKeyUsage.includes(rule.eku) && !c.extKeyUsage.includes(OID.anyExtendedKeyUsage)) {
      return fail('WRONG_KEY_USAGE', i === 0
        ? `certificate ${label(c)} may not be used to ${purposeText(opts.purpose)} (extended key usage does not allow it)`
        : `CA certificate ${label(c)} may not vouch for certificates used to ${purposeText(opts.purpose)} (its extended key usage does not allow it)`);
    }
  }

  return checkRevocation(chain, ctx);
}

/** Revocation of every non-anchor certificate: valid CRLs from its issuer, then the lookup callback. */
async function checkRevocation(chain: Certificate[], ctx: PathContext): Promise<VerifyResult> {
  const { opts, now, provider } = ctx;
  const grace = opts.crlGracePeriodMs ?? 0;
  const problems: CrlProblem[] = [...ctx.unreadable];
  const coverage: RevocationCoverage[] = [];
  for (let i = 0; i < chain.length - 1; i++) {
    const c = chain[i]!;
    const issuer = chain[i + 1]!;
    let cov: RevocationCoverage = { serial: c.serial, source: 'none' };
    let staleSeen = false;
    for (const crl of ctx.crls) {
      if (!sameName(crl.issuer.der, issuer.subject.der)) continue;
      const st = checkCrl(crl, issuer, { now, provider });
      if (st.state === 'invalid') {
        problems.push({ code: st.code, reason: st.reason });
        continue;
      }
      const e = crl.entries.get(c.serial);
      if (e) return revoked(c, e);
      if (st.state === 'current') {
        if (cov.source !== 'crl' || cov.crlState === 'stale') cov = { serial: c.serial, source: 'crl', crlState: 'current', nextUpdate: st.nextUpdate };
      } else if (st.staleForMs <= grace) {
        if (cov.source !== 'crl') cov = { serial: c.serial, source: 'crl', crlState: 'stale', nextUpdate: st.nextUpdate };
      } else {
        staleSeen = true;
        problems.push({ code: 'CRL_STALE', reason: `the CRL from ${label(issuer)} expired on ${day(st.nextUpdate)}` });
      }
    }
    if (opts.isRevoked) {
      const s = await opts.isRevoked(c.serial, issuer);
      if (s) return revoked(c, s);
      if (cov.source === 'none') cov = { serial: c.serial, source: 'callback' };
    }
    if (cov.source === 'none' && opts.requireRevocationInfo && (i === 0 || opts.revocationRequiredFor !== 'leaf')) {
      const f = staleSeen
        ? fail('REVOCATION_STALE', `the only CRL covering certificate ${label(c)} is out of date (past its nextUpdate)`)
        : fail('REVOCATION_UNKNOWN', `no revocation information covers certificate ${label(c)}`);
      return problems.length ? { ...f, crlProblems: problems } : f;
    }
    coverage.push(cov);
  }
  const ok: VerifyOk = { ok: true, chain, revocation: coverage };
  if (problems.length) ok.crlProblems = problems;
  return ok;
}

function revoked(c: Certificate, s: RevocationStatus): VerifyFailure {
  const why = s.reason === 'unspecified' ? '' : ` (reason: ${s.reason})`;
  return fail('REVOKED', `certificate ${label(c)} (serial ${c.serial}) was revoked on ${day(s.revokedAt)}${why}`);
}

function purposeText(p: VerifyPurpose): string {
  return p === 'encrypt' ? 'encrypt messages' : p === 'sign' ? 'sign messages' : p === 'tls-server' ? 'identify a TLS server' : 'authenticate a TLS client';
}
