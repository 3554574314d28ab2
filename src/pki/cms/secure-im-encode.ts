/**
 * Secure IM encoder: text -> inner header block -> CMS SignedData (attached) -> outer header block -> CMS
 * EnvelopedData (aim-legacy) or AuthEnvelopedData (modern). Output is the exact byte string that travels after the
 * four zero charset bytes of ICBM fragment 01 01 (docs/protocol.md §3.4, §6.3).
 *
 * The DER is written directly for these fixed shapes (der-builder.ts: one allocation, each byte copied once; small
 * parts with ../asn1/der.ts) — no schema objects — and keys come from the per-certificate cache, so the cost is the RSA private operation plus ~tens of µs.
 * The crypto is the provider's (crypto.ts, WebCrypto-shaped, asynchronous); aim-legacy needs its Node-only part.
 */
import { concatBytes } from '../../wire/bytes.js';
import { der } from '../asn1/der.js';
import { encodeCharset, pickCharset } from './charset.js';
import { prepareCertificate, type CmsCertificate } from './cms-certificate.js';
import { encodeMimeEntity } from '../../wire/mime-headers.js';
import { OID } from './oids.js';
import { bin, CLASSIC_NEEDS_DESKTOP, defaultCmsCrypto, publicKeyFor, resolvePrivateKey, type CmsCrypto, type PrivateKeyInput } from './crypto.js';
import { encode, node, type DerPart } from './der-builder.js';
import type { EncodeSecureImOptions, SecureImCharset } from './secure-im-types.js';

const NULL = der.null();

/** Outer header block, exactly as AIM 5.2 writes it (docs/protocol.md §6.3 item 2). */
export const OUTER_HEADERS = encodeMimeEntity({ contentType: 'application/pkcs7-mime; charset=us-ascii' }, new Uint8Array(0));

const innerHeaderCache = new Map<string, Uint8Array>();

/** Inner header block for a charset (docs/protocol.md §6.3 item 3), cached per charset. */
export function innerHeaders(charset: string): Uint8Array {
  let h = innerHeaderCache.get(charset);
  if (!h) {
    h = Uint8Array.from(encodeMimeEntity({ contentType: `text/x-aolrtf; charset=${charset}` }, new Uint8Array(0)));
    innerHeaderCache.set(charset, h);
  }
  return h;
}

// AlgorithmIdentifiers, encoded once. MD5 with NULL parameters as BouncyCastle (joscar) writes it; SHA-256 with
// absent parameters (RFC 5754 §2).
const ALG_MD5 = der.seq(der.oid(OID.md5), NULL);
const ALG_SHA256 = der.seq(der.oid(OID.sha256));
/** rsaEncryption with NULL parameters (the KTRI key-transport algorithm of AIM). */
export const ALG_RSA = der.seq(der.oid(OID.rsaEncryption), NULL);
/** RSAES-OAEP-params with SHA-256 and MGF1-SHA-256, explicit (RFC 4055 §4.1), as `openssl cms` encodes them. */
export const ALG_OAEP_SHA256 = der.seq(
  der.oid(OID.rsaesOaep),
  der.seq(der.explicit(0, der.seq(der.oid(OID.sha256))), der.explicit(1, der.seq(der.oid(OID.mgf1), der.seq(der.oid(OID.sha256))))),
);
const ATTR_CONTENT_TYPE_DATA = der.seq(der.oid(OID.contentType), der.set(der.oid(OID.data)));
const INT0 = der.int(0);
const INT1 = der.int(1);
const INT16 = der.int(16);

/**
 * Builds a ContentInfo(SignedData) over `content` (RFC 5652 §5) as a builder tree (exported for tests that need a
 * SignedData without envelope: pass it to `encode`).
 */
