/**
 * Builds and signs X.509 v3 certificates (RFC 5280 §4.1): our own TBSCertificate encoder, signed with
 * sha256WithRSAEncryption (or whatever key the issuer holds: RSA only for now, AIM clients only speak RSA).
 */
import type { KeyObject } from 'node:crypto';
import { der, parseAsn1, seqOf, readBitString } from './asn1/der.js';
import { SHA256_WITH_RSA, signSha256Rsa } from './algorithms.js';
import { PkiError } from './errors.js';
import { publicKeyOf } from './keys.js';
import { nodeCryptoProvider, type CryptoProvider } from './provider.js';

/** Everything that goes into a TBSCertificate. */
export interface CertificateTemplate {
  /** Serial number magnitude bytes (positive; a leading 0x00 is added when the top bit is set). */
  serial: Uint8Array;
  /** Issuer Name DER: copy the issuer certificate's subject DER verbatim so chains match byte for byte. */
  issuer: Uint8Array;
  /** Subject Name DER (encodeName in name.ts). */
  subject: Uint8Array;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** The subject's public key (or its SubjectPublicKeyInfo DER, to skip re-exporting it). */
  publicKey: KeyObject | Uint8Array;
  /** Encoded Extension elements (extensions.ts encodeExtension), in the order to write them. */
  extensions: Uint8Array[];
}

/** Random positive serial of `bytes` bytes (default 16, RFC 5280 allows up to 20 octets), top bit clear, no leading 0. */
export function randomSerial(provider: CryptoProvider = nodeCryptoProvider, bytes = 16): Uint8Array {
  const s = new Uint8Array(provider.randomBytes(bytes));
  s[0] = (s[0]! & 0x7f) | 0x40;
  return s;
}

const spkiCache = new WeakMap<KeyObject, Uint8Array>();

/**
 * SubjectPublicKeyInfo DER of a key (private keys give their public half). Cached per KeyObject: an export costs
 * ~0.2-0.3 ms, a tenth of the RSA-3072 signature that dominates issuing a certificate. Treat the result as read-only.
 */
export function spkiOf(key: KeyObject, provider: CryptoProvider = nodeCryptoProvider): Uint8Array {
  let spki = spkiCache.get(key);
  if (!spki) {
    spki = new Uint8Array(publicKeyOf(key, provider).export({ type: 'spki', format: 'der' }));
    spkiCache.set(key, spki);
  }
  return spki;
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value. */
export function keyIdentifier(key: KeyObject | Uint8Array, provider: CryptoProvider = nodeCryptoProvider): Uint8Array {
  const spki = key instanceof Uint8Array ? key : spkiOf(key, provider);
  const [, bits] = seqOf(parseAsn1(spki), 'SubjectPublicKeyInfo', 2);
  return new Uint8Array(provider.createHash('sha1').update(readBitString(bits!).bytes).digest());
}

/** Encodes the TBSCertificate for a template (v3, sha256WithRSAEncryption). */
export function encodeTbsCertificate(t: CertificateTemplate, provider: CryptoProvider = nodeCryptoProvider): Uint8Array {
  if (t.notAfter.getTime() <= t.notBefore.getTime()) throw new PkiError('INVALID_ARGUMENT', 'notAfter must be after notBefore');
  const parts = [
    der.explicit(0, der.int(2)),
    der.int(t.serial),
    SHA256_WITH_RSA,
    t.issuer,
    der.seq(der.time(t.notBefore), der.time(t.notAfter)),
    t.subject,
    t.publicKey instanceof Uint8Array ? t.publicKey : spkiOf(t.publicKey, provider),
  ];
  if (t.extensions.length) parts.push(der.explicit(3, der.seq(...t.extensions)));
  return der.seq(...parts);
}

/** Builds and signs a certificate; returns its DER. The issuer key must be RSA. */
export function buildCertificate(t: CertificateTemplate, issuerKey: KeyObject, provider: CryptoProvider = nodeCryptoProvider): Uint8Array {
  if (issuerKey.asymmetricKeyType !== 'rsa') throw new PkiError('UNSUPPORTED_ALGORITHM', 'issuer key must be RSA');
  const tbs = encodeTbsCertificate(t, provider);
  const sig = signSha256Rsa(tbs, issuerKey, provider);
  return der.seq(tbs, SHA256_WITH_RSA, der.bitString(sig));
}
