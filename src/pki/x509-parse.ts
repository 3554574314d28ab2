/**
 * Parses an X.509 certificate (RFC 5280 §4.1) with our DER reader into a typed view. The public key becomes a cached
 * KeyObject once, here, so the verifier and CMS code never re-import it (PERF-FACTS: per-call import costs ~3.5x).
 */
import type { KeyObject } from 'node:crypto';
import {
  parseAsn1, seqOf, rawOf, readSmallInt, readTime, readBitString, contentOf, fromPem, ctxTag, TAG, Asn1Error,
  type Asn1,
} from './asn1/der.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';
import { algorithmOid } from './algorithms.js';
import { parseName, commonNameOf, type DistinguishedName } from './name.js';
import {
  parseExtensions, decodeKeyUsage, decodeExtKeyUsage, decodeBasicConstraints, decodeGeneralNames,
  decodeAuthorityKeyIdentifier, decodeCrlDistributionPoints, type Extension, type KeyUsage, type BasicConstraints,
  type GeneralNames,
} from './extensions.js';
import { nodeCryptoProvider, type CryptoProvider } from './provider.js';

/** The typed view of one certificate. Byte fields are views into `der`. */
export interface Certificate {
  /** The whole certificate, DER. */
  der: Uint8Array;
  /** The TBSCertificate DER (what the signature covers). */
  tbs: Uint8Array;
  /** signatureAlgorithm OID. */
  signatureAlgorithm: string;
  /** signatureValue bytes. */
  signature: Uint8Array;
  /** 1, 2 or 3. */
  version: number;
  /** Serial number, lowercase hex without a leading sign octet. */
  serial: string;
  /** Issuer name (with its DER). */
  issuer: DistinguishedName;
  /** Subject name (with its DER). */
  subject: DistinguishedName;
  /** The last CN of the subject, if any (for user certificates: the screen name). */
  subjectCN: string | undefined;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  /** subjectPublicKey BIT STRING bytes (input of the RFC 5280 method-1 key identifier). */
  subjectPublicKey: Uint8Array;
  /** The public key, imported once. */
  publicKey: KeyObject;
  /** Public key algorithm: 'rsa', 'ec', ... */
  keyType: string;
  /** RSA modulus bits (or EC field size). */
  keyBits: number | undefined;
  /** All extensions as they appeared. */
  extensions: Extension[];
  /** keyUsage bits, or undefined when the extension is absent (= any usage). */
  keyUsage: KeyUsage[] | undefined;
  /** extKeyUsage OIDs, or undefined when absent. */
  extKeyUsage: string[] | undefined;
  /** basicConstraints, or undefined when absent. */
  basicConstraints: BasicConstraints | undefined;
  /** subjectAltName entries (empty lists when absent). */
  subjectAltName: GeneralNames;
  /** Shortcut for subjectAltName.uris. */
  sanUris: string[];
  /** subjectKeyIdentifier, if present. */
  subjectKeyId: Uint8Array | undefined;
  /** authorityKeyIdentifier keyIdentifier, if present. */
  authorityKeyId: Uint8Array | undefined;
  /** cRLDistributionPoints full-name URIs. */
  crlDistributionPoints: string[];
  /** SHA-256 of `der`, lowercase hex. */
  fingerprint256: string;
}

