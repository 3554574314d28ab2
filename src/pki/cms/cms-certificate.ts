/**
 * Per-certificate data the Secure IM codec needs on every message, computed once and cached: the public key's
 * SubjectPublicKeyInfo (the provider imports it once per algorithm and caches the key, crypto.ts: re-importing per
 * call costs more than the RSA math, docs/performance.md §1.3), the IssuerAndSerialNumber DER and the
 * SubjectKeyIdentifier that CMS uses to name the certificate, the subject CN (the screen name) and the SHA-256
 * fingerprint. Parsed with our own DER reader: no `node:` import (the web client shares this module).
 */
import { toHex } from '../../wire/bytes.js';
import { sha256 } from '../../wire/sha256.js';
import { Asn1Error, type Asn1, children, parseAsn1, rawOf, readBitString, readOctets, readString, readUnsignedBytes, seqOf, TAG, der } from '../asn1/der.js';
import { knownOid, OID } from './oids.js';

/** A certificate prepared for CMS use. Immutable; safe to share. */
export interface CmsCertificate {
  /** The certificate DER. */
  readonly der: Uint8Array;
  /** SubjectPublicKeyInfo DER (a view into `der`; the identity of this array keys the provider's key cache). */
  readonly spki: Uint8Array;
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

/** Anything carrying certificate DER in `raw` (node:crypto's X509Certificate, for Node callers). */
export interface RawCertificate {
  readonly raw: Uint8Array;
}

/** A certificate as callers may pass it. */
export type CertificateInput = Uint8Array | RawCertificate | CmsCertificate;

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
  const derBytes = input instanceof Uint8Array ? input : new Uint8Array(input.raw);
  const fingerprint = toHex(sha256(derBytes));
  let cert = byFingerprint.get(fingerprint);
  if (!cert) {
    cert = build(derBytes, fingerprint);
    if (byFingerprint.size >= MAX_BY_FINGERPRINT) byFingerprint.delete(byFingerprint.keys().next().value!);
    byFingerprint.set(fingerprint, cert);
  }
  byObject.set(input, cert);
  return cert;
}

function isPrepared(x: CertificateInput): x is CmsCertificate {
  return !(x instanceof Uint8Array) && 'issuerAndSerial' in x;
}

function build(derBytes: Uint8Array, fingerprint: string): CmsCertificate {
  const copy = Uint8Array.from(derBytes);
  const certSeq = seqOf(parseAsn1(copy), 'Certificate', 3);
  const tbs = seqOf(certSeq[0], 'TBSCertificate', 6);
  let i = tbs[0]!.tag === 0xa0 ? 1 : 0; // optional [0] version
  const serial = tbs[i++]!;
  i++; // signature AlgorithmIdentifier
  const issuer = tbs[i++]!;
  i++; // validity
  const subject = tbs[i++]!;
  const spkiNode = tbs[i++];
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
  if (!spkiNode) throw new Asn1Error('TRUNCATED', 0, 'TBSCertificate too short');
  return {
    der: copy,
    spki: rawOf(spkiNode),
    modulusBytes: rsaModulusBytes(spkiNode),
    issuerAndSerial: der.seq(rawOf(issuer), rawOf(serial)),
    ski,
    commonName,
    fingerprint,
    keyTransport,
  };
}

/** RSA modulus length in bytes from a SubjectPublicKeyInfo (RFC 8017 A.1.1), 0 for other key types. */
function rsaModulusBytes(spki: Asn1): number {
  const [alg, key] = seqOf(spki, 'SubjectPublicKeyInfo', 2);
  const algOid = children(alg!)[0];
  if (!algOid || algOid.tag !== TAG.OID || knownOid(algOid) !== OID.rsaEncryption) return 0;
  const bits = readBitString(key!);
  const [n] = seqOf(parseAsn1(bits.bytes), 'RSAPublicKey', 2);
  return readUnsignedBytes(n!).length;
}
