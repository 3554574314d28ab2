/**
 * X.509 v2 CRLs (RFC 5280 §5): build and sign the CA's CRL, parse any CRL, and look serials up in it.
 *
 * CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
 * TBSCertList ::= SEQUENCE { version INTEGER OPTIONAL (v2), signature, issuer Name, thisUpdate Time,
 *   nextUpdate Time OPTIONAL, revokedCertificates SEQUENCE OF SEQUENCE { userCertificate CertificateSerialNumber,
 *   revocationDate Time, crlEntryExtensions Extensions OPTIONAL } OPTIONAL, crlExtensions [0] EXPLICIT Extensions OPTIONAL }
 */
import { bytesEqual, fromHex } from '../wire/bytes.js';
import type { KeyObject } from 'node:crypto';
import {
  der, parseAsn1, seqOf, rawOf, readBigInt, readSmallInt, readTime, readBitString, toPem, ctxTag, TAG,
  Asn1Error, type Asn1,
} from './asn1/der.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';
import { algorithmOid, SHA256_WITH_RSA, signSha256Rsa, verifySignature } from './algorithms.js';
import { parseName, sameName, type DistinguishedName } from './name.js';
import { encodeExtension, encodeAuthorityKeyIdentifier, parseExtensions, decodeAuthorityKeyIdentifier } from './extensions.js';
import { derOrPem, serialHex, type Certificate } from './x509-parse.js';
import type { RevocationReason, RevokedEntry } from './ledger.js';
import { nodeCryptoProvider, type CryptoProvider } from './provider.js';

/** CRLReason ::= ENUMERATED (RFC 5280 §5.3.1); 7 is unused. */
export const REASON_CODES: Record<RevocationReason, number> = {
  unspecified: 0, keyCompromise: 1, cACompromise: 2, affiliationChanged: 3, superseded: 4, cessationOfOperation: 5,
  certificateHold: 6, removeFromCRL: 8, privilegeWithdrawn: 9, aACompromise: 10,
};
const REASON_NAMES = Object.fromEntries(Object.entries(REASON_CODES).map(([k, v]) => [v, k])) as Record<number, RevocationReason>;

/** True if `s` is a RevocationReason name. */
export function isRevocationReason(s: string): s is RevocationReason {
  return Object.prototype.hasOwnProperty.call(REASON_CODES, s);
}

/** Inputs for {@link buildCrl}. */
export interface CrlOptions {
  /** The CA certificate whose key signs the CRL (its subject becomes the CRL issuer). */
  issuer: Certificate;
  /** The CA's private key. */
  issuerKey: KeyObject;
  /** Revoked entries (serials as lowercase hex). */
  revoked: readonly RevokedEntry[];
  /** Issue time. */
  thisUpdate: Date;
  /** When the next CRL will be out; relying parties treat the CRL as stale after it. */
  nextUpdate: Date;
  /** Monotonically increasing CRL number. */
  crlNumber: bigint;
  /** Crypto provider. */
  provider?: CryptoProvider;
}

/** Builds and signs a v2 CRL; returns DER. */
export function buildCrl(o: CrlOptions): Uint8Array {
  const entries = o.revoked.map((r) => {
    const parts = [der.int(fromHex(r.serial.length % 2 ? `0${r.serial}` : r.serial)), der.time(r.revokedAt)];
    // RFC 5280 §5.3.1: omit the reasonCode rather than write unspecified.
    if (r.reason !== 'unspecified') parts.push(der.seq(encodeExtension(OID.cRLReason, false, der.enumerated(REASON_CODES[r.reason]))));
    return der.seq(...parts);
  });
  const crlExts: Uint8Array[] = [encodeExtension(OID.cRLNumber, false, der.int(o.crlNumber))];
  if (o.issuer.subjectKeyId) crlExts.unshift(encodeExtension(OID.authorityKeyIdentifier, false, encodeAuthorityKeyIdentifier(o.issuer.subjectKeyId)));
  const tbsParts = [der.int(1), SHA256_WITH_RSA, o.issuer.subject.der, der.time(o.thisUpdate), der.time(o.nextUpdate)];
  if (entries.length) tbsParts.push(der.seq(...entries));
  tbsParts.push(der.explicit(0, der.seq(...crlExts)));
  const tbs = der.seq(...tbsParts);
  return der.seq(tbs, SHA256_WITH_RSA, der.bitString(signSha256Rsa(tbs, o.issuerKey, o.provider)));
}

