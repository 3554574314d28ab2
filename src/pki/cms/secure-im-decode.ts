/**
 * Secure IM decoder: the reverse of secure-im-encode.ts for both profiles, plus what other senders emit — BER
 * indefinite lengths and constructed OCTET STRINGs (AIM 5.2), recipient by IssuerAndSerialNumber or [0]
 * SubjectKeyIdentifier, EnvelopedData version 0 or 2, signed attributes present or absent (docs/protocol.md §6.3, §9.3).
 *
 * Never throws: every outcome is a {@link SecureImResult}. Once a RecipientInfo for one of our keys is found:
 * - a failed key unwrap and a failed content decryption are ONE result (code `tampered`, step `decrypt`, one
 *   reason): both unwraps substitute a synthetic key on failure (implicit rejection, RFC 3218 §2.3.2, see
 *   rsa-pkcs1-unwrap.ts) so the content decryption always runs and fails the same way;
 * - aim-legacy content is AES-CBC without integrity, so anything that fails before the signature verifies (padding,
 *   inner structure, algorithms, signer lookup, the signature itself) is that same result too — otherwise the
 *   difference between "bad padding" and "good padding, bad structure" would be a CBC padding oracle on the
 *   message (Vaudenay). Modern content is authenticated (GCM), so later steps may keep their own codes.
 * No output (result, CLI JSON, logs) can therefore tell one decryption failure from another (docs/protocol.md §6.3).
 * Signing-only certificates among our keys are never used to decrypt (docs/protocol.md §6.2).
 * The crypto is the provider's (crypto.ts): the modern profile runs on WebCrypto calls alone; aim-legacy needs the
 * provider's Node-only legacy part and is `unsupported-algorithm` ({@link CLASSIC_NEEDS_DESKTOP}) without it.
 */
import { bytesEqual, concatBytes, toHex } from '../../wire/bytes.js';
import {
  Asn1Error, children, der, parseAsn1, rawOf, readOctets, readSmallInt, readString, readStringBytes, readTime, TAG,
  type Asn1,
} from '../asn1/der.js';
import { normalizeScreenName } from '../screen-name.js';
import { decodeCharset } from './charset.js';
import { prepareCertificate, type CertificateInput, type CmsCertificate } from './cms-certificate.js';
import { decodeMimeEntity, getMimeHeader, parseContentType, type MimeEntity } from '../../wire/mime-headers.js';
import { CONTENT_CIPHERS, DIGESTS, knownOid, OID, RSA_SIGNATURE_OIDS } from './oids.js';
import { innerHeaders, OUTER_HEADERS } from './secure-im-encode.js';
import {
  bin, CLASSIC_NEEDS_DESKTOP, defaultCmsCrypto, publicKeyFor, resolvePrivateKey, type CmsCrypto, type CryptoKeyLike, type HashName,
} from './crypto.js';
import type {
  CmsFailureCode, DecodeSecureImOptions, PreparedRecipient, SecureImProfile, SecureImResult, SecureImStep,
} from './secure-im-types.js';

/** Largest message we look at; AIM clients cap ICBMs far below this. Bounds work on hostile input. */
export const MAX_SECURE_IM_BYTES = 64 * 1024;

/** Children of an element that must be present and constructed (else an Asn1Error, never a TypeError). */
export function kids(n: Asn1 | undefined): Asn1[] {
  if (!n) throw new Asn1Error('TRUNCATED', 0, 'missing element');
  return children(n);
}

/** A decoding failure (thrown internally, turned into a result at the edge). */
export class Fail {
  constructor(readonly code: CmsFailureCode, readonly step: SecureImStep, readonly reason: string) {}
}

/** The one reason text of every decryption failure (see the file comment). */
export const UNDECRYPTABLE_REASON = 'the message could not be decrypted and verified';
export const undecryptable = (): Fail => new Fail('tampered', 'decrypt', UNDECRYPTABLE_REASON);

export const fail = (code: CmsFailureCode, step: SecureImStep, reason: string): never => {
  throw new Fail(code, step, reason);
};

export function oidOf(n: Asn1 | undefined, what: string): string | undefined {
  if (!n || n.tag !== TAG.OID) throw new Asn1Error('BAD_TAG', n?.start ?? 0, `${what}: expected OBJECT IDENTIFIER`);
  return knownOid(n);
}

/** A parsed RecipientInfo identifier. */
export type RecipientId = { kind: 'ias'; issuerRaw: Uint8Array; serialRaw: Uint8Array } | { kind: 'ski'; ski: Uint8Array };

