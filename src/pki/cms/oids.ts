/**
 * Object identifiers used by the Secure IM codec, as dotted strings (encoded with `der.oid`, read with `readOid`).
 *
 * Private arc: certim has no IANA enterprise number, so its own attributes live under a UUID-derived OID
 * (ITU-T X.667 §6.3, "2.25.<UUID as a decimal integer>"), which anyone may allocate without registration and
 * which cannot collide. UUID 9c154bc4-1a9c-41cd-97c7-10282b6944dc =>
 *   2.25.207470142294151747653840509765409129692       certim arc
 *   2.25.207470142294151747653840509765409129692.1.1   id-certim-aa-senderScreenName    UTF8String
 *   2.25.207470142294151747653840509765409129692.1.2   id-certim-aa-recipientScreenName UTF8String
 *   2.25.207470142294151747653840509765409129692.2.1   id-certim-aa-roomName       UTF8String (secure rooms)
 *   2.25.207470142294151747653840509765409129692.2.2   id-certim-aa-roomEpoch      INTEGER
 *   2.25.207470142294151747653840509765409129692.2.3   id-certim-aa-roomKeyholders SEQUENCE OF UTF8String
 * The message id reuses the standard ESS contentIdentifier attribute (RFC 2634 §2.7, 1.2.840.113549.1.9.16.2.7,
 * OCTET STRING), whose stated purpose is exactly a unique identifier for a signed message.
 */
import { readOid, type Asn1 } from '../asn1/der.js';

/** Dotted OIDs. */
export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  encryptedData: '1.2.840.113549.1.7.6',
  authEnvelopedData: '1.2.840.113549.1.9.16.1.23',
  rsaEncryption: '1.2.840.113549.1.1.1',
  md5WithRSA: '1.2.840.113549.1.1.4',
  sha1WithRSA: '1.2.840.113549.1.1.5',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  sha384WithRSA: '1.2.840.113549.1.1.12',
  sha512WithRSA: '1.2.840.113549.1.1.13',
  rsaesOaep: '1.2.840.113549.1.1.7',
  mgf1: '1.2.840.113549.1.1.8',
  pSpecified: '1.2.840.113549.1.1.9',
  md5: '1.2.840.113549.2.5',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  aes128Cbc: '2.16.840.1.101.3.4.1.2',
  aes192Cbc: '2.16.840.1.101.3.4.1.22',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  aes128Gcm: '2.16.840.1.101.3.4.1.6',
  aes192Gcm: '2.16.840.1.101.3.4.1.26',
  aes256Gcm: '2.16.840.1.101.3.4.1.46',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  contentIdentifier: '1.2.840.113549.1.9.16.2.7',
  senderScreenName: '2.25.207470142294151747653840509765409129692.1.1',
  recipientScreenName: '2.25.207470142294151747653840509765409129692.1.2',
  roomName: '2.25.207470142294151747653840509765409129692.2.1',
  roomEpoch: '2.25.207470142294151747653840509765409129692.2.2',
  roomKeyholders: '2.25.207470142294151747653840509765409129692.2.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  commonName: '2.5.4.3',
} as const;

/** Digest names node:crypto understands, by digest OID, with the policy strength. */
export const DIGESTS: Record<string, { name: 'md5' | 'sha1' | 'sha256' | 'sha384' | 'sha512'; weak: boolean }> = {
  [OID.md5]: { name: 'md5', weak: true },
  [OID.sha1]: { name: 'sha1', weak: true },
  [OID.sha256]: { name: 'sha256', weak: false },
  [OID.sha384]: { name: 'sha384', weak: false },
  [OID.sha512]: { name: 'sha512', weak: false },
};

/** RSA PKCS#1 v1.5 signature algorithm OIDs and the digest they imply (rsaEncryption takes the SignerInfo digest). */
export const RSA_SIGNATURE_OIDS: Record<string, string | null> = {
  [OID.rsaEncryption]: null,
  [OID.md5WithRSA]: OID.md5,
  [OID.sha1WithRSA]: OID.sha1,
  [OID.sha256WithRSA]: OID.sha256,
  [OID.sha384WithRSA]: OID.sha384,
  [OID.sha512WithRSA]: OID.sha512,
};

/** Content-encryption algorithms: node cipher name, key length, mode. */
export const CONTENT_CIPHERS: Record<string, { name: string; keyLen: number; mode: 'cbc' | 'gcm' }> = {
  [OID.aes128Cbc]: { name: 'aes-128-cbc', keyLen: 16, mode: 'cbc' },
  [OID.aes192Cbc]: { name: 'aes-192-cbc', keyLen: 24, mode: 'cbc' },
  [OID.aes256Cbc]: { name: 'aes-256-cbc', keyLen: 32, mode: 'cbc' },
  [OID.aes128Gcm]: { name: 'aes-128-gcm', keyLen: 16, mode: 'gcm' },
  [OID.aes192Gcm]: { name: 'aes-192-gcm', keyLen: 24, mode: 'gcm' },
  [OID.aes256Gcm]: { name: 'aes-256-gcm', keyLen: 32, mode: 'gcm' },
};

const KNOWN = new Set<string>(Object.values(OID));

/**
 * Reads an OBJECT IDENTIFIER element (tag already checked by the caller), returning the dotted form if it is one
 * this codec knows, else undefined (unknown and malformed OIDs alike: the caller treats both as "not ours").
 */
export function knownOid(n: Asn1): string | undefined {
  try {
    const oid = readOid(n);
    return KNOWN.has(oid) ? oid : undefined;
  } catch {
    return undefined;
  }
}