/** Builds a CRL as PEM "X509 CRL". */
export function crlToPem(crlDer: Uint8Array): string {
  return toPem('X509 CRL', crlDer);
}

/** One revoked certificate in a parsed CRL. */
export interface CrlEntry {
  /** When it was revoked. */
  revokedAt: Date;
  /** Why (unspecified when the entry has no reasonCode). */
  reason: RevocationReason;
}

/** A parsed CRL. */
export interface CertificateList {
  /** Whole CRL DER. */
  der: Uint8Array;
  /** TBSCertList DER (signed bytes). */
  tbs: Uint8Array;
  /** Signature algorithm OID. */
  signatureAlgorithm: string;
  /** Signature bytes. */
  signature: Uint8Array;
  /** Issuer name. */
  issuer: DistinguishedName;
  /** thisUpdate. */
  thisUpdate: Date;
  /** nextUpdate, if present. */
  nextUpdate: Date | undefined;
  /** cRLNumber, if present. */
  crlNumber: bigint | undefined;
  /** True when the cRLNumber extension is marked critical (RFC 5280 §5.2.3: it MUST NOT be). */
  crlNumberCritical?: boolean;
  /** authorityKeyIdentifier, if present. */
  authorityKeyId: Uint8Array | undefined;
  /** Revoked serials (lowercase hex, see `serialHex`) -> entry. */
  entries: Map<string, CrlEntry>;
}

function bad(what: string): never {
  throw new PkiError('MALFORMED', `malformed CRL: ${what}`);
}

/**
 * Parses a CRL from DER or PEM ("X509 CRL"). Throws MALFORMED. Strict DER like certificates: exactly three elements
 * in the outer SEQUENCE, the outer and inner signature AlgorithmIdentifiers identical, TBSCertList fields in the order
 * of RFC 5280 §5.1 with nothing extra, v2 whenever extensions are present, no empty revokedCertificates list, and no
 * critical extension we do not understand (CRL or entry; deltas and issuing distribution points are unsupported).
 */
