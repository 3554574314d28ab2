/**
 * Parses an X.509 certificate (RFC 5280 §4.1) with our DER reader into a typed view. The public key becomes a cached
 * KeyObject once, here, so the verifier and CMS code never re-import it (measured: a per-call import costs ~3.5x).
 */
import { bytesEqual } from '../wire/bytes.js';
import type { KeyObject } from 'node:crypto';
import {
  parseAsn1, seqOf, rawOf, readBigInt, readOid, readOctets, readSmallInt, readTime, readBitString, fromPem, ctxTag, TAG,
  Asn1Error,
  type Asn1,
} from './asn1/der.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';
import { algorithmOid } from './algorithms.js';
import { parseName, commonNameOf, type DistinguishedName } from './name.js';
import {
  parseExtensions, decodeKeyUsage, decodeExtKeyUsage, decodeBasicConstraints, decodeGeneralNames,
  decodeAuthorityKeyIdentifier, decodeCrlDistributionPoints, decodeNameConstraints, type Extension, type KeyUsage,
  type BasicConstraints, type GeneralNames, type NameConstraints,
} from './extensions.js';
import { sameName } from './name.js';
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
  /** EC keys: 'P-256', 'P-384', 'P-521', another named-curve OID, or 'explicit' (specified parameters, RFC 5480 §2.1.1). */
  keyCurve?: string | undefined;
  /** nameConstraints (RFC 5280 §4.2.1.10), if present. */
  nameConstraints?: NameConstraints | undefined;
  /** Issuer and subject names are equal (RFC 5280 §6.1: "self-issued"). */
  selfIssued?: boolean;
}

