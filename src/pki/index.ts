/**
 * certim PKI: keys, PKCS#8/PKCS#12, CSRs, X.509 issue/parse/verify, CRLs, the server CA, EST logic and the AIM
 * certificate-info block. CMS messages live in ./cms/. ASN.1 primitives are in ./asn1/der.ts.
 */
export * from './errors.js';
export * from './provider.js';
export * from './oids.js';
export * from './screen-name.js';
export * from './keys.js';
export * from './pbe.js';
export * from './pkcs8.js';
export * from './pkcs12.js';
export * from './name.js';
export * from './extensions.js';
export * from './algorithms.js';
export * from './x509-builder.js';
export * from './x509-parse.js';
export * from './csr.js';
export * from './crl.js';
export * from './profiles.js';
export * from './verifier.js';
export * from './ledger.js';
export { MemoryCertificateLedger } from './ledger-memory.js';
export * from './certs-only.js';
export * from './ca.js';
export * from './est.js';
export * from './cert-info.js';
export * from './fingerprint.js';
