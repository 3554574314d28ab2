/**
 * PKCS#12 (RFC 7292) import and export for Node (the CLI): the file format is src/pki/pkcs12-codec.ts, the same
 * reader/writer the web client runs; this module gives it node:crypto (every algorithm, legacy included) and turns
 * its bytes into KeyObjects and parsed certificates.
 *
 * Export, modern (default): certificates in an encryptedData bag and keys in pkcs8ShroudedKeyBags, both PBES2 /
 * PBKDF2-HMAC-SHA256 (100,000 iterations) / AES-256-CBC; MAC HMAC-SHA256 with the PKCS#12 KDF (20,000 iterations:
 * that KDF runs in JS, ~2 µs per round, and blocks the event loop while it runs). This is what OpenSSL 3 writes.
 * Export, `legacy: true`: pbeWithSHAAnd3-KeyTripleDES-CBC for key and certificate bags, SHA-1 MAC, 2048 iterations —
 * what AIM-era clients (and Windows CryptoAPI of that time) read.
 *
 * Import: both of those, `openssl pkcs12 -export` (PBES2 AES-256 + SHA-256 MAC) and `-legacy` (RC2-40 certificate
 * bag, 3DES key bag, SHA-1 MAC); BER (indefinite lengths) as Windows writes it. The MAC is checked first, in constant
 * time; a mismatch, like any other password failure, is PkiError BAD_PASSPHRASE with one message.
 *
 * Identities: a certim identity file holds two key+certificate pairs, tagged friendlyName "<sn> encryption" and
 * "<sn> signing", each with localKeyId = SHA-1 of its certificate (OpenSSL's convention), so import maps them back;
 * a single-key file (a classic client's) imports as a common identity (AIM numcerts 1).
 */
import type { KeyObject } from 'node:crypto';
import { bytesEqual } from '../wire/bytes.js';
import { PkiError } from './errors.js';
import { pbes2Encrypt, pkcs12PbeEncrypt, pbeDecrypt, nodeDigest } from './pbe.js';
import { decodePkcs12, encodePkcs12, encodeIdentityPkcs12, pairIdentity, type Pkcs12Engine, type Pkcs12Decoded } from './pkcs12-codec.js';
import { parseCertificate, type Certificate } from './x509-parse.js';
import { spkiOf } from './x509-builder.js';
import { nodeCryptoProvider, type CryptoProvider } from './provider.js';

/** One private key or certificate in a PKCS#12 file, with its bag attributes. */
export interface Pkcs12Bag<T> {
  /** The key or certificate. */
  value: T;
  /** friendlyName attribute, if any. */
  friendlyName?: string;
  /** localKeyId attribute, if any. */
  localKeyId?: Uint8Array;
}

/** Everything in a PKCS#12 file. */
export interface Pkcs12Contents {
  /** Private keys. */
  keys: Pkcs12Bag<KeyObject>[];
  /** Certificates (end-entity and CA). */
  certificates: Pkcs12Bag<Certificate>[];
}

/** One key + certificate pair to export. */
export interface Pkcs12ExportEntry {
  /** Private key. */
  privateKey: KeyObject;
  /** Its certificate. */
  certificate: Certificate;
  /** friendlyName attribute. */
  friendlyName?: string;
}

/** Options for export. */
export interface Pkcs12ExportOptions {
  /** Write the legacy algorithms (3DES, SHA-1 MAC) AIM-era clients need. */
  legacy?: boolean;
  /** PBKDF2 iterations for modern bags (default 100,000). */
  iterations?: number;
  /** PKCS#12 KDF iterations for the MAC (default 20,000 modern, 2,048 legacy). */
  macIterations?: number;
  /** Extra CA certificates to include (no key). */
  caCertificates?: readonly Certificate[];
  /** Crypto provider. */
  provider?: CryptoProvider;
}

