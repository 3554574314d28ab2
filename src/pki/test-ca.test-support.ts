/**
 * Test helpers (not for production use): an in-memory root + issuing CA whose keys the test holds, so tests can mint
 * certificates the real CA refuses to (expired, weak key, wrong usage) and check the verifier rejects them.
 */
import type { KeyObject } from 'node:crypto';
import { toPem } from './asn1/der.js';
import { OID } from './oids.js';
import { generateRsaKeyPair, type RsaKeyPair } from './keys.js';
import { encodeName } from './name.js';
import {
  encodeExtension, encodeBasicConstraints, encodeKeyUsage, encodeExtKeyUsage, encodeGeneralNames,
  encodeAuthorityKeyIdentifier, type KeyUsage,
} from './extensions.js';
import { buildCertificate, keyIdentifier, randomSerial } from './x509-builder.js';
import { parseCertificate, type Certificate } from './x509-parse.js';

/** A throwaway two-level CA with its keys in memory. */
export interface TestCa {
  /** Root certificate. */
  root: Certificate;
  /** Root key pair. */
  rootKeys: RsaKeyPair;
  /** Issuing CA certificate. */
  issuing: Certificate;
  /** Issuing key pair. */
  issuingKeys: RsaKeyPair;
  /** Mints a leaf with exactly the given properties. */
  issue(o: LeafOptions): Certificate;
}

/** Properties of a test leaf certificate. */
export interface LeafOptions {
  /** Subject public key. */
  publicKey: KeyObject;
  /** Subject CN. */
  cn: string;
  /** SAN URIs. */
  uris?: string[];
  /** SAN DNS names. */
  dns?: string[];
  /** keyUsage bits (omit the extension when undefined). */
  keyUsage?: KeyUsage[];
  /** EKU OIDs (omit the extension when undefined). */
  eku?: string[];
  /** Validity start (default now - 1 h). */
  notBefore?: Date;
  /** Validity end (default now + 30 days). */
  notAfter?: Date;
}

function dskid(b: Uint8Array): Uint8Array {
  return Uint8Array.from([0x04, b.length, ...b]);
}

/** Creates a TestCa (RSA-2048 keys for speed) named after `label`. */
export async function makeTestCa(label = 'Test'): Promise<TestCa> {
  const [rootKeys, issuingKeys] = await Promise.all([generateRsaKeyPair(2048), generateRsaKeyPair(2048)]);
  const now = Date.now();
  const rootName = encodeName([['O', 'certim-test'], ['CN', `${label} Root`]]);
  const rootSki = keyIdentifier(rootKeys.publicKey);
  const root = parseCertificate(buildCertificate({
    serial: randomSerial(), issuer: rootName, subject: rootName, notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + 3650 * 86_400_000), publicKey: rootKeys.publicKey,
    extensions: [
      encodeExtension(OID.basicConstraints, true, encodeBasicConstraints({ ca: true, pathLen: 1 })),
      encodeExtension(OID.keyUsage, true, encodeKeyUsage(['keyCertSign', 'cRLSign'])),
      encodeExtension(OID.subjectKeyIdentifier, false, dskid(rootSki)),
    ],
  }, rootKeys.privateKey));
  const issuingSki = keyIdentifier(issuingKeys.publicKey);
  const issuing = parseCertificate(buildCertificate({
    serial: randomSerial(), issuer: root.subject.der, subject: encodeName([['O', 'certim-test'], ['CN', `${label} Issuing`]]),
    notBefore: new Date(now - 86_400_000), notAfter: new Date(now + 1000 * 86_400_000), publicKey: issuingKeys.publicKey,
    extensions: [
      encodeExtension(OID.basicConstraints, true, encodeBasicConstraints({ ca: true, pathLen: 0 })),
      encodeExtension(OID.keyUsage, true, encodeKeyUsage(['keyCertSign', 'cRLSign'])),
      encodeExtension(OID.subjectKeyIdentifier, false, dskid(issuingSki)),
      encodeExtension(OID.authorityKeyIdentifier, false, encodeAuthorityKeyIdentifier(rootSki)),
    ],
  }, rootKeys.privateKey));
  const issue = (o: LeafOptions): Certificate => {
    const exts = [encodeExtension(OID.basicConstraints, true, encodeBasicConstraints({ ca: false }))];
    if (o.keyUsage) exts.push(encodeExtension(OID.keyUsage, true, encodeKeyUsage(o.keyUsage)));
    if (o.eku) exts.push(encodeExtension(OID.extKeyUsage, false, encodeExtKeyUsage(o.eku)));
    if (o.uris || o.dns) exts.push(encodeExtension(OID.subjectAltName, false, encodeGeneralNames({ uris: o.uris ?? [], dns: o.dns ?? [] })));
    exts.push(encodeExtension(OID.authorityKeyIdentifier, false, encodeAuthorityKeyIdentifier(issuingSki)));
    return parseCertificate(buildCertificate({
      serial: randomSerial(), issuer: issuing.subject.der, subject: encodeName([['CN', o.cn]]),
      notBefore: o.notBefore ?? new Date(Date.now() - 3_600_000), notAfter: o.notAfter ?? new Date(Date.now() + 30 * 86_400_000),
      publicKey: o.publicKey, extensions: exts,
    }, issuingKeys.privateKey));
  };
  return { root, rootKeys, issuing, issuingKeys, issue };
}

/** PEM of a parsed certificate. */
export function pemOf(c: Certificate): string {
  return toPem('CERTIFICATE', c.der);
}
