/**
 * X.509 v2 CRLs (RFC 5280 §5): build and sign the CA's CRL, parse any CRL, and look serials up in it.
 *
 * CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
 * TBSCertList ::= SEQUENCE { version INTEGER OPTIONAL (v2), signature, issuer Name, thisUpdate Time,
 *   nextUpdate Time OPTIONAL, revokedCertificates SEQUENCE OF SEQUENCE { userCertificate CertificateSerialNumber,
 *   revocationDate Time, crlEntryExtensions Extensions OPTIONAL } OPTIONAL, crlExtensions [0] EXPLICIT Extensions OPTIONAL }
 */
import type { KeyObject } from 'node:crypto';
import {
  der, parseAsn1, seqOf, parseAt, rawOf, readBigInt, readSmallInt, readTime, readBitString, toPem, ctxTag, TAG,
  Asn1Error, type Asn1,
} from './asn1/der.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';
import { algorithmOid, SHA256_WITH_RSA, signSha256Rsa, verifySignature } from './algorithms.js';
import { parseName, type DistinguishedName } from './name.js';
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
    const parts = [der.int(Buffer.from(r.serial.length % 2 ? `0${r.serial}` : r.serial, 'hex')), der.time(r.revokedAt)];
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
  /** authorityKeyIdentifier, if present. */
  authorityKeyId: Uint8Array | undefined;
  /** Revoked serials (lowercase hex) -> entry. */
  entries: Map<string, CrlEntry>;
}

/** Parses a CRL from DER or PEM ("X509 CRL"). Throws MALFORMED. */
export function parseCrl(input: Uint8Array | string): CertificateList {
  const bytes = derOrPem(input, (label) => label === 'X509 CRL', 'X509 CRL');
  try {
    const [tbsN, algN, sigN] = seqOf(parseAsn1(bytes), 'CertificateList', 3);
    const kids = seqOf(tbsN, 'TBSCertList', 4);
    let i = 0;
    if (kids[0]!.tag === TAG.INTEGER) {
      if (readSmallInt(kids[0]!) !== 1) throw new PkiError('MALFORMED', 'unsupported CRL version');
      i++;
    }
    const inner = algorithmOid(kids[i++]!);
    const issuer = parseName(kids[i++]!);
    const thisUpdate = readTime(kids[i++]!);
    let nextUpdate: Date | undefined;
    const isTime = (n: Asn1 | undefined): boolean => n !== undefined && (n.tag === TAG.UTC_TIME || n.tag === TAG.GENERALIZED_TIME);
    if (isTime(kids[i])) nextUpdate = readTime(kids[i++]!);
    const entries = new Map<string, CrlEntry>();
    if (kids[i]?.tag === TAG.SEQUENCE) {
      for (const e of seqOf(kids[i++], 'revokedCertificates')) {
        const [serN, dateN, extN] = seqOf(e, 'revokedCertificate', 2);
        let reason: RevocationReason = 'unspecified';
        if (extN) {
          for (const x of parseExtensions(extN)) {
            if (x.oid === OID.cRLReason) reason = REASON_NAMES[readSmallInt(parseAsn1(x.value))] ?? 'unspecified';
          }
        }
        entries.set(serialHex(serN!), { revokedAt: readTime(dateN!), reason });
      }
    }
    let crlNumber: bigint | undefined;
    let authorityKeyId: Uint8Array | undefined;
    if (kids[i]?.tag === ctxTag(0, true)) {
      const exts = kids[i]!;
      const extSeq = parseAt(exts.buf, exts.contentStart, exts.contentEnd);
      for (const x of parseExtensions(extSeq)) {
        if (x.oid === OID.cRLNumber) crlNumber = readBigInt(parseAsn1(x.value));
        else if (x.oid === OID.authorityKeyIdentifier) authorityKeyId = decodeAuthorityKeyIdentifier(parseAsn1(x.value));
        else if (x.critical) throw new PkiError('MALFORMED', `unsupported critical CRL extension ${x.oid}`);
      }
    }
    const signatureAlgorithm = algorithmOid(algN!);
    if (inner !== signatureAlgorithm) throw new PkiError('MALFORMED', 'TBSCertList.signature differs from signatureAlgorithm');
    return {
      der: bytes, tbs: rawOf(tbsN!), signatureAlgorithm, signature: readBitString(sigN!).bytes, issuer, thisUpdate,
      nextUpdate, crlNumber, authorityKeyId, entries,
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
