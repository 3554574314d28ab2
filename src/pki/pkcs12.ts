/**
 * PKCS#12 (RFC 7292) import and export, on our DER codec and node:crypto.
 *
 * Export, modern (default): certificates in an encryptedData bag and keys in pkcs8ShroudedKeyBags, both PBES2 /
 * PBKDF2-HMAC-SHA256 (100,000 iterations) / AES-256-CBC; MAC HMAC-SHA256 with the PKCS#12 KDF (20,000 iterations:
 * that KDF runs in JS, ~2 µs per round, and blocks the event loop while it runs). This is what OpenSSL 3 writes.
 * Export, `legacy: true`: pbeWithSHAAnd3-KeyTripleDES-CBC for key and certificate bags, SHA-1 MAC, 2048 iterations —
 * what AIM-era clients (and Windows CryptoAPI of that time) read.
 *
 * Import: both of those, `openssl pkcs12 -export` (PBES2 AES-256 + SHA-256 MAC) and `-legacy` (RC2-40 certificate
 * bag, 3DES key bag, SHA-1 MAC); BER (indefinite lengths) as Windows writes it. The MAC is checked first, in constant
 * time; a mismatch is PkiError BAD_PASSPHRASE.
 *
 * Identities: a certim identity file holds two key+certificate pairs, tagged friendlyName "<sn> encryption" and
 * "<sn> signing", each with localKeyId = SHA-1 of its certificate (OpenSSL's convention), so import maps them back;
 * a single-key file (a classic client's) imports as a common identity (AIM numcerts 1).
 */
import type { KeyObject } from 'node:crypto';
import {
  der, tlv, parseAsn1, parseAt, seqOf, children, rawOf, readBigInt, readOid, readOctets, readSmallInt, readString, contentOf, ctxTag,
  TAG, Asn1Error, type Asn1,
} from './asn1/der.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';
import { pbes2Encrypt, pkcs12PbeEncrypt, pbeDecrypt, PBE_LIMITS, type PbeWorkBudget } from './pbe.js';
import { pkcs12Kdf, PKCS12_KDF_MAC } from './pkcs12-kdf.js';
import { decryptPrivateKeyInfo } from './pkcs8.js';
import { parseCertificate, type Certificate } from './x509-parse.js';
import { spkiOf } from './x509-builder.js';
import { normalizeScreenName } from './screen-name.js';
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

const MAX_P12_BYTES = 4 * 1024 * 1024;
const MAX_BAGS = 64;
const MAX_MAC_ITER = PBE_LIMITS.pkcs12Iterations;
/** File-wide totals: a file may hold up to MAX_BAGS encrypted parts, each within PBE_LIMITS on its own. */
const FILE_WORK_LIMIT = { pbkdf2: 2 * PBE_LIMITS.pbkdf2Iterations, pkcs12: 5 * PBE_LIMITS.pkcs12Iterations, scrypt: 2 * PBE_LIMITS.scryptWork };
const MAC_HASH: Record<string, { name: string; len: number }> = {
  [OID.sha1]: { name: 'sha1', len: 20 },
  [OID.sha256]: { name: 'sha256', len: 32 },
  [OID.sha384]: { name: 'sha384', len: 48 },
  [OID.sha512]: { name: 'sha512', len: 64 },
};

function bmp(s: string): Uint8Array {
  const b = Buffer.alloc(s.length * 2);
  for (let i = 0; i < s.length; i++) b.writeUInt16BE(s.charCodeAt(i), i * 2);
  return tlv(TAG.BMP_STRING, b);
}

/** bagAttributes: SET OF Attribute { attrId, attrValues SET OF }. */
function bagAttributes(friendlyName: string | undefined, localKeyId: Uint8Array | undefined): Uint8Array[] {
  const attrs: Uint8Array[] = [];
  if (friendlyName !== undefined) attrs.push(der.seq(der.oid(OID.friendlyName), der.setOf(bmp(friendlyName))));
  if (localKeyId !== undefined) attrs.push(der.seq(der.oid(OID.localKeyId), der.setOf(der.octets(localKeyId))));
  return attrs.length ? [der.setOf(...attrs)] : [];
}

