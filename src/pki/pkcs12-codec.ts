/**
 * PKCS#12 (RFC 7292) files as bytes: the one reader and writer that both the CLI (src/pki/pkcs12.ts, node:crypto)
 * and the web client (src/pki/pkcs12-webcrypto.ts, WebCrypto) use (docs/protocol.md §18.5). Portable: no node:
 * module, no Buffer. Keys go in and come out as PKCS#8 DER, certificates as DER; the crypto is an
 * {@link Pkcs12Engine}, which also decides which algorithms it accepts (the browser's accepts the modern profile
 * only and refuses the legacy one by name).
 *
 * File layout written: AuthenticatedSafe = [ encryptedData(certificate bags), data(pkcs8ShroudedKeyBags) ], each key
 * and its certificate tagged with friendlyName and localKeyId (SHA-1 of the certificate, OpenSSL's convention), the
 * CA certificates as bags without attributes; MacData over the AuthenticatedSafe, keyed with the PKCS#12 KDF.
 *
 * Reading: DER or BER (indefinite lengths, constructed strings, as Windows writes). Order of checks: sizes and
 * the MAC's parameters (algorithm refused or iteration count above the limit: nothing derived yet), then the MAC, in
 * constant time, then each encrypted part (its work counted against a file-wide budget before it runs). Every
 * password failure — MAC mismatch, a bag that does not decrypt, a decrypted bag that does not parse — is the same
 * PkiError BAD_PASSPHRASE with the same message, so the error says nothing about which check failed.
 */
import {
  der, tlv, parseAsn1, parseAt, seqOf, children, rawOf, readBigInt, readOid, readOctets, readString, contentOf, ctxTag,
  TAG, Asn1Error, type Asn1,
} from './asn1/der.js';
import { bytesEqual, concatBytes, constantTimeEqual } from '../wire/bytes.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';
import { PBE_LIMITS, assertPbeWorkBounded, type PbeWorkBudget } from './pbe-limits.js';
import { pkcs12Kdf, PKCS12_KDF_MAC, type Pkcs12Digest } from './pkcs12-kdf.js';
import { normalizeScreenName } from './screen-name.js';