export function matchesCert(rid: RecipientId, cert: CmsCertificate): boolean {
  if (rid.kind === 'ski') return cert.ski !== undefined && bytesEqual(rid.ski, cert.ski);
  // issuerAndSerial is SEQUENCE { issuer, serial } built from exactly such raw parts: compare its content in place
  // (same total length and same content bytes means the same DER header too) instead of re-encoding per message.
  const ias = cert.issuerAndSerial;
  const n = rid.issuerRaw.length;
  const m = rid.serialRaw.length;
  const at = ias.length - n - m;
  if (at < 2 || at > 6) return false;
  return bytesEqual(ias.subarray(at, at + n), rid.issuerRaw) && bytesEqual(ias.subarray(at + n), rid.serialRaw);
}

/** Reads IssuerAndSerialNumber (SEQUENCE) or [0] SubjectKeyIdentifier (RFC 5652 §5.3, §6.2.1). */
export function readRecipientId(n: Asn1 | undefined): RecipientId {
  if (n && n.tag === TAG.SEQUENCE) {
    const [issuer, serial] = kids(n);
    if (!issuer || issuer.tag !== TAG.SEQUENCE || !serial || serial.tag !== TAG.INTEGER) throw new Asn1Error('BAD_VALUE', n.start, 'bad IssuerAndSerialNumber');
    return { kind: 'ias', issuerRaw: rawOf(issuer), serialRaw: rawOf(serial) };
  }
  if (n && (n.tag === 0x80 || n.tag === 0xa0)) return { kind: 'ski', ski: readStringBytes(n, 0x80, 'SubjectKeyIdentifier') };
  throw new Asn1Error('BAD_TAG', n?.start ?? 0, 'unknown recipient/signer identifier');
}

/** A parsed KeyTransRecipientInfo. */
export interface KeyTransRecipient { rid: RecipientId; keyAlg: Asn1[]; encryptedKey: Uint8Array }

interface Envelope {
  profile: SecureImProfile;
  ktris: KeyTransRecipient[];
  cipherOid: string | undefined;
  cipherParams: Asn1 | undefined;
  encrypted: Uint8Array;
  mac: Uint8Array | undefined;
  aad: Uint8Array | undefined;
}

/** Parses ContentInfo(EnvelopedData | AuthEnvelopedData) (RFC 5652 §6, RFC 5083 §2). */
function parseEnvelope(bytes: Uint8Array): Envelope {
  const ci = parseAsn1(bytes, { ber: true });
  const [typeNode, wrapped] = kids(ci);
  if (ci.tag !== TAG.SEQUENCE || !wrapped || wrapped.tag !== 0xa0) throw new Asn1Error('BAD_VALUE', ci.start, 'bad ContentInfo');
  const type = oidOf(typeNode, 'contentType');
  const profile: SecureImProfile = type === OID.envelopedData ? 'aim-legacy' : type === OID.authEnvelopedData ? 'modern' : fail('unsupported-algorithm', 'parse', 'content is neither EnvelopedData nor AuthEnvelopedData');
  const body = kids(wrapped)[0];
  if (!body || body.tag !== TAG.SEQUENCE) throw new Asn1Error('BAD_VALUE', wrapped.start, 'bad envelope body');
  const f = kids(body);
  let i = 0;
  const version = readSmallInt(f[i++] ?? fail('malformed', 'parse', 'empty envelope'));
  if (profile === 'aim-legacy' ? ![0, 2, 3, 4].includes(version) : version !== 0) fail('unsupported-algorithm', 'parse', `envelope version ${version}`);
  if (f[i]?.tag === 0xa0) i++; // originatorInfo: ignored (certificates we do not need)
  const riSet = f[i++];
  if (!riSet || riSet.tag !== TAG.SET) throw new Asn1Error('BAD_VALUE', body.start, 'missing RecipientInfos');
  const ktris: Envelope['ktris'] = [];
  for (const ri of kids(riSet)) {
    if (ri.tag !== TAG.SEQUENCE) continue; // kari/kekri/pwri/ori: not for us
    const [, rid, keyAlg, ek] = kids(ri);
    if (!keyAlg || keyAlg.tag !== TAG.SEQUENCE || !ek) throw new Asn1Error('BAD_VALUE', ri.start, 'bad KeyTransRecipientInfo');
    ktris.push({ rid: readRecipientId(rid), keyAlg: kids(keyAlg), encryptedKey: readOctets(ek) });
  }
  const eci = f[i++];
  if (!eci || eci.tag !== TAG.SEQUENCE) throw new Asn1Error('BAD_VALUE', body.start, 'missing EncryptedContentInfo');
  const [, algNode, encNode] = kids(eci);
  if (!algNode || algNode.tag !== TAG.SEQUENCE) throw new Asn1Error('BAD_VALUE', eci.start, 'bad content encryption algorithm');
  const [cOid, cParams] = kids(algNode);
  if (!encNode || (encNode.tag !== 0x80 && encNode.tag !== 0xa0)) fail('malformed', 'parse', 'detached encrypted content is not supported');
  const encrypted = readStringBytes(encNode!, 0x80, 'encryptedContent');
  let mac: Uint8Array | undefined;
  let aad: Uint8Array | undefined;
  if (profile === 'modern') {
    let n = f[i++];
    if (n?.tag === 0xa1) {
      // authAttrs are MACed as their DER SET OF encoding (RFC 5083 §2.2).
      aad = Uint8Array.from(rawOf(n));
      aad[0] = TAG.SET;
      n = f[i++];
    }
    if (!n) throw new Asn1Error('TRUNCATED', body.end, 'missing mac');
    mac = readOctets(n);
  }
  return { profile, ktris, cipherOid: oidOf(cOid, 'content encryption algorithm'), cipherParams: cParams, encrypted, mac, aad };
}

