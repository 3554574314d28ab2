/**
 * PKCS#10 certification requests (RFC 2986): build one for a screen name (subject CN = the screen name, requested
 * extensions carry keyUsage and optionally the `im:` SAN), parse any, and check proof of possession — the request is
 * signed with the private key matching the public key it asks to certify.
 */
import type { KeyObject } from 'node:crypto';
import {
  der, parseAsn1, seqOf, children, rawOf, readOid, readSmallInt, readBitString, toPem, ctxTag, TAG, Asn1Error,
} from './asn1/der.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';
import { algorithmOid, SHA256_WITH_RSA, signSha256Rsa, verifySignature } from './algorithms.js';
import { encodeName, parseName, commonNameOf, type DistinguishedName } from './name.js';
import {
  encodeExtension, encodeKeyUsage, encodeGeneralNames, parseExtensions, decodeKeyUsage, decodeGeneralNames,
  type Extension, type KeyUsage,
} from './extensions.js';
import { spkiOf } from './x509-builder.js';
import { derOrPem } from './x509-parse.js';
import { nodeCryptoProvider, type CryptoProvider } from './provider.js';

/** What to put in a CSR. */
export interface CsrOptions {
  /** Subject CN (the screen name as the user writes it). */
  screenName: string;
  /** The key pair to certify; the private key signs the request (proof of possession). */
  privateKey: KeyObject;
  /** Requested keyUsage (e.g. ['keyEncipherment'] for an encryption certificate). */
  keyUsage?: KeyUsage[];
  /** Requested SAN URIs (e.g. `im:bob@example.org`). */
  sanUris?: string[];
  /** Crypto provider. */
  provider?: CryptoProvider;
}

/** Builds and signs a CSR (sha256WithRSAEncryption); returns DER. */
export function buildCsr(o: CsrOptions): Uint8Array {
  const provider = o.provider ?? nodeCryptoProvider;
  const exts: Uint8Array[] = [];
  if (o.keyUsage?.length) exts.push(encodeExtension(OID.keyUsage, true, encodeKeyUsage(o.keyUsage)));
  if (o.sanUris?.length) exts.push(encodeExtension(OID.subjectAltName, false, encodeGeneralNames({ uris: o.sanUris })));
  // attributes [0] IMPLICIT SET OF Attribute; Attribute ::= SEQUENCE { type, values SET OF }
  const attrs = exts.length
    ? der.implicitConstructed(0, der.seq(der.oid(OID.extensionRequest), der.setOf(der.seq(...exts))))
    : der.implicitConstructed(0);
  const info = der.seq(der.int(0), encodeName([['CN', o.screenName]]), spkiOf(o.privateKey, provider), attrs);
  return der.seq(info, SHA256_WITH_RSA, der.bitString(signSha256Rsa(info, o.privateKey, provider)));
}

/** Builds a CSR as PEM "CERTIFICATE REQUEST". */
export function buildCsrPem(o: CsrOptions): string {
  return toPem('CERTIFICATE REQUEST', buildCsr(o));
}

/** A parsed CSR. */
export interface CertificationRequest {
  /** Whole request DER. */
  der: Uint8Array;
  /** CertificationRequestInfo DER (signed bytes). */
  info: Uint8Array;
  /** Subject name. */
  subject: DistinguishedName;
  /** Subject CN, if any. */
  subjectCN: string | undefined;
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  /** The public key. */
  publicKey: KeyObject;
  /** RSA modulus bits, if RSA. */
  keyBits: number | undefined;
  /** Extensions from the extensionRequest attribute. */
  requestedExtensions: Extension[];
  /** Requested keyUsage, if any. */
  keyUsage: KeyUsage[] | undefined;
  /** Requested SAN URIs. */
  sanUris: string[];
  /** Signature algorithm OID. */
  signatureAlgorithm: string;
  /** Signature bytes. */
  signature: Uint8Array;
}

/** Parses a CSR from DER or PEM ("CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST"). Throws MALFORMED. */
export function parseCsr(input: Uint8Array | string, provider: CryptoProvider = nodeCryptoProvider): CertificationRequest {
  const bytes = derOrPem(input, (label) => /CERTIFICATE REQUEST$/.test(label), 'CERTIFICATE REQUEST');
  try {
    // Strict DER (RFC 2986 §4): nothing after the signature, nothing after the attributes, so the signed and the
    // fingerprinted bytes have one encoding.
    const outer = seqOf(parseAsn1(bytes), 'CertificationRequest', 3);
    if (outer.length !== 3) throw new PkiError('MALFORMED', 'malformed CSR: extra data inside the CertificationRequest SEQUENCE');
    const [infoN, algN, sigN] = outer;
    const infoKids = seqOf(infoN, 'CertificationRequestInfo', 3);
    if (infoKids.length > 4) throw new PkiError('MALFORMED', 'malformed CSR: extra data in CertificationRequestInfo');
    const [verN, subjN, spkiN, attrsN] = infoKids;
    if (verN!.tag !== TAG.INTEGER || readSmallInt(verN!) !== 0) throw new PkiError('MALFORMED', 'unsupported CSR version');
    const subject = parseName(subjN!);
    const spki = rawOf(spkiN!);
    let publicKey: KeyObject;
    try {
      publicKey = provider.createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    } catch (e) {
      throw new PkiError('MALFORMED', `CSR public key cannot be imported: ${(e as Error).message}`, { cause: e });
    }
    let requestedExtensions: Extension[] = [];
    if (attrsN) {
      if (attrsN.tag !== ctxTag(0, true)) throw new PkiError('MALFORMED', 'CSR attributes must be [0]');
      for (const attr of children(attrsN)) {
        const [t, vals] = seqOf(attr, 'Attribute', 2);
        if (readOid(t!) !== OID.extensionRequest) continue;
        const first = seqOf(vals, 'values', 1, TAG.SET)[0]!;
        requestedExtensions = parseExtensions(first);
      }
    }
    const ext = (oid: string): Extension | undefined => requestedExtensions.find((e) => e.oid === oid);
    const ku = ext(OID.keyUsage);
    const san = ext(OID.subjectAltName);
    const sig = readBitString(sigN!);
    if (sig.unused !== 0) throw new PkiError('MALFORMED', 'malformed CSR: signature has unused bits');
    return {
      der: bytes,
      info: rawOf(infoN!),
      subject,
      subjectCN: commonNameOf(subject),
      spki,
      publicKey,
      keyBits: publicKey.asymmetricKeyDetails?.modulusLength,
      requestedExtensions,
      keyUsage: ku ? decodeKeyUsage(parseAsn1(ku.value)) : undefined,
      sanUris: san ? decodeGeneralNames(parseAsn1(san.value)).uris : [],
      signatureAlgorithm: algorithmOid(algN!),
      signature: sig.bytes,
    };
  } catch (e) {
    if (Asn1Error.is(e)) throw new PkiError('MALFORMED', `malformed CSR: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Proof of possession: true when the CSR's signature verifies with the CSR's own public key. */
export function verifyCsrSignature(csr: CertificationRequest, provider: CryptoProvider = nodeCryptoProvider): boolean {
  try {
    return verifySignature(csr.signatureAlgorithm, csr.info, csr.signature, csr.publicKey, provider);
  } catch (e) {
    if (PkiError.is(e, 'UNSUPPORTED_ALGORITHM')) return false;
    throw e;
  }
}