/** SafeBag ::= SEQUENCE { bagId, bagValue [0] EXPLICIT, bagAttributes SET OF Attribute OPTIONAL } */
function safeBag(bagId: string, value: Uint8Array, friendlyName?: string, localKeyId?: Uint8Array): Uint8Array {
  return der.seq(der.oid(bagId), der.explicit(0, value), ...bagAttributes(friendlyName, localKeyId));
}

/** CertBag ::= SEQUENCE { certId x509Certificate, certValue [0] EXPLICIT OCTET STRING } */
function certBag(c: Certificate, friendlyName?: string, localKeyId?: Uint8Array): Uint8Array {
  return safeBag(OID.certBag, der.seq(der.oid(OID.x509Certificate), der.explicit(0, der.octets(c.der))), friendlyName, localKeyId);
}

/** ContentInfo(data) around SafeContents. */
function dataContentInfo(content: Uint8Array): Uint8Array {
  return der.seq(der.oid(OID.data), der.explicit(0, der.octets(content)));
}

/** ContentInfo(encryptedData): EncryptedData ::= { version 0, EncryptedContentInfo { data, alg, [0] IMPLICIT OCTETS } } */
function encryptedContentInfo(algorithm: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const eci = der.seq(der.oid(OID.data), algorithm, der.implicit(0, ciphertext));
  return der.seq(der.oid(OID.encryptedData), der.explicit(0, der.seq(der.int(0), eci)));
}

/** Writes a PKCS#12 file (DER) with the given key/certificate pairs. */
export async function exportPkcs12(entries: readonly Pkcs12ExportEntry[], password: string, opts: Pkcs12ExportOptions = {}): Promise<Uint8Array> {
  const provider = opts.provider ?? nodeCryptoProvider;
  const legacy = opts.legacy === true;
  const iterations = opts.iterations ?? (legacy ? 2048 : 100_000);
  const macIterations = opts.macIterations ?? (legacy ? 2048 : 20_000);
  const keyBags: Uint8Array[] = [];
  const certBags: Uint8Array[] = [];
  for (const e of entries) {
    if (!Buffer.from(spkiOf(e.privateKey, provider)).equals(Buffer.from(e.certificate.spki))) {
      throw new PkiError('INVALID_ARGUMENT', `the private key does not match certificate ${e.certificate.subjectCN ?? ''}`);
    }
    const localKeyId = new Uint8Array(provider.createHash('sha1').update(e.certificate.der).digest());
    const pkcs8 = new Uint8Array(e.privateKey.export({ type: 'pkcs8', format: 'der' }));
    const enc = legacy
      ? pkcs12PbeEncrypt(pkcs8, password, iterations, provider)
      : await pbes2Encrypt(pkcs8, password, { kdf: 'pbkdf2', iterations, hash: 'sha256' }, provider);
    pkcs8.fill(0);
    keyBags.push(safeBag(OID.pkcs8ShroudedKeyBag, der.seq(enc.algorithm, der.octets(enc.ciphertext)), e.friendlyName, localKeyId));
    certBags.push(certBag(e.certificate, e.friendlyName, localKeyId));
  }
  for (const c of opts.caCertificates ?? []) certBags.push(certBag(c));
  const certContents = der.seq(...certBags);
  const certEnc = legacy
    ? pkcs12PbeEncrypt(certContents, password, iterations, provider)
    : await pbes2Encrypt(certContents, password, { kdf: 'pbkdf2', iterations, hash: 'sha256' }, provider);
  const authSafe = der.seq(encryptedContentInfo(certEnc.algorithm, certEnc.ciphertext), dataContentInfo(der.seq(...keyBags)));
  const hash = legacy ? { name: 'sha1', oid: OID.sha1, len: 20 } : { name: 'sha256', oid: OID.sha256, len: 32 };
  const macSalt = provider.randomBytes(legacy ? 8 : 16);
  const macKey = pkcs12Kdf(hash.name, password, macSalt, PKCS12_KDF_MAC, macIterations, hash.len, provider);
  const mac = provider.createHmac(hash.name, macKey).update(authSafe).digest();
  // MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
  const macData = der.seq(der.seq(der.seq(der.oid(hash.oid), der.null()), der.octets(mac)), der.octets(macSalt), der.int(macIterations));
  return der.seq(der.int(3), dataContentInfo(authSafe), macData);
}