/** node:crypto as a PKCS#12 engine: every algorithm certim reads; writes the modern or (`legacy`) the AIM-era profile. */
export function nodePkcs12Engine(opts: Pkcs12ExportOptions = {}): Pkcs12Engine {
  const provider = opts.provider ?? nodeCryptoProvider;
  const legacy = opts.legacy === true;
  const iterations = opts.iterations ?? (legacy ? 2048 : 100_000);
  return {
    randomBytes: (n) => new Uint8Array(provider.randomBytes(n)),
    digest: nodeDigest(provider),
    checkMacHash: () => undefined,
    hmac: async (hash, key, data) => new Uint8Array(provider.createHmac(hash, key).update(data).digest()),
    encrypt: async (plain, password) => (legacy
      ? pkcs12PbeEncrypt(plain, password, iterations, provider)
      : pbes2Encrypt(plain, password, { kdf: 'pbkdf2', iterations, hash: 'sha256' }, provider)),
    decrypt: (alg, ciphertext, password) => pbeDecrypt(alg, ciphertext, password, provider),
    localKeyId: async (certDer) => new Uint8Array(provider.createHash('sha1').update(certDer).digest()),
    writeMac: legacy
      ? { hash: 'sha1', iterations: opts.macIterations ?? 2048, saltBytes: 8 }
      : { hash: 'sha256', iterations: opts.macIterations ?? 20_000, saltBytes: 16 },
  };
}

function samePublicKey(key: KeyObject, cert: Certificate, provider: CryptoProvider): boolean {
  return bytesEqual(spkiOf(key, provider), cert.spki);
}

function pkcs8Of(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: 'pkcs8', format: 'der' }));
}

function keyObjectOf(pkcs8: Uint8Array, provider: CryptoProvider): KeyObject {
  try {
    return provider.createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  } catch (e) {
    throw new PkiError('MALFORMED', `unreadable private key in PKCS#12 file: ${(e as Error).message}`, { cause: e });
  } finally {
    pkcs8.fill(0);
  }
}

/** Writes a PKCS#12 file (DER) with the given key/certificate pairs. */
export async function exportPkcs12(entries: readonly Pkcs12ExportEntry[], password: string, opts: Pkcs12ExportOptions = {}): Promise<Uint8Array> {
  const provider = opts.provider ?? nodeCryptoProvider;
  const bytes = entries.map((e) => {
    if (!samePublicKey(e.privateKey, e.certificate, provider)) {
      throw new PkiError('INVALID_ARGUMENT', `the private key does not match certificate ${e.certificate.subjectCN ?? ''}`);
    }
    return { pkcs8: pkcs8Of(e.privateKey), certDer: e.certificate.der, ...(e.friendlyName !== undefined ? { friendlyName: e.friendlyName } : {}) };
  });
  try {
    return await encodePkcs12(bytes, (opts.caCertificates ?? []).map((c) => c.der), password, nodePkcs12Engine(opts));
  } finally {
    for (const b of bytes) b.pkcs8.fill(0);
  }
}

/** Reads a PKCS#12 file (DER/BER). Throws BAD_PASSPHRASE on a MAC mismatch or undecryptable bag, MALFORMED otherwise. */
export async function importPkcs12(bytes: Uint8Array, password: string, provider: CryptoProvider = nodeCryptoProvider): Promise<Pkcs12Contents> {
  const raw = await decodePkcs12(bytes, password, nodePkcs12Engine({ provider }));
  return toContents(raw, provider);
}

function toContents(raw: Pkcs12Decoded, provider: CryptoProvider): Pkcs12Contents {
  const meta = (a: { friendlyName?: string; localKeyId?: Uint8Array }) => ({
    ...(a.friendlyName !== undefined ? { friendlyName: a.friendlyName } : {}), ...(a.localKeyId ? { localKeyId: a.localKeyId } : {}),
  });
  const keys = raw.keys.map((k) => ({ value: keyObjectOf(k.pkcs8, provider), ...meta(k) }));
  const certificates = raw.certificates.map((c) => ({ value: parseCertificate(c.der, provider), ...meta(c) }));
  return { keys, certificates };
}