/**
 * Key transport: PKCS#1 v1.5 (constant-time, RFC 3218) or RSAES-OAEP; a key of the right length in every case, and
 * no indication whether it is the real one (implicit rejection): only the content decryption can tell.
 */
export async function unwrapKey(crypto: CmsCrypto, ktri: KeyTransRecipient, r: PreparedRecipient, keyLen: number, profile: SecureImProfile): Promise<Uint8Array> {
  const alg = oidOf(ktri.keyAlg[0], 'key encryption algorithm');
  if (alg === OID.rsaEncryption) {
    // COMPAT(AIM 5.2, joscar): the only key transport classic clients know. Not in modern: it is a downgrade.
    if (profile === 'modern') fail('unsupported-algorithm', 'policy', 'modern profile requires RSA-OAEP key transport');
    if (!crypto.legacy || r.key.native === undefined) return fail('unsupported-algorithm', 'policy', CLASSIC_NEEDS_DESKTOP);
    return crypto.legacy.unwrapPkcs1(r.key.native, r.cert.modulusBytes, ktri.encryptedKey, keyLen);
  }
  if (alg === OID.rsaesOaep) {
    const hash = oaepHash(ktri.keyAlg[1]);
    if (hash === 'sha256' && r.key.decrypt) {
      // Implicit rejection here too: the synthetic key is computed whatever the outcome.
      const synthetic = await implicitRejection(crypto, r.key.decrypt, ktri.encryptedKey, keyLen);
      try {
        const key = new Uint8Array(await crypto.subtle.decrypt({ name: 'RSA-OAEP' }, r.key.decrypt, bin(ktri.encryptedKey)));
        if (key.length === keyLen) return key;
      } catch {
        // fall through: same path as a wrong-length key
      }
      return synthetic;
    }
    // Other OAEP hashes (legacy senders may use SHA-1): the provider's native key, where there is one.
    if (!crypto.legacy || r.key.native === undefined) return fail('unsupported-algorithm', 'policy', `RSA-OAEP with ${hash} needs the desktop client`);
    return crypto.legacy.unwrapOaep(r.key.native, hash, ktri.encryptedKey, keyLen);
  }
  return fail('unsupported-algorithm', 'policy', 'key transport is not RSA');
}

/** Per private key: an HMAC-SHA256 key under a random secret that never leaves this module (implicit rejection). */
const rejectionKeys = new WeakMap<object, Promise<CryptoKeyLike>>();

/**
 * The key handed on when an RSA-OAEP unwrap fails (RFC 3218 §2.3.2 style implicit rejection, as rsa-pkcs1-unwrap.ts
 * does for PKCS#1 v1.5): HMAC-SHA256 over the encrypted key and the wanted length under a per-private-key random
 * secret, truncated to `len` bytes — computed on every unwrap, so the work does not depend on the outcome.
 */