function contentInfoBody(ci: Asn1): { type: string; body: Asn1 } {
  const [t, c] = seqOf(ci, 'ContentInfo', 2);
  if (c!.tag !== ctxTag(0, true)) throw new PkiError('MALFORMED', 'ContentInfo content is not [0]');
  return { type: readOid(t!), body: parseAt(c!.buf, c!.contentStart, c!.contentEnd, { ber: c!.ber }, c!.depth + 1) };
}

/** Reads a PKCS#12 file (DER/BER). Throws BAD_PASSPHRASE on a MAC mismatch or undecryptable bag, MALFORMED otherwise. */
export async function importPkcs12(bytes: Uint8Array, password: string, provider: CryptoProvider = nodeCryptoProvider): Promise<Pkcs12Contents> {
  if (bytes.length > MAX_P12_BYTES) throw new PkiError('MALFORMED', 'PKCS#12 file too large');
  try {
    return await importInner(bytes, password, provider);
  } catch (e) {
    if (Asn1Error.is(e)) throw new PkiError('MALFORMED', `malformed PKCS#12: ${e.message}`, { cause: e });
    throw e;
  }
}

async function importInner(bytes: Uint8Array, password: string, provider: CryptoProvider): Promise<Pkcs12Contents> {
  const [verN, authSafeN, macN] = seqOf(parseAsn1(bytes, { ber: true }), 'PFX', 2);
  if (readSmallInt(verN!) !== 3) throw new PkiError('MALFORMED', 'unsupported PFX version');
  const auth = contentInfoBody(authSafeN!);
  if (auth.type !== OID.data) throw new PkiError('UNSUPPORTED_ALGORITHM', 'only password-integrity PKCS#12 files are supported');
  const authSafe = readOctets(auth.body);
  if (!macN) throw new PkiError('UNSUPPORTED_ALGORITHM', 'PKCS#12 file without a MAC (integrity unchecked) is refused');
  const [digestInfo, saltN, iterN] = seqOf(macN, 'MacData', 2);
  const [algN, digestN] = seqOf(digestInfo, 'DigestInfo', 2);
  const hashOid = readOid(seqOf(algN, 'digestAlgorithm', 1)[0]!);
  const hash = MAC_HASH[hashOid];
  if (!hash) throw new PkiError('UNSUPPORTED_ALGORITHM', `unsupported PKCS#12 MAC algorithm ${hashOid}`);
  const iterBig = iterN ? readBigInt(iterN) : 1n;
  if (iterBig < 1n) throw new PkiError('MALFORMED', `PKCS#12 MAC iteration count ${iterBig} out of range`);
  if (iterBig > BigInt(MAX_MAC_ITER)) {
    throw new PkiError('WORK_LIMIT_EXCEEDED', `PKCS#12 MAC iteration count ${iterBig} is above certim's limit; refusing before any decryption`);
  }
  const iterations = Number(iterBig);
  const budget: PbeWorkBudget = { spent: { pbkdf2: 0, pkcs12: iterations, scrypt: 0 }, limit: FILE_WORK_LIMIT };
  const salt = readOctets(saltN!);
  if (salt.length > 1024) throw new PkiError('MALFORMED', 'PKCS#12 MAC salt too long');
  const expected = readOctets(digestN!);
  const macKey = pkcs12Kdf(hash.name, password, salt, PKCS12_KDF_MAC, iterations, hash.len, provider);
  const mac = provider.createHmac(hash.name, macKey).update(authSafe).digest();
  if (expected.length !== mac.length || !provider.timingSafeEqual(mac, expected)) {
    throw new PkiError('BAD_PASSPHRASE', 'PKCS#12 integrity check failed: wrong password (or the file was altered)');
  }
  const out: Pkcs12Contents = { keys: [], certificates: [] };
  let bagCount = 0;
  for (const ci of seqOf(parseAsn1(authSafe, { ber: true }), 'AuthenticatedSafe')) {
    const { type, body } = contentInfoBody(ci);
    let safeContents: Uint8Array;
    if (type === OID.data) {
      safeContents = readOctets(body);
    } else if (type === OID.encryptedData) {
      const [, eci] = seqOf(body, 'EncryptedData', 2);
      const [, encAlg, encContent] = seqOf(eci, 'EncryptedContentInfo', 3);
      if ((encContent!.tag & 0x1f) !== 0 || (encContent!.tag & 0xc0) !== 0x80) throw new PkiError('MALFORMED', 'encryptedContent must be [0]');
      const ciphertext = readStringBytesImplicit(encContent!);
      safeContents = await pbeDecrypt(encAlg!, ciphertext, password, provider, budget);
    } else {
      throw new PkiError('UNSUPPORTED_ALGORITHM', `unsupported AuthenticatedSafe content ${type}`);
    }
    for (const bag of seqOf(parseAsn1(safeContents, { ber: true }), 'SafeContents')) {
      if (++bagCount > MAX_BAGS) throw new PkiError('MALFORMED', 'too many bags in PKCS#12 file');
      await readBag(bag, password, provider, out, budget);
    }
  }
  return out;
}