export function parseCrl(input: Uint8Array | string): CertificateList {
  const bytes = derOrPem(input, (label) => label === 'X509 CRL', 'X509 CRL');
  try {
    const outer = seqOf(parseAsn1(bytes), 'CertificateList', 3);
    if (outer.length !== 3) bad('extra data inside the CertificateList SEQUENCE');
    const [tbsN, algN, sigN] = outer as [Asn1, Asn1, Asn1];
    const kids = seqOf(tbsN, 'TBSCertList', 4);
    let i = 0;
    let v2 = false;
    if (kids[0]!.tag === TAG.INTEGER) {
      if (readSmallInt(kids[0]!) !== 1) throw new PkiError('MALFORMED', 'unsupported CRL version');
      v2 = true;
      i++;
    }
    const innerN = kids[i++]!;
    const inner = algorithmOid(innerN);
    const issuer = parseName(kids[i++]!);
    const thisUpdate = readTime(kids[i++]!);
    let nextUpdate: Date | undefined;
    const isTime = (n: Asn1 | undefined): boolean => n !== undefined && (n.tag === TAG.UTC_TIME || n.tag === TAG.GENERALIZED_TIME);
    if (isTime(kids[i])) nextUpdate = readTime(kids[i++]!);
    const entries = new Map<string, CrlEntry>();
    if (kids[i]?.tag === TAG.SEQUENCE) {
      const list = seqOf(kids[i++], 'revokedCertificates');
      if (list.length === 0) bad('empty revokedCertificates (RFC 5280 §5.1.2.6: omit it)');
      for (const e of list) {
        const ek = seqOf(e, 'revokedCertificate', 2);
        if (ek.length > 3) bad('extra data in a revokedCertificates entry');
        const [serN, dateN, extN] = ek;
        if (serN!.tag !== TAG.INTEGER) bad('userCertificate is not an INTEGER');
        let reason: RevocationReason = 'unspecified';
        if (extN) {
          if (!v2) bad('entry extensions in a v1 CRL');
          for (const x of parseExtensions(extN)) {
            if (x.oid === OID.cRLReason) {
              const rc = parseAsn1(x.value);
              if (rc.tag !== TAG.ENUMERATED) bad('cRLReason is not ENUMERATED');
              reason = REASON_NAMES[readSmallInt(rc)] ?? 'unspecified';
            }
            else if (x.critical) bad(`unsupported critical CRL entry extension ${x.oid}`);
          }
        }
        const serial = serialHex(serN!);
        if (entries.has(serial)) bad(`serial ${serial} listed twice`);
        entries.set(serial, { revokedAt: readTime(dateN!), reason });
      }
    }
    let crlNumber: bigint | undefined;
    let crlNumberCritical = false;
    let authorityKeyId: Uint8Array | undefined;
    if (kids[i]?.tag === ctxTag(0, true)) {
      if (!v2) bad('extensions in a v1 CRL');
      const ek = seqOf(kids[i++], '[0] crlExtensions', 1, ctxTag(0, true));
      if (ek.length !== 1) bad('extra data in [0] crlExtensions');
      for (const x of parseExtensions(ek[0]!)) {
        if (x.oid === OID.cRLNumber) {
          const num = parseAsn1(x.value);
          if (num.tag !== TAG.INTEGER) bad('cRLNumber is not an INTEGER');
          crlNumber = readBigInt(num);
          if (crlNumber < 0n) bad('negative cRLNumber');
          crlNumberCritical = x.critical;
        } else if (x.oid === OID.authorityKeyIdentifier) {
          authorityKeyId = decodeAuthorityKeyIdentifier(parseAsn1(x.value));
        } else if (x.critical) {
          throw new PkiError('MALFORMED', `unsupported critical CRL extension ${x.oid}`);
        }
      }
    }
    if (i !== kids.length) bad('unexpected element in TBSCertList');
    const signatureAlgorithm = algorithmOid(algN);
    if (inner !== signatureAlgorithm) throw new PkiError('MALFORMED', 'TBSCertList.signature differs from signatureAlgorithm');
    if (!bytesEqual(rawOf(innerN), rawOf(algN))) bad('signatureAlgorithm parameters differ from TBSCertList.signature');
    const sig = readBitString(sigN);
    if (sig.unused !== 0) bad('signatureValue has unused bits');
    return {
      der: bytes, tbs: rawOf(tbsN), signatureAlgorithm, signature: sig.bytes, issuer, thisUpdate,
      nextUpdate, crlNumber, crlNumberCritical, authorityKeyId, entries,
    };
  } catch (e) {
    if (Asn1Error.is(e)) throw new PkiError('MALFORMED', `malformed CRL: ${e.message}`, { cause: e });
    throw e;
  }
}

/** True when `crl` is signed by `issuer`'s key. */
export function verifyCrlSignature(crl: CertificateList, issuer: Certificate, provider: CryptoProvider = nodeCryptoProvider): boolean {
  try {
    return verifySignature(crl.signatureAlgorithm, crl.tbs, crl.signature, issuer.publicKey, provider);
  } catch (e) {
    if (PkiError.is(e, 'UNSUPPORTED_ALGORITHM')) return false;
    throw e;
  }
}