async function implicitRejection(crypto: CmsCrypto, key: CryptoKeyLike, encryptedKey: Uint8Array, len: number): Promise<Uint8Array> {
  let hk = rejectionKeys.get(key);
  if (!hk) {
    const secret = crypto.getRandomValues(new Uint8Array(32));
    hk = crypto.subtle.importKey('raw', bin(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    secret.fill(0);
    rejectionKeys.set(key, hk);
  }
  const mac = await crypto.subtle.sign({ name: 'HMAC' }, await hk, bin(concatBytes(encryptedKey, Uint8Array.of(len))));
  return new Uint8Array(mac, 0, len);
}

/** RSAES-OAEP-params (RFC 4055 §4.1): hash and MGF1 hash must agree; no label. Default = SHA-1. */
function oaepHash(params: Asn1 | undefined): string {
  let hash = 'sha1';
  let mgfHash = 'sha1';
  if (params && params.tag === TAG.SEQUENCE) {
    for (const p of kids(params)) {
      const inner = kids(p)[0];
      if (p.tag === 0xa0) {
        hash = DIGESTS[oidOf(kids(inner)[0], 'OAEP hash') ?? '']?.name ?? fail('unsupported-algorithm', 'policy', 'OAEP hash');
      } else if (p.tag === 0xa1) {
        const [mgf, mgfParams] = kids(inner);
        if (oidOf(mgf, 'MGF') !== OID.mgf1 || !mgfParams) fail('unsupported-algorithm', 'policy', 'OAEP mask generation function');
        mgfHash = DIGESTS[oidOf(kids(mgfParams)[0], 'MGF1 hash') ?? '']?.name ?? fail('unsupported-algorithm', 'policy', 'MGF1 hash');
      } else {
        fail('unsupported-algorithm', 'policy', 'OAEP label (pSourceFunc) is not supported');
      }
    }
  } else if (params && params.tag !== TAG.NULL) {
    fail('malformed', 'parse', 'bad RSAES-OAEP parameters');
  }
  if (hash !== mgfHash) fail('unsupported-algorithm', 'policy', 'OAEP hash and MGF1 hash differ');
  return hash;
}

/** Decrypts the content; undefined on bad padding / bad tag (the caller reports `tampered`). */
async function decryptContent(crypto: CmsCrypto, env: Envelope, cipher: { name: string; mode: 'cbc' | 'gcm' }, key: Uint8Array): Promise<Uint8Array | undefined> {
  const p = env.cipherParams;
  try {
    if (cipher.mode === 'cbc') {
      if (!p || p.tag !== TAG.OCTET_STRING) return fail('malformed', 'parse', 'CBC parameters must be an IV');
      const iv = readOctets(p);
      if (iv.length !== 16) return fail('malformed', 'parse', 'CBC IV must be 16 bytes');
      if (env.encrypted.length === 0 || env.encrypted.length % 16 !== 0) return undefined;
      if (!crypto.legacy) return fail('unsupported-algorithm', 'policy', CLASSIC_NEEDS_DESKTOP);
      return await crypto.legacy.cbcDecrypt(key, iv, env.encrypted);
    }
    if (!p || p.tag !== TAG.SEQUENCE) return fail('malformed', 'parse', 'GCM parameters missing');
    const [nonceNode, icvNode] = kids(p);
    const nonce = readOctets(nonceNode ?? fail('malformed', 'parse', 'GCM nonce missing'));
    const icvLen = icvNode ? readSmallInt(icvNode) : 12; // aes-ICVlen DEFAULT 12 (RFC 5084 §3.2)
    if (nonce.length !== 12) return fail('unsupported-algorithm', 'policy', 'GCM nonce must be 12 bytes');
    if (icvLen < 12 || icvLen > 16) return fail('unsupported-algorithm', 'policy', `GCM tag length ${icvLen}`);
    if (!env.mac || env.mac.length !== icvLen) return undefined;
    const aesKey = await crypto.subtle.importKey('raw', bin(key), { name: 'AES-GCM' }, false, ['decrypt']);
    const params = { name: 'AES-GCM' as const, iv: bin(nonce), tagLength: icvLen * 8, ...(env.aad ? { additionalData: bin(env.aad) } : {}) };
    // WebCrypto takes ciphertext ‖ tag and rejects on a bad tag.
    return new Uint8Array(await crypto.subtle.decrypt(params, aesKey, bin(concatBytes(env.encrypted, env.mac))));
  } catch (e) {
    if (e instanceof Fail || e instanceof Asn1Error) throw e;
    return undefined;
  }
}

/** A parsed one-signer SignedData. */
export interface SignedParts {
  content: Uint8Array;
  eContentType: string | undefined;
  digestOid: string | undefined;
  sigOid: string | undefined;
  signature: Uint8Array;
  signedAttrsDer: Uint8Array | undefined;
  attrs: Map<string, Asn1[]>;
  sid: RecipientId;
  certs: Asn1[];
}

/** Parses ContentInfo(SignedData) with exactly one signer (COMPAT joscar SecureAimDecoder rejects others). */
export function parseSignedData(bytes: Uint8Array): SignedParts {
  const ci = parseAsn1(bytes, { ber: true });
  const [typeNode, wrapped] = kids(ci);
  if (oidOf(typeNode, 'inner contentType') !== OID.signedData || !wrapped || wrapped.tag !== 0xa0) {
    return fail('tampered', 'inner-parse', 'inner content is not SignedData');
  }
  const sd = kids(kids(wrapped)[0] ?? fail('tampered', 'inner-parse', 'empty SignedData'));
  let i = 1; // version
  i++; // digestAlgorithms (the SignerInfo names its own)
  const encap = kids(sd[i++] ?? fail('tampered', 'inner-parse', 'missing encapContentInfo'));
  const eContentType = oidOf(encap[0], 'eContentType');
  const eContent = encap[1];
  if (!eContent || eContent.tag !== 0xa0) return fail('unsupported-algorithm', 'inner-parse', 'detached signatures are not supported');
  const content = readOctets(kids(eContent)[0] ?? fail('tampered', 'inner-parse', 'empty eContent'));
  let certs: Asn1[] = [];
  if (sd[i]?.tag === 0xa0) certs = kids(sd[i++]);
  if (sd[i]?.tag === 0xa1) i++; // crls
  const signerInfos = sd[i];
  if (!signerInfos || signerInfos.tag !== TAG.SET) return fail('tampered', 'inner-parse', 'missing SignerInfos');
  const sis = kids(signerInfos);
  if (sis.length !== 1) return fail('tampered', 'inner-parse', `expected exactly one signer, got ${sis.length}`);
  const si = kids(sis[0]);
  let j = 1; // version
  const sid = readRecipientId(si[j++]);
  const digestOid = oidOf(kids(si[j++] ?? fail('tampered', 'inner-parse', 'missing digestAlgorithm'))[0], 'digestAlgorithm');
  const attrs = new Map<string, Asn1[]>();
  let signedAttrsDer: Uint8Array | undefined;
  if (si[j]?.tag === 0xa0) {
    const sa = si[j++]!;
    const list = kids(sa);
    // Signature input is the DER SET OF; a BER (indefinite) block is re-encoded from its members.
    signedAttrsDer = sa.indefinite ? der.tlv(TAG.SET, ...list.map(rawOf)) : Uint8Array.from(rawOf(sa));
    signedAttrsDer[0] = TAG.SET;
    for (const a of list) {
      const [t, vals] = kids(a);
      const oid = oidOf(t, 'attribute type');
      if (!vals || vals.tag !== TAG.SET) return fail('tampered', 'inner-parse', 'bad attribute');
      if (oid) {
        if (attrs.has(oid)) return fail('tampered', 'inner-parse', 'duplicate signed attribute');
        attrs.set(oid, kids(vals));
      }
    }
  }
  const sigOid = oidOf(kids(si[j++] ?? fail('tampered', 'inner-parse', 'missing signatureAlgorithm'))[0], 'signatureAlgorithm');
  const signature = readOctets(si[j++] ?? fail('tampered', 'inner-parse', 'missing signature'));
  return { content, eContentType, digestOid, sigOid, signature, signedAttrsDer, attrs, sid, certs };
}

function singleAttr(p: SignedParts, oid: string): Asn1 | undefined {
  const v = p.attrs.get(oid);
  if (!v) return undefined;
  if (v.length !== 1) return fail('tampered', 'inner-parse', 'signed attribute must have one value');
  return v[0];
}

const KNOWN_CHARSETS = ['us-ascii', 'iso-8859-1', 'utf-8', 'unicode-2-0', 'utf-16be'] as const;

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  return b.length >= prefix.length && bytesEqual(b.subarray(0, prefix.length), prefix);
}

/** The MIME-like header block (docs/protocol.md §6.3) or undefined; header blocks are small, so a tight bound. */
function headerBlock(bytes: Uint8Array): MimeEntity | undefined {
  try {
    return decodeMimeEntity(bytes, { maxHeaderBytes: 2048, maxHeaders: 16 });
  } catch {
    return undefined;
  }
}

/** Lower-cased media type of the block's Content-Type, or undefined when absent/invalid. */
function mediaType(e: MimeEntity): string | undefined {
  const v = getMimeHeader(e, 'Content-Type');
  if (v === undefined) return undefined;
  try {
    return parseContentType(v).mediaType;
  } catch {
    return undefined;
  }
}

export const failedResult = (f: Fail, profile?: SecureImProfile): SecureImResult => ({
  verdict: 'failed', code: f.code, reason: f.reason, remote: 'undecryptable', step: f.step, ...(profile ? { profile } : {}),
});

/**
 * Decodes one Secure IM (the bytes after the four zero charset bytes of ICBM fragment 01 01).
 * Resolves to a verdict; never rejects for bad input (a trust callback that throws yields `untrusted`).
 */
export async function decodeSecureIm(bytes: Uint8Array, opts: DecodeSecureImOptions): Promise<SecureImResult> {
  let profile: SecureImProfile | undefined;
  const crypto = opts.crypto ?? defaultCmsCrypto();
  try {
    if (bytes.length > MAX_SECURE_IM_BYTES) fail('malformed', 'parse', `message larger than ${MAX_SECURE_IM_BYTES} bytes`);
    let env: Envelope;
    try {
      env = parseEnvelope(bytes);
    } catch (e) {
      if (e instanceof Asn1Error) fail('malformed', 'parse', e.message);
      throw e;
    }
    profile = env.profile;
    if (profile === 'aim-legacy' && opts.requireModern) fail('unsupported-algorithm', 'policy', 'legacy profile from a peer that announced the modern capability (downgrade)');
    if (profile === 'aim-legacy' && !crypto.legacy) fail('unsupported-algorithm', 'policy', CLASSIC_NEEDS_DESKTOP);
    const cipher = env.cipherOid ? CONTENT_CIPHERS[env.cipherOid] : undefined;
    if (!cipher || (profile === 'modern') !== (cipher.mode === 'gcm')) fail('unsupported-algorithm', 'policy', 'content encryption algorithm is not allowed in this profile');

    // Which of our keys is addressed? (Public information: safe to report as its own code.) A RecipientInfo for one
    // of our signing-only certificates is passed over: COMPAT(joustsim) aim-legacy senders put the signing cert first.
    let picked: { ktri: Envelope['ktris'][number]; r: PreparedRecipient } | undefined;
    let signingOnly = false;
    outer: for (const ktri of env.ktris) {
      for (const rk of opts.recipientKeys) {
        const r = { cert: prepareCertificate(rk.cert), key: resolvePrivateKey(crypto, rk.key) };
        if (!matchesCert(ktri.rid, r.cert)) continue;
        if (!r.cert.keyTransport) { signingOnly = true; continue; }
        picked = { ktri, r };
        break outer;
      }
    }
    if (!picked) {
      return failedResult(new Fail('wrong-recipient', 'recipient', signingOnly
        ? 'the message is addressed only to our signing certificate, and certim never decrypts with a signing key'
        : 'no RecipientInfo names one of our certificates'), profile);
    }

    // From here on the steps always run in the same order: a failed unwrap yields a synthetic key, which fails in
    // content decryption exactly like a tampered ciphertext, and both are reported as `undecryptable()`.
    const state = { decrypted: false, signatureOk: false };
    try {
      let plain: Uint8Array | undefined;
      try {
        const key = await unwrapKey(crypto, picked.ktri, picked.r, cipher!.keyLen, profile);
        plain = await decryptContent(crypto, env, cipher!, key);
        key.fill(0);
      } catch (e) {
        if (e instanceof Asn1Error) fail('malformed', 'parse', e.message);
        throw e;
      }
      if (!plain) throw undecryptable();
      state.decrypted = true;
      const signedBytes = signedBytesOf(plain);
      try {
        return await verifySigned(crypto, parseSignedData(signedBytes), profile, opts, state);
      } catch (e) {
        if (e instanceof Asn1Error) fail('tampered', 'inner-parse', `inner SignedData: ${e.message}`);
        throw e;
      }
    } catch (e) {
      // aim-legacy: until the signature verifies, the plaintext is unauthenticated CBC output; any distinction
      // would be a padding oracle, so every failure is the one decryption failure.
      if (profile === 'aim-legacy' && state.decrypted && !state.signatureOk) throw undecryptable();
      throw e;
    }
  } catch (e) {
    if (e instanceof Fail) return failedResult(e, profile);
    // Defensive: a bug must still not crash the caller nor leak detail remotely.
    // CERTIM_CMS_DEBUG=1 prints the stack of such a bug (never message content) while fuzzing.
    if ((globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.CERTIM_CMS_DEBUG) console.error(e);
    return failedResult(new Fail('malformed', 'parse', `internal error: ${e instanceof Error ? e.message : String(e)}`), profile);
  }
}

/** WebCrypto's name of a SHA-2 digest. */
const WEB_HASH: Record<string, HashName> = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };

/** What {@link checkSignedParts} established about a SignedData: the signer and its signed attributes. */
export interface CheckedSignature {
  signer: CmsCertificate;
  digest: { name: string; weak: boolean };
  signingTime?: Date;
  messageId?: Uint8Array;
  senderAttr?: string;
  recipientAttr?: string;
}

/**
 * The signature half of decoding, shared by Secure IM and secure rooms (docs/protocol.md §6.3, §7.3): algorithm
 * policy, signer certificate lookup (the sender's published certificates first, else the embedded ones), the
 * contentType/messageDigest attributes and the RSA signature itself. Throws a {@link Fail}; on return the signature
 * is good (nothing about names or trust is checked yet).
 */
export async function checkSignedParts(crypto: CmsCrypto, sp: SignedParts, senderCertsIn: readonly CertificateInput[] | undefined, allowWeak: boolean): Promise<CheckedSignature> {
  const digest = sp.digestOid ? DIGESTS[sp.digestOid] : undefined;
  if (!digest) return fail('unsupported-algorithm', 'policy', 'unknown digest algorithm');
  if (!sp.sigOid || !(sp.sigOid in RSA_SIGNATURE_OIDS)) return fail('unsupported-algorithm', 'policy', 'signature algorithm is not RSA PKCS#1 v1.5');
  const implied = RSA_SIGNATURE_OIDS[sp.sigOid];
  if (implied && implied !== sp.digestOid) return fail('tampered', 'signature', 'signature and digest algorithms disagree');
  if (digest.weak && !allowWeak) return fail('unsupported-algorithm', 'policy', `${digest.name} signature in the modern profile (downgrade)`);
  if (sp.eContentType !== OID.data) return fail('tampered', 'inner-parse', 'signed content is not id-data');

  // Find the signer certificate: the sender's published certificates first, else the ones embedded.
  const senderCerts = (senderCertsIn ?? []).map((c) => prepareCertificate(c));
  let signer = senderCerts.find((c) => matchesCert(sp.sid, c));
  if (!signer) {
    if (senderCerts.length > 0) return fail('signer-mismatch', 'signature', 'signed with a certificate that is not one of the sender\'s');
    for (const c of sp.certs) {
      let cert: CmsCertificate;
      try {
        cert = prepareCertificate(rawOf(c));
      } catch {
        continue;
      }
      if (matchesCert(sp.sid, cert)) { signer = cert; break; }
    }
    if (!signer) return fail('signer-mismatch', 'signature', 'signer certificate not available');
  }

  // Signature (over the signed attributes, or directly over the content when there are none).
  // SHA-2 through WebCrypto; MD5/SHA-1 (aim-legacy only) through the provider's legacy part, which a browser lacks.
  // A provider with synchronous calls (Node) takes them: no promise per step (docs/protocol.md §6.3).
  const sync = crypto.sync;
  const webHash = WEB_HASH[digest.name];
  if (!webHash && !crypto.legacy) return fail('unsupported-algorithm', 'policy', `${digest.name} digest: ${CLASSIC_NEEDS_DESKTOP}`);
  const md = sync
    ? sync.digest(digest.name, sp.content)
    : webHash ? new Uint8Array(await crypto.subtle.digest(webHash, bin(sp.content))) : await crypto.legacy!.digest(digest.name, sp.content);
  let signedInput: Uint8Array = sp.content;
  const out: CheckedSignature = { signer, digest };
  if (sp.signedAttrsDer) {
    const ct = singleAttr(sp, OID.contentType);
    const mdAttr = singleAttr(sp, OID.messageDigest);
    if (!ct || !mdAttr) return fail('tampered', 'signature', 'signed attributes lack contentType or messageDigest');
    if (oidOf(ct, 'contentType attribute') !== OID.data) return fail('tampered', 'signature', 'contentType attribute mismatch');
    const mdVal = readOctets(mdAttr);
    if (!bytesEqual(mdVal, md)) return fail('tampered', 'signature', 'message digest mismatch');
    const st = singleAttr(sp, OID.signingTime);
    if (st) out.signingTime = readTime(st);
    const id = singleAttr(sp, OID.contentIdentifier);
    if (id) out.messageId = readOctets(id);
    const s = singleAttr(sp, OID.senderScreenName);
    if (s) out.senderAttr = readString(s);
    const r = singleAttr(sp, OID.recipientScreenName);
    if (r) out.recipientAttr = readString(r);
    signedInput = sp.signedAttrsDer;
  }
  let sigOk = false;
  try {
    sigOk = sync
      ? sync.verifyPkcs1(digest.name, signer.spki, signedInput, sp.signature)
      : webHash
      ? await crypto.subtle.verify({ name: 'RSASSA-PKCS1-v1_5' }, await publicKeyFor(crypto, signer.spki, { name: 'RSASSA-PKCS1-v1_5', hash: webHash }), bin(sp.signature), bin(signedInput))
      : await crypto.legacy!.verify(digest.name, signer.spki, signedInput, sp.signature);
  } catch {
    sigOk = false;
  }
  if (!sigOk) return fail('tampered', 'signature', 'bad signature');
  return out;
}

/** The inner `text/...` header block and text of signed content (docs/protocol.md §6.3 item 3). Throws a {@link Fail}. */
export function innerText(content: Uint8Array): { text: string; charset: string } {
  let charset: string | undefined;
  let body: Uint8Array | undefined;
  for (const cs of KNOWN_CHARSETS) {
    // Fast path: the exact block AIM and certim write for this charset.
    const h = innerHeaders(cs);
    if (startsWith(content, h)) { charset = cs; body = content.subarray(h.length); break; }
  }
  if (body === undefined) {
    const inner = headerBlock(content);
    if (!inner || !mediaType(inner)?.startsWith('text/')) return fail('tampered', 'inner-parse', 'signed content lacks the text header block');
    charset = parseContentType(getMimeHeader(inner, 'Content-Type')!).charset ?? 'us-ascii';
    body = inner.body;
  }
  const text = decodeCharset(body, charset!);
  if (text === undefined) return fail('unsupported-algorithm', 'inner-parse', `unsupported or invalid charset '${charset}'`);
  return { text, charset: charset! };
}

/** The SignedData bytes inside decrypted content: after the `application/pkcs7-mime` header block (or bare). Throws a {@link Fail}. */
export function signedBytesOf(plain: Uint8Array): Uint8Array {
  if (startsWith(plain, OUTER_HEADERS)) return plain.subarray(OUTER_HEADERS.length); // fast path: the exact block AIM and certim write
  if (plain[0] === TAG.SEQUENCE) return plain;
  const outer = headerBlock(plain);
  if (!outer || mediaType(outer) !== 'application/pkcs7-mime') {
    return fail('tampered', 'inner-parse', 'decrypted content lacks the application/pkcs7-mime header block');
  }
  return outer.body;
}

async function verifySigned(crypto: CmsCrypto, sp: SignedParts, profile: SecureImProfile, opts: DecodeSecureImOptions, state: { signatureOk: boolean }): Promise<SecureImResult> {
  const { signer, digest, signingTime, messageId, senderAttr, recipientAttr } = await checkSignedParts(crypto, sp, opts.senderCerts, profile !== 'modern');
  state.signatureOk = true;

  // Who signed, and for whom.
  const sender = normalizeScreenName(opts.senderScreenName);
  if (normalizeScreenName(signer.commonName) !== sender) {
    return fail('signer-mismatch', 'policy', `signer certificate is for '${signer.commonName}', not the sender '${opts.senderScreenName}'`);
  }
  if (senderAttr !== undefined && normalizeScreenName(senderAttr) !== sender) {
    return fail('signer-mismatch', 'policy', `signed sender '${senderAttr}' is not the sending screen name`);
  }
  if (recipientAttr !== undefined && normalizeScreenName(recipientAttr) !== normalizeScreenName(opts.recipientScreenName)) {
    return fail('forwarded', 'policy', `message was signed for '${recipientAttr}', not for us`);
  }
  const now = opts.now ?? new Date();
  let replayChecked = false;
  if (messageId && opts.replayCache) {
    if (!signingTime) return fail('replayed', 'policy', 'message id without a signing time');
    const r = await opts.replayCache.checkAndRemember(sender, messageId, signingTime, now);
    if (r === 'replayed') return fail('replayed', 'policy', 'message id seen before');
    if (r === 'stale') return fail('replayed', 'policy', 'signing time outside the replay window');
    replayChecked = true;
  }

  const { text, charset } = innerText(sp.content);

  const base = {
    profile, text, charset, remote: 'ok' as const,
    signer: { screenName: signer.commonName, fingerprint: signer.fingerprint },
    bound: senderAttr !== undefined && recipientAttr !== undefined,
    replayChecked,
    ...(messageId ? { messageId: toHex(messageId) } : {}),
    ...(signingTime ? { signingTime } : {}),
    ...(profile === 'aim-legacy' ? { weak: digest.weak } : {}),
  };
  let decision;
  try {
    decision = await opts.trust(signer.der, opts.senderScreenName, 'signing');
  } catch (e) {
    decision = { ok: false as const, code: 'trust-error', reason: e instanceof Error ? e.message : String(e) };
  }
  if (decision.ok) return { verdict: 'verified', code: 'ok', reason: 'signature verified and signer trusted', ...base };
  return { verdict: 'untrusted', code: decision.code, reason: decision.reason, step: 'trust', ...base };
}