export async function buildSignedData(opts: {
  content: Uint8Array;
  digest: 'md5' | 'sha256';
  signer: CmsCertificate;
  signingKey: PrivateKeyInput;
  signingTime: Date;
  /** Extra signed attributes (already-encoded Attribute SEQUENCEs). */
  extraAttrs?: Uint8Array[];
  /** Default: the Node provider must be passed for md5 (aim-legacy). */
  crypto?: CmsCrypto;
}): Promise<DerPart> {
  const crypto = opts.crypto ?? defaultCmsCrypto();
  const key = resolvePrivateKey(crypto, opts.signingKey);
  let legacy;
  if (opts.digest === 'md5') {
    legacy = crypto.legacy;
    if (!legacy || key.native === undefined) throw new RangeError(`aim-legacy: ${CLASSIC_NEEDS_DESKTOP}`);
  } else if (!key.sign) {
    throw new RangeError('the signing key has no RSASSA-PKCS1-v1_5/SHA-256 handle');
  }
  const md = crypto.sync
    ? crypto.sync.digest(opts.digest, opts.content)
    : legacy ? await legacy.digest('md5', opts.content) : new Uint8Array(await crypto.subtle.digest('SHA-256', bin(opts.content)));
  const attrs = der.setOf(
    ATTR_CONTENT_TYPE_DATA,
    der.seq(der.oid(OID.signingTime), der.set(der.time(opts.signingTime))),
    der.seq(der.oid(OID.messageDigest), der.set(der.octets(md))),
    ...(opts.extraAttrs ?? []),
  );
  // The signature covers the attributes with their SET OF tag (RFC 5652 §5.4); they travel as [0] IMPLICIT.
  const signature = legacy
    ? await legacy.signMd5(key.native, attrs)
    : new Uint8Array(await crypto.subtle.sign({ name: 'RSASSA-PKCS1-v1_5' }, key.sign!, bin(attrs)));
  attrs[0] = 0xa0;
  const digestAlg = opts.digest === 'md5' ? ALG_MD5 : ALG_SHA256;
  const signerInfo = node(0x30, INT1, opts.signer.issuerAndSerial, digestAlg, attrs, ALG_RSA, node(0x04, signature));
  const signedData = node(0x30,
    INT1,
    node(0x31, digestAlg),
    node(0x30, der.oid(OID.data), node(0xa0, node(0x04, opts.content))),
    node(0xa0, opts.signer.der), // certificates [0] IMPLICIT SET OF: the signer's certificate, so a receiver without the sender's block can verify against the CA
    node(0x31, signerInfo),
  );
  return node(0x30, der.oid(OID.signedData), node(0xa0, signedData));
}

/**
 * Encodes one Secure IM with the provider in `opts.crypto` (default WebCrypto: modern only). Rejects with RangeError
 * only for caller errors (text not fitting a forced charset, legacy + includeSelf, aim-legacy on a provider without
 * its legacy part: {@link CLASSIC_NEEDS_DESKTOP}).
 */
export async function encodeSecureIm(opts: EncodeSecureImOptions): Promise<Uint8Array> {
  const modern = opts.profile === 'modern';
  const crypto = opts.crypto ?? defaultCmsCrypto();
  if (!modern && opts.includeSelf) throw new RangeError('aim-legacy never wraps to the sender (classic clients read only one RecipientInfo)');
  if (!modern && !crypto.legacy) throw new RangeError(`aim-legacy: ${CLASSIC_NEEDS_DESKTOP}`);
  const signer = prepareCertificate(opts.sender.signingCert);
  const recipient = prepareCertificate(opts.recipient.cert);
  const charset: SecureImCharset = opts.charset ?? pickCharset(opts.text, modern ? 'utf-8' : 'unicode-2-0');
  const inner = concatBytes(innerHeaders(charset), encodeCharset(opts.text, charset));
  const rnd = crypto.getRandomValues(new Uint8Array(64));
  const now = opts.now ?? new Date();

  if (!modern) {
    const signed = await buildSignedData({ content: inner, digest: 'md5', signer, signingKey: opts.sender.signingKey, signingTime: now, crypto });
    return envelopeLegacy([OUTER_HEADERS, signed], legacyRecipients(recipient, opts.recipient.signingCert), rnd, crypto);
  }

  const messageId = opts.messageId ?? rnd.subarray(48, 64);
  const signed = await buildSignedData({
    content: inner, digest: 'sha256', signer, signingKey: opts.sender.signingKey, signingTime: now, crypto,
    extraAttrs: [
      der.seq(der.oid(OID.contentIdentifier), der.set(der.octets(messageId))),
      der.seq(der.oid(OID.senderScreenName), der.set(der.utf8(opts.sender.screenName))),
      der.seq(der.oid(OID.recipientScreenName), der.set(der.utf8(opts.recipient.screenName))),
    ],
  });
  const wrapTo = [recipient];
  if (opts.includeSelf) {
    if (!opts.sender.encryptionCert) throw new RangeError('includeSelf needs sender.encryptionCert');
    wrapTo.push(prepareCertificate(opts.sender.encryptionCert));
  }
  return envelopeModern([OUTER_HEADERS, signed], wrapTo, rnd, crypto);
}

