/**
 * The AIM certificate-info block (docs/protocol.md §6.1) from the PKI side: build it from an identity's certificates and
 * read one (ours or a classic client's) into parsed certificates with roles. The byte layout is the wire codec's
 * (src/wire/cert-info.ts); this file only maps roles and X.509.
 *
 * Roles: numcerts 2 = TLV 0x0001 encryption cert + TLV 0x0002 signing cert; numcerts 1 = one common cert used for
 * both. We write numcerts 1 whenever both roles carry the same certificate.
 */
import {
  encodeCertificateInfo, decodeCertificateInfo, certInfoHash, encryptionCert, signingCert, isClearedCertificateInfo,
  WireError,
} from '../wire/index.js';
import { PkiError } from './errors.js';
import { parseCertificate, type Certificate } from './x509-parse.js';
import { nodeCryptoProvider, type CryptoProvider } from './provider.js';

/** Certificates for a block: separate encryption + signing, or one common certificate. */
export type CertificateInfoCerts =
  | { encryption: Certificate | Uint8Array; signing: Certificate | Uint8Array }
  | { common: Certificate | Uint8Array };

const derOf = (c: Certificate | Uint8Array): Uint8Array => (c instanceof Uint8Array ? c : c.der);

/** Builds the block bytes (numcerts 1 when both roles are the same certificate). */
export function buildCertificateInfo(certs: CertificateInfoCerts): Uint8Array {
  if ('common' in certs) return encodeCertificateInfo({ certA: derOf(certs.common) });
  const enc = derOf(certs.encryption);
  const sig = derOf(certs.signing);
  if (Buffer.from(enc).equals(Buffer.from(sig))) return encodeCertificateInfo({ certA: enc });
  return encodeCertificateInfo({ certA: enc, certB: sig });
}

/** A parsed block. */
export type ParsedCertificateInfo =
  | {
    /** Certificates present. */
    cleared: false;
    /** 1 = common, 2 = separate. */
    numCerts: 1 | 2;
    /** Certificate to encrypt (envelope) to. */
    encryption: Certificate;
    /** Certificate that verifies the buddy's signatures (same object as `encryption` when numCerts is 1). */
    signing: Certificate;
    /** MD5 over the block bytes (user-info TLV 0x001B). */
    hash: Uint8Array;
  }
  | {
    /** The user cleared their certificates. */
    cleared: true;
    /** MD5 over the block bytes. */
    hash: Uint8Array;
  };

/**
 * Parses a block as received (hash computed over exactly these bytes). Wire or X.509 problems are PkiError
 * MALFORMED; whether the certificates are acceptable is the verifier's job.
 */
export function parseCertificateInfo(block: Uint8Array, provider: CryptoProvider = nodeCryptoProvider): ParsedCertificateInfo {
  const hash = certInfoHash(block);
  let ci;
  try {
    ci = decodeCertificateInfo(block);
  } catch (e) {
    if (e instanceof WireError) throw new PkiError('MALFORMED', `malformed certificate-info block: ${e.message}`, { cause: e });
    throw e;
  }
  if (isClearedCertificateInfo(ci)) return { cleared: true, hash };
  const encryption = parseCertificate(Uint8Array.from(encryptionCert(ci)!), provider);
  const signing = ci.numCerts === 1 ? encryption : parseCertificate(Uint8Array.from(signingCert(ci)!), provider);
  return { cleared: false, numCerts: ci.numCerts, encryption, signing, hash };
}