/** A public key whose SPKI the caller already has (the CA, right after certifying it). */
export interface KnownKey {
  /** The key object. */
  publicKey: KeyObject;
  /** Its SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
}

/** Lowercase hex of an INTEGER's content with any leading 00 sign octet removed (keeps negative serials readable). */
export function serialHex(n: Asn1): string {
  let c = contentOf(n);
  while (c.length > 1 && c[0] === 0) c = c.subarray(1);
  return Buffer.from(c).toString('hex');
}

/**
 * Accepts DER bytes or PEM text and returns DER: bytes as they are, text as the first PEM block whose label
 * `matches` (throws MALFORMED "no <what> PEM block found" if none). Shared by certificate, CRL and CSR parsing.
 */
export function derOrPem(input: Uint8Array | string, matches: (label: string) => boolean, what: string): Uint8Array {
  if (typeof input !== 'string') return input;
  const block = fromPem(input).find((b) => matches(b.label));
  if (!block) throw new PkiError('MALFORMED', `no ${what} PEM block found`);
  return block.der;
}

/** Accepts DER bytes or PEM text ("CERTIFICATE") and returns DER. */
export function certificateDer(input: Uint8Array | string): Uint8Array {
  return derOrPem(input, (label) => label === 'CERTIFICATE', 'CERTIFICATE');
}

/** Parses every CERTIFICATE block of a PEM text, in order (other blocks are ignored). Throws MALFORMED. */
export function parseCertificatesPem(text: string, provider: CryptoProvider = nodeCryptoProvider): Certificate[] {
  return fromPem(text).filter((b) => b.label === 'CERTIFICATE').map((b) => parseCertificate(b.der, provider));
}

/** Parses a certificate. Throws PkiError MALFORMED on anything that isn't a well-formed X.509 certificate. */
export function parseCertificate(
  input: Uint8Array | string, provider: CryptoProvider = nodeCryptoProvider, knownPublicKey?: KnownKey,
): Certificate {
  const bytes = certificateDer(input);
  try {
    return parseInner(bytes, provider, knownPublicKey);
  } catch (e) {
    if (e instanceof PkiError) throw e;
    if (Asn1Error.is(e)) throw new PkiError('MALFORMED', `malformed certificate: ${e.message}`, { cause: e });
    throw new PkiError('MALFORMED', `malformed certificate: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * `knownPublicKey` lets the CA skip re-importing the key it just certified (the import is most of a parse's cost);
 * it is only used when its SPKI equals the certificate's.
 */
function parseInner(bytes: Uint8Array, provider: CryptoProvider, knownPublicKey: KnownKey | undefined): Certificate {
  const root = parseAsn1(bytes);
  const [tbsN, sigAlgN, sigN] = seqOf(root, 'Certificate', 3);
  const tbsKids = seqOf(tbsN, 'TBSCertificate', 6);
  let i = 0;
  let version = 1;
  if (tbsKids[0]!.tag === ctxTag(0, true)) {
    version = readSmallInt(seqOf(tbsKids[0], '[0] version', 1, ctxTag(0, true))[0]!) + 1;
    i = 1;
  }
  const serialN = tbsKids[i++]!;
  if (serialN.tag !== TAG.INTEGER) throw new PkiError('MALFORMED', 'certificate serialNumber is not an INTEGER');
  const innerAlg = algorithmOid(tbsKids[i++]!);
  const issuer = parseName(tbsKids[i++]!);
  const [nb, na] = seqOf(tbsKids[i++], 'Validity', 2);
  const subject = parseName(tbsKids[i++]!);
  const spkiN = tbsKids[i++];
  const [, spkBits] = seqOf(spkiN, 'SubjectPublicKeyInfo', 2);
  const signatureAlgorithm = algorithmOid(sigAlgN!);
  if (innerAlg !== signatureAlgorithm) throw new PkiError('MALFORMED', 'TBSCertificate.signature differs from signatureAlgorithm');
  let extensions: Extension[] = [];
  for (; i < tbsKids.length; i++) {
    const k = tbsKids[i]!;
    if (k.tag === ctxTag(3, true)) extensions = parseExtensions(seqOf(k, '[3] extensions', 1, ctxTag(3, true))[0]!);
  }
  const ext = (oid: string): Asn1 | undefined => {
    const e = extensions.find((x) => x.oid === oid);
    return e ? parseAsn1(e.value) : undefined;
  };
  const kuN = ext(OID.keyUsage);
  const ekuN = ext(OID.extKeyUsage);
  const bcN = ext(OID.basicConstraints);
  const sanN = ext(OID.subjectAltName);
  const skiN = ext(OID.subjectKeyIdentifier);
  const akiN = ext(OID.authorityKeyIdentifier);
  const cdpN = ext(OID.cRLDistributionPoints);
  const spki = rawOf(spkiN!);
  let publicKey: KeyObject;
  try {
    publicKey = knownPublicKey && Buffer.from(knownPublicKey.spki).equals(Buffer.from(spki))
      ? knownPublicKey.publicKey
      : provider.createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (e) {
    throw new PkiError('MALFORMED', `certificate public key cannot be imported: ${(e as Error).message}`, { cause: e });
  }
  const details = publicKey.asymmetricKeyDetails;
  const subjectAltName = sanN ? decodeGeneralNames(sanN) : { uris: [], dns: [], ips: [], emails: [] };
  const sig = readBitString(sigN!);
  const fingerprint256 = provider.createHash('sha256').update(bytes).digest('hex');
  return {
    der: bytes,
    tbs: rawOf(tbsN!),
    signatureAlgorithm,
    signature: sig.bytes,
    version,
    serial: serialHex(serialN),
    issuer,
    subject,
    subjectCN: commonNameOf(subject),
    notBefore: readTime(nb!),
    notAfter: readTime(na!),
    spki,
    subjectPublicKey: readBitString(spkBits!).bytes,
    publicKey,
    keyType: publicKey.asymmetricKeyType ?? 'unknown',
    keyBits: details?.modulusLength,
    extensions,
    keyUsage: kuN ? decodeKeyUsage(kuN) : undefined,
    extKeyUsage: ekuN ? decodeExtKeyUsage(ekuN) : undefined,
    basicConstraints: bcN ? decodeBasicConstraints(bcN) : undefined,
    subjectAltName,
    sanUris: subjectAltName.uris,
    subjectKeyId: skiN ? contentOf(skiN) : undefined,
    authorityKeyId: akiN ? decodeAuthorityKeyIdentifier(akiN) : undefined,
    crlDistributionPoints: cdpN ? decodeCrlDistributionPoints(cdpN) : [],
    fingerprint256,
  };
}