/**
 * The aim-legacy recipients, in order. COMPAT(joscar/joustsim `SecureAimDecoder`): a classic client decrypts with
 * its SIGNING key and reads only the first RecipientInfo it is given (docs/protocol.md §6.2, §6.3), so a buddy with
 * separate certificates gets one for the signing certificate first and one for the encryption certificate second
 * (which certim and clients that pick their RecipientInfo by certificate use). Same certificate, or none given: one.
 * Caveat: joustsim's BouncyCastle 1.21 hands RecipientInfos over in hash-map order, not wire order, so for such a
 * buddy this works for some certificate pairs only; numcerts 1 always works (ARCHITECTURE.md, cms, classic clients).
 */
export function legacyRecipients(encryption: CmsCertificate, signing?: EncodeSecureImOptions['recipient']['signingCert']): CmsCertificate[] {
  if (signing === undefined) return [encryption];
  const s = prepareCertificate(signing);
  return s.fingerprint === encryption.fingerprint ? [encryption] : [s, encryption];
}

/**
 * ContentInfo(EnvelopedData) as AIM 5.2/joscar read it: version 0, KTRIs (IssuerAndSerialNumber, rsaEncryption
 * PKCS#1 v1.5) in the order given — the SET is written unsorted on purpose, because classic clients read only the
 * first — and AES-128-CBC. `content` parts are concatenated as the plaintext. Exported for tests and tools that
 * wrap an existing SignedData; `rnd` (>= 32 bytes) supplies key and IV, fresh random by default.
 */
export async function envelopeLegacy(content: DerPart[], recipients: CmsCertificate | readonly CmsCertificate[], rnd?: Uint8Array, crypto: CmsCrypto = defaultCmsCrypto()): Promise<Uint8Array> {
  const legacy = crypto.legacy;
  if (!legacy) throw new RangeError(`aim-legacy: ${CLASSIC_NEEDS_DESKTOP}`);
  rnd ??= crypto.getRandomValues(new Uint8Array(32));
  const cek = rnd.subarray(0, 16);
  const iv = rnd.subarray(16, 32);
  const ct = await legacy.cbcEncrypt(cek, iv, encode(...content));
  const list = Array.isArray(recipients) ? recipients : [recipients as CmsCertificate];
  const eks = await Promise.all(list.map((r) => legacy.encryptPkcs1(r.spki, cek)));
  const ktris = list.map((r, i) => node(0x30, INT0, r.issuerAndSerial, ALG_RSA, node(0x04, eks[i]!)));
  const eci = node(0x30, der.oid(OID.data), node(0x30, der.oid(OID.aes128Cbc), node(0x04, iv)), node(0x80, ct));
  return encode(node(0x30, der.oid(OID.envelopedData), node(0xa0, node(0x30, INT0, node(0x31, ...ktris), eci))));
}

/**
 * ContentInfo(AuthEnvelopedData) (RFC 5083/5084): version 0, one KTRI per recipient (IssuerAndSerialNumber,
 * RSAES-OAEP-SHA256), AES-256-GCM with a 12-byte nonce and a 16-byte tag, no authAttrs. `rnd` (>= 44 bytes)
 * supplies key and nonce, fresh random by default.
 */
export async function envelopeModern(content: DerPart[], recipients: CmsCertificate[], rnd?: Uint8Array, crypto: CmsCrypto = defaultCmsCrypto()): Promise<Uint8Array> {
  rnd ??= crypto.getRandomValues(new Uint8Array(44));
  const cek = rnd.subarray(0, 32);
  const nonce = rnd.subarray(32, 44);
  const subtle = crypto.subtle;
  const [aesKey, ...oaepKeys] = await Promise.all([
    subtle.importKey('raw', bin(cek), { name: 'AES-GCM' }, false, ['encrypt']),
    ...recipients.map((r) => publicKeyFor(crypto, r.spki, { name: 'RSA-OAEP', hash: 'SHA-256' })),
  ]);
  const sealed = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: bin(nonce), tagLength: 128 }, aesKey!, bin(encode(...content))));
  const ct = sealed.subarray(0, sealed.length - 16);
  const tag = sealed.subarray(sealed.length - 16);
  const eks = await Promise.all(oaepKeys.map((k) => subtle.encrypt({ name: 'RSA-OAEP' }, k, bin(cek))));
  const ris = recipients.map((r, i) => der.seq(INT0, r.issuerAndSerial, ALG_OAEP_SHA256, der.octets(new Uint8Array(eks[i]!))));
  const aeci = node(0x30, der.oid(OID.data), node(0x30, der.oid(OID.aes256Gcm), node(0x30, node(0x04, nonce), INT16)), node(0x80, ct));
  const aed = node(0x30, INT0, der.setOf(...ris), aeci, node(0x04, tag));
  return encode(node(0x30, der.oid(OID.authEnvelopedData), node(0xa0, aed)));
}