function readStringBytesImplicit(n: Asn1): Uint8Array {
  if ((n.tag & 0x20) === 0) return contentOf(n);
  const parts: Uint8Array[] = [];
  for (const c of children(n)) parts.push(readOctets(c));
  return Buffer.concat(parts);
}

async function readBag(bag: Asn1, password: string, provider: CryptoProvider, out: Pkcs12Contents, budget: PbeWorkBudget): Promise<void> {
  const [idN, valueN, attrsN] = seqOf(bag, 'SafeBag', 2);
  const bagId = readOid(idN!);
  const value = parseAt(valueN!.buf, valueN!.contentStart, valueN!.contentEnd, { ber: valueN!.ber }, valueN!.depth + 1);
  let friendlyName: string | undefined;
  let localKeyId: Uint8Array | undefined;
  if (attrsN) {
    for (const a of seqOf(attrsN, 'bagAttributes', 0, TAG.SET)) {
      const [t, vals] = seqOf(a, 'Attribute', 2);
      const first = seqOf(vals, 'attrValues', 1, TAG.SET)[0]!;
      const oid = readOid(t!);
      if (oid === OID.friendlyName) friendlyName = readString(first);
      else if (oid === OID.localKeyId) localKeyId = Uint8Array.from(readOctets(first));
    }
  }
  const meta = { ...(friendlyName !== undefined ? { friendlyName } : {}), ...(localKeyId ? { localKeyId } : {}) };
  if (bagId === OID.pkcs8ShroudedKeyBag) {
    out.keys.push({ value: await decryptPrivateKeyInfo(rawOf(value), password, provider, budget), ...meta });
  } else if (bagId === OID.keyBag) {
    try {
      out.keys.push({ value: provider.createPrivateKey({ key: Buffer.from(rawOf(value)), format: 'der', type: 'pkcs8' }), ...meta });
    } catch (e) {
      throw new PkiError('MALFORMED', `unreadable keyBag: ${(e as Error).message}`, { cause: e });
    }
  } else if (bagId === OID.certBag) {
    const [certIdN, certValN] = seqOf(value, 'CertBag', 2);
    if (readOid(certIdN!) !== OID.x509Certificate) return; // SDSI certificates: ignore
    const inner = parseAt(certValN!.buf, certValN!.contentStart, certValN!.contentEnd, { ber: certValN!.ber }, certValN!.depth + 1);
    out.certificates.push({ value: parseCertificate(Uint8Array.from(readOctets(inner)), provider), ...meta });
  }
  // CRL bags, secret bags and nested safeContents are ignored.
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
  const entries: Pkcs12ExportEntry[] = id.numCerts === 1 || id.encryption === id.signing
    ? [{ ...id.encryption, friendlyName: id.screenName }]
    : [
      { ...id.encryption, friendlyName: `${id.screenName} encryption` },
      { ...id.signing, friendlyName: `${id.screenName} signing` },
    ];
  return exportPkcs12(entries, password, { ...opts, caCertificates: [...(opts.caCertificates ?? []), ...id.caCertificates] });
}