/** Hashes a PKCS#12 MAC may use. */
export type Pkcs12MacHash = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** The crypto a PKCS#12 file needs, and which algorithms are acceptable. */
export interface Pkcs12Engine {
  /** Random bytes (MAC salt). */
  randomBytes(n: number): Uint8Array;
  /** One-shot synchronous hash for the PKCS#12 KDF (the MAC key). */
  digest: Pkcs12Digest;
  /** Throws PkiError UNSUPPORTED_ALGORITHM when this engine refuses MAC hash `hash` (called before any work). */
  checkMacHash(hash: Pkcs12MacHash): void;
  /** HMAC of `data`. */
  hmac(hash: Pkcs12MacHash, key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  /** Encrypts a key or the certificate bags; returns the AlgorithmIdentifier DER and the ciphertext. */
  encrypt(plain: Uint8Array, password: string): Promise<{ algorithm: Uint8Array; ciphertext: Uint8Array }>;
  /**
   * Decrypts one encrypted part (its work was already bounded). A wrong password is PkiError BAD_PASSPHRASE; an
   * algorithm the engine refuses is UNSUPPORTED_ALGORITHM with a message saying what to do instead.
   */
  decrypt(algorithm: Asn1, ciphertext: Uint8Array, password: string): Promise<Uint8Array>;
  /** SHA-1 of a certificate (the localKeyId written; an identifier, not a security check). */
  localKeyId(certDer: Uint8Array): Promise<Uint8Array>;
  /** The MAC this engine writes. */
  writeMac: { hash: Pkcs12MacHash; iterations: number; saltBytes: number };
}

/** Bag attributes. */
export interface Pkcs12Attributes {
  /** friendlyName, if any. */
  friendlyName?: string;
  /** localKeyId, if any. */
  localKeyId?: Uint8Array;
}

/** What a PKCS#12 file holds, as bytes. */
export interface Pkcs12Decoded {
  /** Private keys (PKCS#8 DER). The caller zeroes them when done. */
  keys: (Pkcs12Attributes & { pkcs8: Uint8Array })[];
  /** Certificates (DER), end-entity and CA. */
  certificates: (Pkcs12Attributes & { der: Uint8Array })[];
}

/** One key + certificate pair to write. */
export interface Pkcs12Entry {
  /** Private key, PKCS#8 DER. */
  pkcs8: Uint8Array;
  /** Its certificate, DER (the caller checks they match). */
  certDer: Uint8Array;
  /** friendlyName attribute. */
  friendlyName?: string;
}

/** Largest file read. */
export const MAX_P12_BYTES = 4 * 1024 * 1024;
const MAX_BAGS = 64;
/** File-wide totals: a file may hold up to MAX_BAGS encrypted parts, each within PBE_LIMITS on its own. */
const FILE_WORK_LIMIT = { pbkdf2: 2 * PBE_LIMITS.pbkdf2Iterations, pkcs12: 5 * PBE_LIMITS.pkcs12Iterations, scrypt: 2 * PBE_LIMITS.scryptWork };
const MAC_HASH: Record<string, { name: Pkcs12MacHash; len: number }> = {
  [OID.sha1]: { name: 'sha1', len: 20 },
  [OID.sha256]: { name: 'sha256', len: 32 },
  [OID.sha384]: { name: 'sha384', len: 48 },
  [OID.sha512]: { name: 'sha512', len: 64 },
};
const MAC_OID: Record<Pkcs12MacHash, string> = { sha1: OID.sha1, sha256: OID.sha256, sha384: OID.sha384, sha512: OID.sha512 };

/** The one wrong-password error (docs/protocol.md §18.5: it does not say which check failed). */
export const PKCS12_BAD_PASSPHRASE = 'wrong password for this PKCS#12 file (or the file was altered)';

function badPassphrase(cause?: unknown): PkiError {
  return new PkiError('BAD_PASSPHRASE', PKCS12_BAD_PASSPHRASE, cause === undefined ? undefined : { cause });
}

function bmp(s: string): Uint8Array {
  const b = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    b[i * 2] = s.charCodeAt(i) >>> 8;
    b[i * 2 + 1] = s.charCodeAt(i) & 0xff;
  }
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
function certBag(certDer: Uint8Array, friendlyName?: string, localKeyId?: Uint8Array): Uint8Array {
  return safeBag(OID.certBag, der.seq(der.oid(OID.x509Certificate), der.explicit(0, der.octets(certDer))), friendlyName, localKeyId);
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

/** Writes a PKCS#12 file (DER): the pairs in `entries`, plus `caCertificates` (DER) as certificate bags. */
export async function encodePkcs12(
  entries: readonly Pkcs12Entry[], caCertificates: readonly Uint8Array[], password: string, engine: Pkcs12Engine,
): Promise<Uint8Array> {
  const keyBags: Uint8Array[] = [];
  const certBags: Uint8Array[] = [];
  for (const e of entries) {
    const localKeyId = await engine.localKeyId(e.certDer);
    const enc = await engine.encrypt(e.pkcs8, password);
    keyBags.push(safeBag(OID.pkcs8ShroudedKeyBag, der.seq(enc.algorithm, der.octets(enc.ciphertext)), e.friendlyName, localKeyId));
    certBags.push(certBag(e.certDer, e.friendlyName, localKeyId));
  }
  for (const c of caCertificates) certBags.push(certBag(c));
  const certEnc = await engine.encrypt(der.seq(...certBags), password);
  const authSafe = der.seq(encryptedContentInfo(certEnc.algorithm, certEnc.ciphertext), dataContentInfo(der.seq(...keyBags)));
  const { hash, iterations, saltBytes } = engine.writeMac;
  const len = MAC_HASH[MAC_OID[hash]]!.len;
  const macSalt = engine.randomBytes(saltBytes);
  const macKey = pkcs12Kdf(hash, password, macSalt, PKCS12_KDF_MAC, iterations, len, engine.digest);
  const mac = await engine.hmac(hash, macKey, authSafe);
  macKey.fill(0);
  // MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
  const macData = der.seq(der.seq(der.seq(der.oid(MAC_OID[hash]), der.null()), der.octets(mac)), der.octets(macSalt), der.int(iterations));
  return der.seq(der.int(3), dataContentInfo(authSafe), macData);
}

function contentInfoBody(ci: Asn1): { type: string; body: Asn1 } {
  const [t, c] = seqOf(ci, 'ContentInfo', 2);
  if (c!.tag !== ctxTag(0, true)) throw new PkiError('MALFORMED', 'ContentInfo content is not [0]');
  return { type: readOid(t!), body: parseAt(c!.buf, c!.contentStart, c!.contentEnd, { ber: c!.ber }, c!.depth + 1) };
}

/** Reads a PKCS#12 file (DER/BER). BAD_PASSPHRASE for any password failure, MALFORMED, UNSUPPORTED_ALGORITHM, WORK_LIMIT_EXCEEDED. */
export async function decodePkcs12(bytes: Uint8Array, password: string, engine: Pkcs12Engine): Promise<Pkcs12Decoded> {
  if (bytes.length > MAX_P12_BYTES) throw new PkiError('MALFORMED', 'PKCS#12 file too large');
  try {
    return await decodeInner(bytes, password, engine);
  } catch (e) {
    if (Asn1Error.is(e)) throw new PkiError('MALFORMED', `malformed PKCS#12: ${e.message}`, { cause: e });
    throw e;
  }
}

async function decodeInner(bytes: Uint8Array, password: string, engine: Pkcs12Engine): Promise<Pkcs12Decoded> {
  const [verN, authSafeN, macN] = seqOf(parseAsn1(bytes, { ber: true }), 'PFX', 2);
  if (readBigInt(verN!) !== 3n) throw new PkiError('MALFORMED', 'unsupported PFX version');
  const auth = contentInfoBody(authSafeN!);
  if (auth.type !== OID.data) throw new PkiError('UNSUPPORTED_ALGORITHM', 'only password-integrity PKCS#12 files are supported');
  const authSafe = readOctets(auth.body);
  if (!macN) throw new PkiError('UNSUPPORTED_ALGORITHM', 'PKCS#12 file without a MAC (integrity unchecked) is refused');
  const [digestInfo, saltN, iterN] = seqOf(macN, 'MacData', 2);
  const [algN, digestN] = seqOf(digestInfo, 'DigestInfo', 2);
  const hashOid = readOid(seqOf(algN, 'digestAlgorithm', 1)[0]!);
  const hash = MAC_HASH[hashOid];
  if (!hash) throw new PkiError('UNSUPPORTED_ALGORITHM', `unsupported PKCS#12 MAC algorithm ${hashOid}`);
  engine.checkMacHash(hash.name);
  const iterBig = iterN ? readBigInt(iterN) : 1n;
  if (iterBig < 1n) throw new PkiError('MALFORMED', `PKCS#12 MAC iteration count ${iterBig} out of range`);
  if (iterBig > BigInt(PBE_LIMITS.pkcs12Iterations)) {
    throw new PkiError('WORK_LIMIT_EXCEEDED', `PKCS#12 MAC iteration count ${iterBig} is above certim's limit; refusing before any decryption`);
  }
  const iterations = Number(iterBig);
  const budget: PbeWorkBudget = { spent: { pbkdf2: 0, pkcs12: iterations, scrypt: 0 }, limit: FILE_WORK_LIMIT };
  const salt = readOctets(saltN!);
  if (salt.length > PBE_LIMITS.saltBytes) throw new PkiError('MALFORMED', 'PKCS#12 MAC salt too long');
  const expected = readOctets(digestN!);
  const macKey = pkcs12Kdf(hash.name, password, salt, PKCS12_KDF_MAC, iterations, hash.len, engine.digest);
  const mac = await engine.hmac(hash.name, macKey, authSafe);
  macKey.fill(0);
  if (!constantTimeEqual(mac, expected)) throw badPassphrase();
  const out: Pkcs12Decoded = { keys: [], certificates: [] };
  let bagCount = 0;
  for (const ci of seqOf(parseAsn1(authSafe, { ber: true }), 'AuthenticatedSafe')) {
    const { type, body } = contentInfoBody(ci);
    let safeContents: Asn1;
    if (type === OID.data) {
      safeContents = parseAsn1(readOctets(body), { ber: true });
    } else if (type === OID.encryptedData) {
      const [, eci] = seqOf(body, 'EncryptedData', 2);
      const [, encAlg, encContent] = seqOf(eci, 'EncryptedContentInfo', 3);
      if ((encContent!.tag & 0x1f) !== 0 || (encContent!.tag & 0xc0) !== 0x80) throw new PkiError('MALFORMED', 'encryptedContent must be [0]');
      const plain = await decryptPart(encAlg!, implicitOctets(encContent!), password, engine, budget);
      safeContents = parseDecrypted(plain);
    } else {
      throw new PkiError('UNSUPPORTED_ALGORITHM', `unsupported AuthenticatedSafe content ${type}`);
    }
    for (const bag of seqOf(safeContents, 'SafeContents')) {
      if (++bagCount > MAX_BAGS) throw new PkiError('MALFORMED', 'too many bags in PKCS#12 file');
      await readBag(bag, password, engine, out, budget);
    }
  }
  return out;
}

/** Bounds the work, then decrypts; any password failure becomes the one BAD_PASSPHRASE. */
async function decryptPart(alg: Asn1, ciphertext: Uint8Array, password: string, engine: Pkcs12Engine, budget: PbeWorkBudget): Promise<Uint8Array> {
  assertPbeWorkBounded(alg, budget);
  try {
    return await engine.decrypt(alg, ciphertext, password);
  } catch (e) {
    if (PkiError.is(e, 'BAD_PASSPHRASE')) throw badPassphrase(e);
    if (Asn1Error.is(e)) throw new PkiError('MALFORMED', `malformed encryption parameters: ${e.message}`, { cause: e });
    throw e;
  }
}

/** A decrypted part that is not DER is a wrong password whose padding checked out by chance (~1/256). */
function parseDecrypted(plain: Uint8Array): Asn1 {
  try {
    return parseAsn1(plain, { ber: true });
  } catch (e) {
    if (Asn1Error.is(e)) throw badPassphrase(e);
    throw e;
  }
}

function implicitOctets(n: Asn1): Uint8Array {
  if ((n.tag & 0x20) === 0) return contentOf(n);
  return concatBytes(...children(n).map((c) => readOctets(c)));
}

async function readBag(bag: Asn1, password: string, engine: Pkcs12Engine, out: Pkcs12Decoded, budget: PbeWorkBudget): Promise<void> {
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
    // EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm, encryptedData OCTET STRING }
    const [alg, data] = seqOf(value, 'EncryptedPrivateKeyInfo', 2);
    const pkcs8 = await decryptPart(alg!, readOctets(data!), password, engine, budget);
    const pki = parseDecrypted(pkcs8);
    if (pki.tag !== TAG.SEQUENCE) throw badPassphrase();
    out.keys.push({ pkcs8, ...meta });
  } else if (bagId === OID.keyBag) {
    out.keys.push({ pkcs8: Uint8Array.from(rawOf(value)), ...meta });
  } else if (bagId === OID.certBag) {
    const [certIdN, certValN] = seqOf(value, 'CertBag', 2);
    if (readOid(certIdN!) !== OID.x509Certificate) return; // SDSI certificates: ignore
    const inner = parseAt(certValN!.buf, certValN!.contentStart, certValN!.contentEnd, { ber: certValN!.ber }, certValN!.depth + 1);
    out.certificates.push({ der: Uint8Array.from(readOctets(inner)), ...meta });
  }
  // CRL bags, secret bags and nested safeContents are ignored.
}

// ----------------------------------------------------------------------------------------------------------------
// Identities (docs/protocol.md §18.5)

/** One role of an identity, as bytes. */
export interface Pkcs12IdentityPart {
  /** Private key, PKCS#8 DER. */
  pkcs8: Uint8Array;
  /** Certificate, DER. */
  certDer: Uint8Array;
}

/** A certim identity as bytes: encryption and signing pairs (numCerts 2), or one common pair (numCerts 1). */
export interface Pkcs12Identity {
  /** Screen name (the certificates' CN). */
  screenName: string;
  /** AIM numcerts: 1 = common (encryption and signing are the same object), 2 = separate. */
  numCerts: 1 | 2;
  /** Key transport pair. */
  encryption: Pkcs12IdentityPart;
  /** Signing pair. */
  signing: Pkcs12IdentityPart;
  /** CA certificates that came along (DER). */
  caCertificates: Uint8Array[];
}

/** What pairing needs to know about keys and certificates (the caller's X.509 parser and key import). */
export interface Pkcs12Describe {
  /** SubjectPublicKeyInfo DER of a private key (PKCS#8). */
  keySpki(pkcs8: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** A certificate's public key, subject CN and keyUsage names. */
  cert(der: Uint8Array): { spki: Uint8Array; subjectCN?: string | undefined; keyUsage?: readonly string[] | undefined };
}

/** Writes an identity: two pairs tagged "<sn> encryption" / "<sn> signing" (or one tagged "<sn>"), and the CA. */
export function encodeIdentityPkcs12(id: Pkcs12Identity, password: string, engine: Pkcs12Engine): Promise<Uint8Array> {
  const entries: Pkcs12Entry[] = id.numCerts === 1 || id.encryption === id.signing
    ? [{ ...id.encryption, friendlyName: id.screenName }]
    : [
      { ...id.encryption, friendlyName: `${id.screenName} encryption` },
      { ...id.signing, friendlyName: `${id.screenName} signing` },
    ];
  return encodePkcs12(entries, id.caCertificates, password, engine);
}

/**
 * Pairs the keys of a decoded file with their certificates (localKeyId, else equal public key) and assigns roles by
 * friendlyName suffix ("encryption"/"signing"), else by keyUsage; a single pair is a common identity. Certificates
 * without a key are returned as CA certificates. Nothing here checks them against a CA: the caller does.
 */
export async function pairIdentity(p12: Pkcs12Decoded, describe: Pkcs12Describe): Promise<Pkcs12Identity> {
  const certs = p12.certificates.map((c) => ({ ...c, info: describe.cert(c.der) }));
  const pairs: (Pkcs12IdentityPart & { friendlyName?: string; info: ReturnType<Pkcs12Describe['cert']> })[] = [];
  const used = new Set<(typeof certs)[number]>();
  if (p12.keys.length === 0) throw new PkiError('MALFORMED', 'PKCS#12 holds no private key');
  if (p12.keys.length > 2) throw new PkiError('MALFORMED', `PKCS#12 holds ${p12.keys.length} keys; an identity has one or two`);
  for (const k of p12.keys) {
    const spki = await describe.keySpki(k.pkcs8);
    const id = k.localKeyId;
    const byId = id && certs.find((c) => c.localKeyId !== undefined && bytesEqual(c.localKeyId, id));
    const match = byId && bytesEqual(byId.info.spki, spki) ? byId : certs.find((c) => !used.has(c) && bytesEqual(c.info.spki, spki));
    if (!match) throw new PkiError('MALFORMED', 'PKCS#12 holds a private key without its certificate');
    used.add(match);
    const friendlyName = k.friendlyName ?? match.friendlyName;
    pairs.push({ pkcs8: k.pkcs8, certDer: match.der, info: match.info, ...(friendlyName !== undefined ? { friendlyName } : {}) });
  }
  const caCertificates = certs.filter((c) => !used.has(c)).map((c) => c.der);
  const screenName = pairs[0]!.info.subjectCN ?? pairs[0]!.friendlyName?.replace(/ (encryption|signing)$/i, '') ?? '';
  if (pairs.length === 1) {
    const only = { pkcs8: pairs[0]!.pkcs8, certDer: pairs[0]!.certDer };
    return { screenName, numCerts: 1, encryption: only, signing: only, caCertificates };
  }
  const role = (p: (typeof pairs)[number]): 'encryption' | 'signing' | undefined => {
    const m = /(encryption|signing)$/i.exec(p.friendlyName ?? '');
    if (m) return m[1]!.toLowerCase() as 'encryption' | 'signing';
    const ku = p.info.keyUsage ?? [];
    if (ku.includes('keyEncipherment') && !ku.includes('digitalSignature')) return 'encryption';
    if (ku.includes('digitalSignature') || ku.includes('nonRepudiation')) return 'signing';
    return undefined;
  };
  let [a, b] = pairs as [(typeof pairs)[number], (typeof pairs)[number]];
  if (role(a) === 'signing' || role(b) === 'encryption') [a, b] = [b, a];
  if (normalizeScreenName(a.info.subjectCN ?? '') !== normalizeScreenName(b.info.subjectCN ?? '')) {
    throw new PkiError('MALFORMED', 'the two certificates in the PKCS#12 file name different screen names');
  }
  return {
    screenName, numCerts: 2,
    encryption: { pkcs8: a.pkcs8, certDer: a.certDer },
    signing: { pkcs8: b.pkcs8, certDer: b.certDer },
    caCertificates,
  };
}
