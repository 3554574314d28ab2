/**
 * Signature algorithms: the AlgorithmIdentifiers we write (sha256WithRSAEncryption only) and the ones we verify
 * (RSA PKCS#1 v1.5 with SHA-1/256/384/512 for older/enterprise CAs, and ECDSA for admin-configured anchors).
 * MD5 signatures are refused on certificates (collision attacks), SHA-1 is accepted only when the caller opts in.
 */
import type { KeyObject } from 'node:crypto';
import { der, readOid, seqOf, type Asn1 } from './asn1/der.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';
import { nodeCryptoProvider, type CryptoProvider } from './provider.js';

/** AlgorithmIdentifier for sha256WithRSAEncryption with the NULL parameter RFC 8017 requires. */
export const SHA256_WITH_RSA = der.seq(der.oid(OID.sha256WithRSAEncryption), der.null());

const HASH_OF_SIG: Record<string, string> = {
  [OID.sha1WithRSAEncryption]: 'sha1',
  [OID.sha256WithRSAEncryption]: 'sha256',
  [OID.sha384WithRSAEncryption]: 'sha384',
  [OID.sha512WithRSAEncryption]: 'sha512',
  [OID.ecdsaWithSHA256]: 'sha256',
  [OID.ecdsaWithSHA384]: 'sha384',
  [OID.ecdsaWithSHA512]: 'sha512',
};

/** Reads the algorithm OID out of an AlgorithmIdentifier element. */
export function algorithmOid(n: Asn1): string {
  return readOid(seqOf(n, 'AlgorithmIdentifier', 1)[0]!);
}

/** The digest name for a signature algorithm OID, or undefined when unsupported. */
export function hashForSignatureAlgorithm(oid: string): string | undefined {
  return HASH_OF_SIG[oid];
}

/** Signs `data` with SHA-256 / RSA PKCS#1 v1.5. */
export function signSha256Rsa(data: Uint8Array, key: KeyObject, provider: CryptoProvider = nodeCryptoProvider): Uint8Array {
  return provider.sign('sha256', data, key);
}

/**
 * Verifies a signature for the given signature algorithm OID. Returns false on a bad signature; throws
 * UNSUPPORTED_ALGORITHM for algorithms we don't verify.
 */
export function verifySignature(
  sigAlgOid: string, data: Uint8Array, signature: Uint8Array, key: KeyObject, provider: CryptoProvider = nodeCryptoProvider,
): boolean {
  const hash = HASH_OF_SIG[sigAlgOid];
  if (!hash) throw new PkiError('UNSUPPORTED_ALGORITHM', `unsupported signature algorithm ${sigAlgOid}`);
  const isEc = sigAlgOid.startsWith('1.2.840.10045.');
  if (isEc !== (key.asymmetricKeyType === 'ec')) return false;
  try {
    return provider.verify(hash, data, isEc ? { key, dsaEncoding: 'der' } : key, signature);
  } catch {
    return false;
  }
}