// ----------------------------------------------------------------------------------------------------------------
// Identities

/** One key + certificate role of an identity. */
export interface IdentityPart {
  /** Private key. */
  privateKey: KeyObject;
  /** Certificate. */
  certificate: Certificate;
}

/**
 * A user's identity: encryption and signing pairs (numCerts 2), or one common pair used for both (numCerts 1, in
 * which case `encryption` and `signing` are the same object).
 */
export interface Identity {
  /** Screen name (as in the certificate CN). */
  screenName: string;
  /** AIM numcerts: 1 = common, 2 = separate. */
  numCerts: 1 | 2;
  /** Key transport pair. */
  encryption: IdentityPart;
  /** Signing pair. */
  signing: IdentityPart;
  /** CA certificates that came along. */
  caCertificates: Certificate[];
}

/** Exports an identity (two pairs tagged "<sn> encryption" / "<sn> signing", or one tagged "<sn>"). */
export async function exportIdentityPkcs12(id: Identity, password: string, opts: Pkcs12ExportOptions = {}): Promise<Uint8Array> {
  const provider = opts.provider ?? nodeCryptoProvider;
  const part = (p: IdentityPart) => {
    if (!samePublicKey(p.privateKey, p.certificate, provider)) {
      throw new PkiError('INVALID_ARGUMENT', `the private key does not match certificate ${p.certificate.subjectCN ?? ''}`);
    }
    return { pkcs8: pkcs8Of(p.privateKey), certDer: p.certificate.der };
  };
  const encryption = part(id.encryption);
  const signing = id.numCerts === 1 || id.encryption === id.signing ? encryption : part(id.signing);
  try {
    return await encodeIdentityPkcs12({
      screenName: id.screenName, numCerts: encryption === signing ? 1 : 2, encryption, signing,
      caCertificates: [...(opts.caCertificates ?? []), ...id.caCertificates].map((c) => c.der),
    }, password, nodePkcs12Engine(opts));
  } finally {
    encryption.pkcs8.fill(0);
    signing.pkcs8.fill(0);
  }
}

/**
 * Imports an identity: pairs keys with certificates (localKeyId, else matching public key), assigns roles by
 * friendlyName suffix ("encryption"/"signing"), else by keyUsage; a single pair becomes a common identity.
 */
export async function importIdentityPkcs12(bytes: Uint8Array, password: string, provider: CryptoProvider = nodeCryptoProvider): Promise<Identity> {
  const raw = await decodePkcs12(bytes, password, nodePkcs12Engine({ provider }));
  const parsed = new Map<Uint8Array, Certificate>(raw.certificates.map((c) => [c.der, parseCertificate(c.der, provider)]));
  const keys = new Map<Uint8Array, KeyObject>();
  const id = await pairIdentity(raw, {
    keySpki: (pkcs8) => {
      const k = provider.createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
      keys.set(pkcs8, k);
      return spkiOf(k, provider);
    },
    cert: (d) => parsed.get(d)!,
  }).catch((e: unknown) => {
    if (e instanceof PkiError) throw e;
    throw new PkiError('MALFORMED', `unreadable private key in PKCS#12 file: ${(e as Error).message}`, { cause: e });
  });
  for (const k of raw.keys) k.pkcs8.fill(0);
  const part = (p: { pkcs8: Uint8Array; certDer: Uint8Array }): IdentityPart => ({ privateKey: keys.get(p.pkcs8)!, certificate: parsed.get(p.certDer)! });
  const encryption = part(id.encryption);
  return {
    screenName: id.screenName, numCerts: id.numCerts, encryption,
    signing: id.numCerts === 1 ? encryption : part(id.signing),
    caCertificates: id.caCertificates.map((d) => parsed.get(d)!),
  };
}