/** Why a CRL cannot be used at all (one code per reason). */
export type CrlProblemCode =
  | 'CRL_WRONG_ISSUER' // the CRL issuer (name or authorityKeyIdentifier) is not this CA
  | 'CRL_ISSUER_NOT_AUTHORIZED' // the CA's keyUsage lacks cRLSign (RFC 5280 §4.2.1.3)
  | 'CRL_BAD_SIGNATURE' // the signature does not verify with the CA's key (or an unsupported algorithm)
  | 'CRL_NUMBER_MISSING' // no cRLNumber (RFC 5280 §5.2.3: MUST be included)
  | 'CRL_NUMBER_CRITICAL' // cRLNumber marked critical (RFC 5280 §5.2.3: MUST be non-critical)
  | 'CRL_NO_NEXT_UPDATE' // no nextUpdate (RFC 5280 §5.1.2.5: conforming issuers MUST include it), so it never goes stale
  | 'CRL_NOT_YET_VALID'; // thisUpdate is in the future (beyond the allowed clock skew)

/**
 * The state of a CRL for one issuing CA at a given time: `current` (usable), `stale` (signature and issuer fine,
 * but now is past nextUpdate: a newer CRL should exist; a relying party decides how long a grace period it allows,
 * RFC 5280 §6.3.3), or `invalid` with a code.
 */
export type CrlState =
  | { state: 'current'; thisUpdate: Date; nextUpdate: Date }
  | { state: 'stale'; thisUpdate: Date; nextUpdate: Date; staleForMs: number }
  | { state: 'invalid'; code: CrlProblemCode; reason: string };

/** Options of {@link checkCrl}. */
export interface CheckCrlOptions {
  /** Time to judge by; default now. */
  now?: Date;
  /** Tolerated clock difference for thisUpdate in the future; default 5 minutes. */
  clockSkewMs?: number;
  /** Crypto provider. */
  provider?: CryptoProvider;
}

/**
 * Checks a CRL against the CA that is supposed to have issued it, in a fixed order (issuer, cRLSign, signature,
 * cRLNumber, times) so each defect maps to one {@link CrlProblemCode}.
 */
export function checkCrl(crl: CertificateList, issuer: Certificate, o: CheckCrlOptions = {}): CrlState {
  const now = o.now ?? new Date();
  const invalid = (code: CrlProblemCode, reason: string): CrlState => ({ state: 'invalid', code, reason });
  if (!sameName(crl.issuer.der, issuer.subject.der)) return invalid('CRL_WRONG_ISSUER', 'the CRL was issued by another CA');
  if (crl.authorityKeyId && issuer.subjectKeyId && !bytesEqual(crl.authorityKeyId, issuer.subjectKeyId)) {
    return invalid('CRL_WRONG_ISSUER', 'the CRL was signed by another key of this CA');
  }
  if (issuer.keyUsage && !issuer.keyUsage.includes('cRLSign')) {
    return invalid('CRL_ISSUER_NOT_AUTHORIZED', 'the CA certificate may not sign CRLs (keyUsage lacks cRLSign)');
  }
  if (!verifyCrlSignature(crl, issuer, o.provider)) return invalid('CRL_BAD_SIGNATURE', 'the CRL signature does not verify with the CA key');
  if (crl.crlNumber === undefined) return invalid('CRL_NUMBER_MISSING', 'the CRL has no cRLNumber');
  if (crl.crlNumberCritical) return invalid('CRL_NUMBER_CRITICAL', 'the CRL marks cRLNumber critical');
  if (!crl.nextUpdate) return invalid('CRL_NO_NEXT_UPDATE', 'the CRL has no nextUpdate');
  if (crl.thisUpdate.getTime() > now.getTime() + (o.clockSkewMs ?? 300_000)) {
    return invalid('CRL_NOT_YET_VALID', `the CRL is dated ${crl.thisUpdate.toISOString()}, in the future`);
  }
  const staleForMs = now.getTime() - crl.nextUpdate.getTime();
  if (staleForMs > 0) return { state: 'stale', thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate, staleForMs };
  return { state: 'current', thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate };
}