/**
 * Imports an identity: pairs keys with certificates (localKeyId, else matching public key), assigns roles by
 * friendlyName suffix ("encryption"/"signing"), else by keyUsage; a single pair becomes a common identity.
 */
export async function importIdentityPkcs12(bytes: Uint8Array, password: string, provider: CryptoProvider = nodeCryptoProvider): Promise<Identity> {
  const p12 = await importPkcs12(bytes, password, provider);
  const pairs: (IdentityPart & { friendlyName?: string })[] = [];
  const used = new Set<Certificate>();
  for (const k of p12.keys) {
    const spki = Buffer.from(spkiOf(k.value, provider));
    const byId = k.localKeyId && p12.certificates.find((c) => c.localKeyId && Buffer.from(c.localKeyId).equals(Buffer.from(k.localKeyId!)));
    const match = byId && Buffer.from(byId.value.spki).equals(spki) ? byId : p12.certificates.find((c) => !used.has(c.value) && Buffer.from(c.value.spki).equals(spki));
    if (!match) throw new PkiError('MALFORMED', 'PKCS#12 holds a private key without its certificate');
    used.add(match.value);
    const friendlyName = k.friendlyName ?? match.friendlyName;
    pairs.push({ privateKey: k.value, certificate: match.value, ...(friendlyName !== undefined ? { friendlyName } : {}) });
  }
  const caCertificates = p12.certificates.filter((c) => !used.has(c.value)).map((c) => c.value);
  if (pairs.length === 0) throw new PkiError('MALFORMED', 'PKCS#12 holds no private key');
  if (pairs.length > 2) throw new PkiError('MALFORMED', `PKCS#12 holds ${pairs.length} keys; an identity has one or two`);
  const screenName = pairs[0]!.certificate.subjectCN ?? pairs[0]!.friendlyName?.replace(/ (encryption|signing)$/i, '') ?? '';
  if (pairs.length === 1) {
    const only = { privateKey: pairs[0]!.privateKey, certificate: pairs[0]!.certificate };
    return { screenName, numCerts: 1, encryption: only, signing: only, caCertificates };
  }
  const role = (p: (typeof pairs)[number]): 'encryption' | 'signing' | undefined => {
    const m = /(encryption|signing)$/i.exec(p.friendlyName ?? '');
    if (m) return m[1]!.toLowerCase() as 'encryption' | 'signing';
    const ku = p.certificate.keyUsage ?? [];
    if (ku.includes('keyEncipherment') && !ku.includes('digitalSignature')) return 'encryption';
    if (ku.includes('digitalSignature') || ku.includes('nonRepudiation')) return 'signing';
    return undefined;
  };
  let [a, b] = pairs as [(typeof pairs)[number], (typeof pairs)[number]];
  if (role(a) === 'signing' || role(b) === 'encryption') [a, b] = [b, a];
  if (normalizeScreenName(a.certificate.subjectCN ?? '') !== normalizeScreenName(b.certificate.subjectCN ?? '')) {
    throw new PkiError('MALFORMED', 'the two certificates in the PKCS#12 file name different screen names');
  }
  return {
    screenName, numCerts: 2,
    encryption: { privateKey: a.privateKey, certificate: a.certificate },
    signing: { privateKey: b.privateKey, certificate: b.certificate },
    caCertificates,
  };
}
