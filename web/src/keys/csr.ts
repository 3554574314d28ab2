/**
 * Key pairs and PKCS#10 requests made in the browser with WebCrypto (docs/protocol.md §18.2): the same requests
 * the CLI sends (src/pki/csr.ts, RFC 2986), built with the shared DER writer and name/extension encoders, signed
 * with RSASSA-PKCS1-v1_5 / SHA-256 by the key being certified (proof of possession).
 */
import { der } from '../../../src/pki/asn1/der.js';
import { encodeName } from '../../../src/pki/name.js';
import { encodeExtension, encodeKeyUsage, type KeyUsage } from '../../../src/pki/extensions.js';
import { OID } from '../../../src/pki/oids.js';
import { bufferSource } from './b64.js';

/** The two roles of a certim identity (docs/protocol.md §12.1). */
export type KeyRole = 'encryption' | 'signing';

/** keyUsage asked for per role: the CA picks the certificate purpose from it (docs/protocol.md §12.3). */
export const ROLE_KEY_USAGE: Record<KeyRole, KeyUsage[]> = {
  encryption: ['keyEncipherment'],
  signing: ['digitalSignature', 'nonRepudiation'],
};

/** Key sizes the UI offers; the CA refuses anything under 2048 bits (docs/protocol.md §12.1). */
export const KEY_SIZES = [3072, 2048, 4096] as const;

const RSA_EXPONENT = new Uint8Array([1, 0, 1]);

/**
 * A fresh RSA key pair for signing requests. It is generated extractable so that it can be wrapped under the
 * passphrase key (keystore.ts) and exported as PKCS#12; it never leaves the page unwrapped.
 */
export async function generateRsaKeyPair(modulusLength: number): Promise<CryptoKeyPair> {
  if (!Number.isInteger(modulusLength) || modulusLength < 2048) throw new RangeError(`RSA keys need at least 2048 bits, not ${modulusLength}`);
  return crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength, publicExponent: RSA_EXPONENT, hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  );
}

/** sha256WithRSAEncryption with NULL parameters (RFC 4055 §5). */
const SHA256_WITH_RSA = der.seq(der.oid(OID.sha256WithRSAEncryption), der.null());

/** Builds and signs a CSR (DER) for `screenName` (subject CN) asking for the role's keyUsage. */
export async function buildCsr(screenName: string, keys: CryptoKeyPair, role: KeyRole): Promise<Uint8Array> {
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
  const ext = encodeExtension(OID.keyUsage, true, encodeKeyUsage(ROLE_KEY_USAGE[role]));
  const attrs = der.implicitConstructed(0, der.seq(der.oid(OID.extensionRequest), der.setOf(der.seq(ext))));
  const info = der.seq(der.int(0), encodeName([['CN', screenName]]), spki, attrs);
  const sig = new Uint8Array(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', keys.privateKey, bufferSource(info)));
  return der.seq(info, SHA256_WITH_RSA, der.bitString(sig));
}
