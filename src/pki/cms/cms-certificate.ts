/**
 * Per-certificate data the Secure IM codec needs on every message, computed once and cached: the public KeyObject
 * (re-importing it per call costs more than the RSA math, docs/performance.md §1.3), the IssuerAndSerialNumber DER and the
 * SubjectKeyIdentifier that CMS uses to name the certificate, the subject CN (the screen name) and the SHA-256
 * fingerprint.
 */
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { Asn1Error, children, parseAsn1, rawOf, readBitString, readOctets, readString, seqOf, TAG, der } from '../asn1/der.js';
import { knownOid, OID } from './oids.js';

/** A certificate prepared for CMS use. Immutable; safe to share. */
export interface CmsCertificate {
  /** The certificate DER. */
  readonly der: Uint8Array;
  /** node's parsed certificate (validity, checkPrivateKey, verify). */
  readonly x509: X509Certificate;
  /** Cached public key. */
  readonly publicKey: KeyObject;
  /** RSA modulus length in bytes (0 for non-RSA keys). */
  readonly modulusBytes: number;
  /** DER of IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber INTEGER } (RFC 5652 §10.2.4). */
  readonly issuerAndSerial: Uint8Array;
  /** SubjectKeyIdentifier extension value, if present. */
  readonly ski: Uint8Array | undefined;
  /** Subject commonName (the screen name for certim certificates), or '' if none. */
  readonly commonName: string;
  /** Lowercase hex SHA-256 of the DER. */
  readonly fingerprint: string;
  /**
   * False when a keyUsage extension is present without keyEncipherment (a signing-only certificate). The decoder
   * never unwraps a content key with such a certificate's private key: a decryption service on a signing key would
   * let an attacker who can submit ciphertexts obtain signatures (docs/protocol.md §6.2).
   */
  readonly keyTransport: boolean;
}

/** A certificate as callers may pass it. */
export type CertificateInput = Uint8Array | X509Certificate | CmsCertificate;

const byObject = new WeakMap<object, CmsCertificate>();
const byFingerprint = new Map<string, CmsCertificate>();
const MAX_BY_FINGERPRINT = 2048;

/**
 * Returns the prepared form of a certificate, from cache when possible (by object identity first, then by content
 * hash, bounded). Throws PkiError-free `Error`s only for undecodable certificates; callers on the decode path catch.
 */
export function prepareCertificate(input: CertificateInput): CmsCertificate {
  if (isPrepared(input)) return input;
  const hit = byObject.get(input);
  if (hit) return hit;
  const derBytes = input instanceof X509Certificate ? new Uint8Array(input.raw) : input;
  const fingerprint = createHash('sha256').update(derBytes).digest('hex');
  let cert = byFingerprint.get(fingerprint);
  if (!cert) {
    cert = build(derBytes, input instanceof X509Certificate ? input : new X509Certificate(derBytes), fingerprint);
    if (byFingerprint.size >= MAX_BY_FINGERPRINT) byFingerprint.delete(byFingerprint.keys().next().value!);
    byFingerprint.set(fingerprint, cert);
  }
  byObject.set(input, cert);
  return cert;
}

function isPrepared(x: CertificateInput): x is CmsCertificate {
  return !(x instanceof Uint8Array) && !(x instanceof X509Certificate);
}

function build(derBytes: Uint8Array, x509: X509Certificate, fingerprint: string): CmsCertificate {
  const copy = Uint8Array.from(derBytes);
  const certSeq = seqOf(parseAsn1(copy), 'Certificate', 3);
  const tbs = seqOf(certSeq[0], 'TBSCertificate', 6);
  let i = tbs[0]!.tag === 0xa0 ? 1 : 0; // optional [0] version
  const serial = tbs[i++]!;
  i++; // signature AlgorithmIdentifier
  const issuer = tbs[i++]!;
  i++; // validity
  const subject = tbs[i++]!;
  i++; // subjectPublicKeyInfo
  let ski: Uint8Array | undefined;
  let keyTransport = true;
  for (; i < tbs.length; i++) {
    const t = tbs[i]!;
    if (t.tag !== 0xa3) continue;
    const extSeq = children(t)[0];
    for (const ext of seqOf(extSeq, 'Extensions')) {
      const parts = seqOf(ext, 'Extension', 2);
      if (parts[0]!.tag === TAG.OID && knownOid(parts[0]!) === OID.subjectKeyIdentifier) {
        const inner = parseAsn1(readOctets(parts[parts.length - 1]!));
        ski = Uint8Array.from(readOctets(inner));
      } else if (parts[0]!.tag === TAG.OID && knownOid(parts[0]!) === OID.keyUsage) {
        // KeyUsage ::= BIT STRING; keyEncipherment is bit 2, i.e. 0x20 of the first byte (RFC 5280 §4.2.1.3).
        const bits = readBitString(parseAsn1(readOctets(parts[parts.length - 1]!))).bytes;
        keyTransport = bits.length > 0 && (bits[0]! & 0x20) !== 0;
      }
    }
  }
  let commonName = '';
  if (!issuer || !serial || !subject) throw new Asn1Error('TRUNCATED', 0, 'TBSCertificate too short');
  for (const rdn of children(subject)) {
    for (const atv of children(rdn)) {
      const kv = seqOf(atv, 'AttributeTypeAndValue', 2);
      if (kv[0]!.tag === TAG.OID && knownOid(kv[0]!) === OID.commonName) commonName = readString(kv[1]!);
    }
  }
  const publicKey = x509.publicKey;
  const bits = publicKey.asymmetricKeyType === 'rsa' ? publicKey.asymmetricKeyDetails?.modulusLength ?? 0 : 0;
  return {
    der: copy,
    x509,
    publicKey,
    modulusBytes: Math.ceil(bits / 8),
    issuerAndSerial: der.seq(rawOf(issuer), rawOf(serial)),
    ski,
    commonName,
    fingerprint,
    keyTransport,
  };
}