/** A public key whose SPKI the caller already has (the CA, right after certifying it). */
export interface KnownKey {
  /** The key object. */
  publicKey: KeyObject;
  /** Its SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
}

/**
 * A serial number as lowercase hex of its value, even length, without the 00 sign octet. A negative value (not
 * conforming, RFC 5280 §4.1.2.2, but possible on CRL entries) is "-" + hex of its magnitude, so it never equals the
 * hex of its positive twin. The INTEGER must be DER (non-empty, minimal) unless it was read as BER.
 */
export function serialHex(n: Asn1): string {
  const v = readBigInt(n);
  const mag = v < 0n ? -v : v;
  let h = mag.toString(16);
  if (h.length % 2) h = `0${h}`;
  return v < 0n ? `-${h}` : h;
}

const CURVE_NAMES: Record<string, string> = {
  [OID.prime256v1]: 'P-256', [OID.secp384r1]: 'P-384', [OID.secp521r1]: 'P-521', [OID.prime192v1]: 'P-192',
};

/** The curve of an EC SubjectPublicKeyInfo algorithm's parameters: a name, the OID, or 'explicit'. */
function curveOf(params: Asn1 | undefined): string {
  if (params?.tag === TAG.OID) {
    const oid = readOid(params);
    return CURVE_NAMES[oid] ?? oid;
  }
  return 'explicit';
}

function malformed(what: string): never {
  throw new PkiError('MALFORMED', `malformed certificate: ${what}`);
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
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } — exactly three elements: bytes
  // appended inside the outer SEQUENCE are outside the signature and would give a valid certificate a new fingerprint.
  const outer = seqOf(root, 'Certificate', 3);
  if (outer.length !== 3) malformed('extra data inside the Certificate SEQUENCE');
  const [tbsN, sigAlgN, sigN] = outer as [Asn1, Asn1, Asn1];
  const tbsKids = seqOf(tbsN, 'TBSCertificate', 6);
  let i = 0;
  let version = 1;
  if (tbsKids[0]!.tag === ctxTag(0, true)) {
    const vk = seqOf(tbsKids[0], '[0] version', 1, ctxTag(0, true));
    if (vk.length !== 1 || vk[0]!.tag !== TAG.INTEGER) malformed('[0] version must hold one INTEGER');
    const v = readSmallInt(vk[0]!);
    // X.690 §11.5: v1 is the DEFAULT, so DER omits it.
    if (v === 0) malformed('an explicit v1 version is not DER');
    if (v !== 1 && v !== 2) malformed(`unknown version ${v + 1}`);
    version = v + 1;
    i = 1;
  }
  const serialN = tbsKids[i++]!;
  if (serialN.tag !== TAG.INTEGER) throw new PkiError('MALFORMED', 'certificate serialNumber is not an INTEGER');
  // RFC 5280 §4.1.2.2: positive, at most 20 octets; readBigInt refuses empty and non-minimal encodings.
  const serialValue = readBigInt(serialN);
  if (serialValue < 0n) malformed('negative serial number');
  if (serialN.contentEnd - serialN.contentStart > 21) malformed('serial number longer than 20 octets');
  const innerAlgN = tbsKids[i++]!;
  const innerAlg = algorithmOid(innerAlgN);
  const issuer = parseName(tbsKids[i++]!);
  const validity = seqOf(tbsKids[i++], 'Validity', 2);
  if (validity.length !== 2) malformed('extra data in Validity');
  const [nb, na] = validity as [Asn1, Asn1];
  const subject = parseName(tbsKids[i++]!);
  const spkiN = tbsKids[i++];
  const spkiKids = seqOf(spkiN, 'SubjectPublicKeyInfo', 2);
  if (spkiKids.length !== 2) malformed('extra data in SubjectPublicKeyInfo');
  const [spkAlgN, spkBits] = spkiKids as [Asn1, Asn1];
  const spkAlg = seqOf(spkAlgN, 'AlgorithmIdentifier', 1);
  const keyAlgOid = readOid(spkAlg[0]!);
  const spkBitString = readBitString(spkBits);
  if (spkBitString.unused !== 0) malformed('subjectPublicKey has unused bits');
  const signatureAlgorithm = algorithmOid(sigAlgN);
  // RFC 5280 §4.1.1.2: the outer signatureAlgorithm MUST equal TBSCertificate.signature. It is not signed, so compare
  // the encodings byte for byte: NULL-vs-absent parameters would otherwise be a second valid encoding.
  if (innerAlg !== signatureAlgorithm) throw new PkiError('MALFORMED', 'TBSCertificate.signature differs from signatureAlgorithm');
  if (!bytesEqual(rawOf(innerAlgN), rawOf(sigAlgN))) malformed('signatureAlgorithm parameters differ from TBSCertificate.signature');
  // Optional tail, in order: [1] issuerUniqueID, [2] subjectUniqueID (v2+), [3] extensions (v3 only). Nothing else.
  let extensions: Extension[] = [];
  const tail = [ctxTag(1, false), ctxTag(2, false), ctxTag(3, true)];
  let t = 0;
  for (; i < tbsKids.length; i++) {
    const k = tbsKids[i]!;
    while (t < tail.length && tail[t] !== k.tag) t++;
    if (t === tail.length) malformed(`unexpected element (tag 0x${k.tag.toString(16)}) in TBSCertificate`);
    if (k.tag === ctxTag(3, true)) {
      if (version !== 3) malformed('extensions in a certificate that is not v3');
      const ek = seqOf(k, '[3] extensions', 1, ctxTag(3, true));
      if (ek.length !== 1) malformed('extra data in [3] extensions');
      extensions = parseExtensions(ek[0]!);
    } else if (version < 2) {
      malformed('unique identifiers in a v1 certificate');
    }
    t++;
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
  const ncN = ext(OID.nameConstraints);
  const spki = rawOf(spkiN!);
  let publicKey: KeyObject;
  try {
    publicKey = knownPublicKey && bytesEqual(knownPublicKey.spki, spki)
      ? knownPublicKey.publicKey
      : provider.createPublicKey({ key: spki as Buffer, format: 'der', type: 'spki' });
  } catch (e) {
    throw new PkiError('MALFORMED', `certificate public key cannot be imported: ${(e as Error).message}`, { cause: e });
  }
  const details = publicKey.asymmetricKeyDetails;
  const subjectAltName = sanN ? decodeGeneralNames(sanN) : { uris: [], dns: [], ips: [], emails: [] };
  const sig = readBitString(sigN);
  if (sig.unused !== 0) malformed('signatureValue has unused bits');
  const fingerprint256 = provider.createHash('sha256').update(bytes).digest('hex');
  return {
    der: bytes,
    tbs: rawOf(tbsN),
    signatureAlgorithm,
    signature: sig.bytes,
    version,
    serial: serialHex(serialN),
    issuer,
    subject,
    subjectCN: commonNameOf(subject),
    notBefore: readTime(nb),
    notAfter: readTime(na),
    spki,
    subjectPublicKey: spkBitString.bytes,
    publicKey,
    keyType: publicKey.asymmetricKeyType ?? 'unknown',
    keyBits: details?.modulusLength,
    extensions,
    keyUsage: kuN ? decodeKeyUsage(kuN) : undefined,
    extKeyUsage: ekuN ? decodeExtKeyUsage(ekuN) : undefined,
    basicConstraints: bcN ? decodeBasicConstraints(bcN) : undefined,
    subjectAltName,
    sanUris: subjectAltName.uris,
    subjectKeyId: skiN ? readOctets(skiN) : undefined,
    authorityKeyId: akiN ? decodeAuthorityKeyIdentifier(akiN) : undefined,
    crlDistributionPoints: cdpN ? decodeCrlDistributionPoints(cdpN) : [],
    fingerprint256,
    keyCurve: keyAlgOid === OID.ecPublicKey ? curveOf(spkAlg[1]) : undefined,
    nameConstraints: ncN ? decodeNameConstraints(ncN) : undefined,
    selfIssued: sameName(issuer.der, subject.der),
  };
}
