/**
 * Secure chat rooms, the CMS half (docs/protocol.md §7, §16): the room-key block that travels in an invitation's
 * security TLV 0x2713 and in certim's key updates, and the encrypted room message body of `0E/05` / `0E/06`.
 *
 * Two profiles, one layout:
 * - `aim`: byte-compatible with AIM 5.2 / joscar. Key block = SignedData (MD5) over short room info || u16 L ||
 *   DER SEQUENCE { KeyTransRecipientInfo (rsaEncryption, PKCS#1 v1.5), OID aes256-CBC }. Message = ContentInfo
 *   (EncryptedData v0, AES-256-CBC, random IV) over the two-layer body of a Secure IM (§6.3), MD5 signature.
 * - `certim`: the same containers with SHA-256 signatures, RSA-OAEP key transport, and signed attributes that bind
 *   the room name, the key epoch, the sender (and, in a key block, the invitee and the keyholders); the message
 *   names its epoch in an unprotected attribute of EncryptedData v2 (RFC 5652 §8) so the receiver can pick the key.
 *
 * Decoding never throws. As in the Secure IM decoder, CBC content has no integrity of its own, so every failure
 * before the inner signature verifies is one and the same `tampered` result (no padding oracle).
 * Node-only for now (like the aim-legacy half of Secure IM): the aim profile needs PKCS#1 v1.5 key transport and MD5
 * signatures, which WebCrypto lacks; signatures go through the Node provider (`node-crypto.ts`).
 */
import { createCipheriv, createPublicKey, constants, publicEncrypt, randomBytes } from 'node:crypto';
import { Asn1Error, der, parseAsn1, readOctets, readSmallInt, readString, readStringBytes, TAG, type Asn1 } from '../asn1/der.js';
import { ByteReader, ByteWriter } from '../../wire/bytes.js';
import { MiniRoomInfo, writeMiniRoomInfo } from '../../wire/families/chat-nav.js';
import { normalizeScreenName } from '../screen-name.js';
import { encodeCharset, pickCharset } from './charset.js';
import { prepareCertificate, type CertificateInput, type CmsCertificate } from './cms-certificate.js';
import { encode, node } from './der-builder.js';
import { OID } from './oids.js';
import { cbcDecryptSync, nodeCmsCrypto } from './node-crypto.js';
import { resolvePrivateKey, type PrivateKeyInput } from './crypto.js';
import {
  checkSignedParts, Fail, fail, innerText, kids, matchesCert, oidOf, parseSignedData, readRecipientId, signedBytesOf,
  undecryptable, unwrapKey, MAX_SECURE_IM_BYTES, type CheckedSignature, type KeyTransRecipient,
} from './secure-im-decode.js';
import { ALG_OAEP_SHA256, ALG_RSA, buildSignedData, innerHeaders, OUTER_HEADERS } from './secure-im-encode.js';
import type { RecipientKey, SecureImCharset, TrustCallback, TrustDecision } from './secure-im-types.js';
import type { ReplayCache } from './replay-cache.js';

/** `aim`: AIM 5.2 / joscar layout. `certim`: the same layout with SHA-256, RSA-OAEP and binding attributes. */
export type RoomProfile = 'aim' | 'certim';

/** AES-256 room keys (docs/protocol.md §7.1). */
export const ROOM_KEY_BYTES = 32;

/** Largest key block we look at (AIM's is ~800 bytes; certim's grows with the keyholder list). */
export const MAX_ROOM_KEY_BLOCK_BYTES = 32 * 1024;

/** The one cipher of secure rooms, named by the trailing OID of a key block (docs/protocol.md §7.2). */
export const ROOM_CIPHER_OID = OID.aes256Cbc;

/** Who signs: a screen name, its signing key and the certificate of that key. */
export interface RoomSigner {
  screenName: string;
  signingKey: PrivateKeyInput;
  signingCert: CertificateInput;
}

/** What a certim key block binds (signed attributes, docs/protocol.md §16.3). */
export interface RoomKeyBinding {
  /** The room's name as both ends know it (the room cookie text). */
  roomName: string;
  /** Key epoch, >= 1. */
  epoch: number;
  /** Screen names that receive this epoch's key (the distributor included). */
  keyholders: string[];
}

/** Failure codes of both decoders. */
export type RoomFailureCode =
  | 'malformed' | 'unsupported-algorithm' | 'wrong-recipient' | 'no-key' | 'tampered' | 'signer-mismatch'
  | 'forwarded' | 'wrong-room' | 'wrong-epoch' | 'replayed' | 'downgrade';

/** Common shape of a decoding verdict. */
export interface RoomVerdictBase {
  verdict: 'verified' | 'untrusted' | 'failed';
  /** 'ok', a {@link RoomFailureCode}, or the trust callback's code when untrusted. */
  code: string;
  reason: string;
  profile?: RoomProfile;
  signer?: { screenName: string; fingerprint: string };
}

const ATTR = (oid: string, value: Uint8Array): Uint8Array => der.seq(der.oid(oid), der.set(value));
const BER_OPEN_SEQ = Uint8Array.of(0x30, 0x80);
const BER_OPEN_0 = Uint8Array.of(0xa0, 0x80);
const EOC = Uint8Array.of(0, 0);

function checkKey(key: Uint8Array): void {
  if (key.length !== ROOM_KEY_BYTES) throw new RangeError(`room keys are ${ROOM_KEY_BYTES} bytes`);
}

/** A fresh random room key (docs/protocol.md §7.1). */
export async function generateRoomKey(): Promise<Uint8Array> {
  return Uint8Array.from(randomBytes(ROOM_KEY_BYTES));
}

// ---------------------------------------------------------------------------------------------------------------
// Key block (invitation TLV 0x2713, certim key update)
// ---------------------------------------------------------------------------------------------------------------

/** What {@link encodeRoomKeyBlock} needs. */
export interface EncodeRoomKeyOptions {
  profile: RoomProfile;
  room: MiniRoomInfo;
  key: Uint8Array;
  signer: RoomSigner;
  /** The invitee and its ENCRYPTION (or common) certificate. */
  recipient: { screenName: string; cert: CertificateInput };
  /** Required for `certim`, ignored for `aim`. */
  binding?: RoomKeyBinding;
  now?: Date;
}

/**
 * The key data: DER SEQUENCE { KeyTransRecipientInfo, OBJECT IDENTIFIER aes256-CBC } (docs/protocol.md §7.2). KTRI
 * version 0, recipient by IssuerAndSerialNumber, rsaEncryption PKCS#1 v1.5 (aim) or RSAES-OAEP-SHA256 (certim).
 */
export function encodeRoomKeyData(profile: RoomProfile, recipient: CmsCertificate, key: Uint8Array): Uint8Array {
  checkKey(key);
  const pub = createPublicKey({ key: Buffer.from(recipient.spki), format: 'der', type: 'spki' });
  const ek = profile === 'aim'
    ? publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_PADDING }, key)
    : publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, key);
  const ktri = der.seq(der.int(0), recipient.issuerAndSerial, profile === 'aim' ? ALG_RSA : ALG_OAEP_SHA256, der.octets(ek));
  return der.seq(ktri, der.oid(ROOM_CIPHER_OID));
}

/** Builds the security block: SignedData over short room info || u16 L || key data (docs/protocol.md §7.2, §16.3). */
export async function encodeRoomKeyBlock(o: EncodeRoomKeyOptions): Promise<Uint8Array> {
  const recipient = prepareCertificate(o.recipient.cert);
  const keyData = encodeRoomKeyData(o.profile, recipient, o.key);
  const w = new ByteWriter(64 + keyData.length);
  writeMiniRoomInfo(w, o.room);
  w.u16(keyData.length).bytes(keyData);
  const content = w.finish();
  let extraAttrs: Uint8Array[] | undefined;
  if (o.profile === 'certim') {
    const b = o.binding;
    if (!b || !Number.isSafeInteger(b.epoch) || b.epoch < 1) throw new RangeError('a certim key block needs a binding with epoch >= 1');
    extraAttrs = [
      ATTR(OID.roomName, der.utf8(b.roomName)),
      ATTR(OID.roomEpoch, der.int(b.epoch)),
      ATTR(OID.roomKeyholders, der.seq(...b.keyholders.map((k) => der.utf8(k)))),
      ATTR(OID.senderScreenName, der.utf8(o.signer.screenName)),
      ATTR(OID.recipientScreenName, der.utf8(o.recipient.screenName)),
    ];
  }
  return encode(await buildSignedData({
    content, digest: o.profile === 'aim' ? 'md5' : 'sha256', signer: prepareCertificate(o.signer.signingCert),
    signingKey: o.signer.signingKey, signingTime: o.now ?? new Date(), ...(extraAttrs ? { extraAttrs } : {}), crypto: nodeCmsCrypto,
  }));
}

/** What {@link decodeRoomKeyBlock} needs. */
export interface DecodeRoomKeyOptions {
  /** Our keys; only certificates allowing key encipherment are used to unwrap. */
  recipientKeys: RecipientKey[];
  /** Our screen name (checked against the signed invitee in certim blocks). */
  recipientScreenName: string;
  /** Who sent the invitation / key update, per the server. */
  senderScreenName: string;
  /** The sender's certificates; if absent, the embedded signer certificate and the trust callback alone. */
  senderCerts?: CertificateInput[];
  trust: TrustCallback;
  /** Refuse `aim` blocks (the sender announced certim's room capability: an AIM block is a downgrade). */
  requireCertim?: boolean;
}

/** The verdict on a key block. `key` and `room` are present unless failed. */
export interface RoomKeyResult extends RoomVerdictBase {
  room?: MiniRoomInfo;
  key?: Uint8Array;
  /** certim blocks only. */
  binding?: RoomKeyBinding;
}

function failedResult<T extends RoomVerdictBase>(f: Fail, profile?: RoomProfile): T {
  return { verdict: 'failed', code: f.code, reason: f.reason, ...(profile ? { profile } : {}) } as T;
}

async function judge(signer: CmsCertificate, sender: string, trust: TrustCallback): Promise<TrustDecision> {
  try {
    return await trust(signer.der, sender, 'signing');
  } catch (e) {
    return { ok: false, code: 'trust-error', reason: e instanceof Error ? e.message : String(e) };
  }
}

function signerMustBe(sig: CheckedSignature, sender: string): void {
  if (normalizeScreenName(sig.signer.commonName) !== normalizeScreenName(sender)) {
    fail('signer-mismatch', 'policy', `signer certificate is for '${sig.signer.commonName}', not the sender '${sender}'`);
  }
  if (sig.senderAttr !== undefined && normalizeScreenName(sig.senderAttr) !== normalizeScreenName(sender)) {
    fail('signer-mismatch', 'policy', `signed sender '${sig.senderAttr}' is not the sending screen name`);
  }
}

function attrValue(sp: ReturnType<typeof parseSignedData>, oid: string): Asn1 | undefined {
  const v = sp.attrs.get(oid);
  if (!v) return undefined;
  if (v.length !== 1) fail('tampered', 'inner-parse', 'signed attribute must have one value');
  return v[0];
}

/**
 * Verifies and opens a security block (docs/protocol.md §7.2, §16.3): signature first (the signer must be the
 * sender), then the signed room info, then the key unwrap with implicit rejection (a bad unwrap yields a key that
 * decrypts nothing, never an error that could serve as an oracle). Never rejects.
 */
export async function decodeRoomKeyBlock(bytes: Uint8Array, o: DecodeRoomKeyOptions): Promise<RoomKeyResult> {
  let profile: RoomProfile | undefined;
  try {
    if (bytes.length > MAX_ROOM_KEY_BLOCK_BYTES) fail('malformed', 'parse', `key block larger than ${MAX_ROOM_KEY_BLOCK_BYTES} bytes`);
    let sp;
    try {
      sp = parseSignedData(bytes);
    } catch (e) {
      if (e instanceof Asn1Error) fail('malformed', 'parse', e.message);
      if (e instanceof Fail) fail('malformed', 'parse', e.reason);
      throw e;
    }
    const certim = sp.attrs.has(OID.roomEpoch);
    profile = certim ? 'certim' : 'aim';
    if (!certim && o.requireCertim) fail('downgrade', 'policy', 'AIM key block from a member that announced certim rooms');
    const sig = await checkSignedParts(nodeCmsCrypto, sp, o.senderCerts, !certim);
    signerMustBe(sig, o.senderScreenName);

    // Signed content: short room info, u16 L, key data.
    let room: MiniRoomInfo;
    let keyData: Uint8Array;
    try {
      const r = new ByteReader(sp.content);
      room = MiniRoomInfo.read(r);
      keyData = r.bytes(r.u16('key data length'), 'key data');
    } catch {
      return fail('malformed', 'inner-parse', 'signed content is not short room info + key data');
    }
    let binding: RoomKeyBinding | undefined;
    if (certim) {
      const rn = attrValue(sp, OID.roomName);
      const ep = attrValue(sp, OID.roomEpoch);
      const kh = attrValue(sp, OID.roomKeyholders);
      if (!rn || !ep || !kh || sig.recipientAttr === undefined || sig.senderAttr === undefined) {
        fail('tampered', 'inner-parse', 'certim key block lacks its binding attributes');
      }
      binding = { roomName: readString(rn!), epoch: readSmallInt(ep!), keyholders: kids(kh).map((n) => readString(n)) };
      if (binding.epoch < 1) fail('malformed', 'inner-parse', 'epoch must be >= 1');
      if (normalizeScreenName(sig.recipientAttr!) !== normalizeScreenName(o.recipientScreenName)) {
        fail('forwarded', 'policy', `key block was made for '${sig.recipientAttr}', not for us`);
      }
    }
    let ktri: KeyTransRecipient;
    try {
      const [ktriNode, cipherNode] = kids(parseAsn1(keyData, { ber: true }));
      if (oidOf(cipherNode, 'room cipher') !== ROOM_CIPHER_OID) fail('unsupported-algorithm', 'policy', 'room cipher is not AES-256-CBC');
      const [, rid, keyAlg, ek] = kids(ktriNode);
      if (!keyAlg || keyAlg.tag !== TAG.SEQUENCE || !ek) throw new Asn1Error('BAD_VALUE', 0, 'bad KeyTransRecipientInfo');
      ktri = { rid: readRecipientId(rid), keyAlg: kids(keyAlg), encryptedKey: readOctets(ek) };
    } catch (e) {
      if (e instanceof Asn1Error) fail('malformed', 'inner-parse', `key data: ${e.message}`);
      throw e;
    }
    const ours = o.recipientKeys.map((k) => ({ cert: prepareCertificate(k.cert), key: resolvePrivateKey(nodeCmsCrypto, k.key) })).filter((r) => r.cert.keyTransport);
    let mine = ours.find((r) => matchesCert(ktri.rid, r.cert));
    // COMPAT(joscar demo `genChatSecurityInfo`): it names the invitee by its SUBJECT name re-encoded by BC (as if it
    // were the issuer), so the identifier matches no certificate; joscar's reader ignores it. An aim block with one
    // KTRI is therefore unwrapped with our (first) encryption key: a wrong key only yields a key that decrypts
    // nothing (implicit rejection), never an oracle (docs/protocol.md §16.6).
    if (!mine && !certim) mine = ours[0];
    if (!mine) fail('wrong-recipient', 'recipient', 'the key is wrapped for a certificate that is not one of ours');
    const key = Uint8Array.from(await unwrapKey(nodeCmsCrypto, ktri, mine!, ROOM_KEY_BYTES, certim ? 'modern' : 'aim-legacy'));

    const decision = await judge(sig.signer, o.senderScreenName, o.trust);
    const base = { profile, room, key, signer: { screenName: sig.signer.commonName, fingerprint: sig.signer.fingerprint }, ...(binding ? { binding } : {}) };
    if (decision.ok) return { verdict: 'verified', code: 'ok', reason: 'signature verified and signer trusted', ...base };
    return { verdict: 'untrusted', code: decision.code, reason: decision.reason, ...base };
  } catch (e) {
    if (e instanceof Fail) return failedResult(e, profile);
    if (e instanceof Asn1Error) return failedResult(new Fail('malformed', 'parse', e.message), profile);
    return failedResult(new Fail('malformed', 'parse', `internal error: ${e instanceof Error ? e.message : String(e)}`), profile);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Room message (0E/05 message block body)
// ---------------------------------------------------------------------------------------------------------------

/** What {@link encryptRoomMessage} needs. */
export interface EncryptRoomMessageOptions {
  profile: RoomProfile;
  key: Uint8Array;
  signer: RoomSigner;
  text: string;
  charset?: SecureImCharset;
  /** certim: required (room name + epoch >= 1). aim: optional; when given, certim senders still sign the room
   *  name, sender and message id (classic receivers ignore unknown signed attributes). */
  binding?: { roomName: string; epoch: number };
  messageId?: Uint8Array;
  now?: Date;
}

/**
 * Encrypts one room message: text -> inner header block -> SignedData -> outer header block -> AES-256-CBC ->
 * ContentInfo(EncryptedData) (docs/protocol.md §7.3, §16.4).
 */
export async function encryptRoomMessage(o: EncryptRoomMessageOptions): Promise<Uint8Array> {
  checkKey(o.key);
  const certim = o.profile === 'certim';
  if (certim && (!o.binding || !Number.isSafeInteger(o.binding.epoch) || o.binding.epoch < 1)) throw new RangeError('a certim room message needs a binding with epoch >= 1');
  const charset: SecureImCharset = o.charset ?? pickCharset(o.text, certim ? 'utf-8' : 'unicode-2-0');
  const inner = Buffer.concat([innerHeaders(charset), encodeCharset(o.text, charset)]);
  const rnd = nodeCmsCrypto.getRandomValues(new Uint8Array(32)); // pooled: no native call per message
  // certim: room, epoch, sender and message id, signed. aim: the message id only (ESS contentIdentifier, a standard
  // OID) — BouncyCastle 1.21 (joscar) mis-reads the long components of certim's 2.25 arc, re-encodes the attributes
  // differently and then fails the signature, so classic receivers must never see them (docs/protocol.md §16.4).
  const id = ATTR(OID.contentIdentifier, der.octets(o.messageId ?? rnd.subarray(16, 32)));
  const extraAttrs = !o.binding
    ? undefined
    : certim
      ? [ATTR(OID.roomName, der.utf8(o.binding.roomName)), ATTR(OID.roomEpoch, der.int(o.binding.epoch)), ATTR(OID.senderScreenName, der.utf8(o.signer.screenName)), id]
      : [id];
  const signed = await buildSignedData({
    content: inner, digest: certim ? 'sha256' : 'md5', signer: prepareCertificate(o.signer.signingCert),
    signingKey: o.signer.signingKey, signingTime: o.now ?? new Date(), ...(extraAttrs ? { extraAttrs } : {}), crypto: nodeCmsCrypto,
  });
  const iv = rnd.subarray(0, 16);
  const c = createCipheriv('aes-256-cbc', o.key, iv);
  const ct1 = c.update(encode(OUTER_HEADERS, signed));
  const ct2 = c.final();
  const eci = node(0x30, der.oid(OID.data), der.seq(der.oid(ROOM_CIPHER_OID), der.octets(iv)), node(0x80, ct1, ct2));
  // EncryptedData version 2 when unprotectedAttrs are present, else 0 (RFC 5652 §8).
  if (certim) {
    const ed = node(0x30, der.int(2), eci, der.implicitConstructed(1, ATTR(OID.roomEpoch, der.int(o.binding!.epoch))));
    return encode(node(0x30, der.oid(OID.encryptedData), node(0xa0, ed)));
  }
  // COMPAT(joscar demo `BCSecureSession.parseChatMessage`): it casts the [0] to BouncyCastle's BERTaggedObject,
  // which BC 1.21 only returns for an indefinite length — so the outer SEQUENCE and [0] are BER indefinite, as
  // joscar writes them (docs/protocol.md §7.3, checked by hand against BC 1.21, §16.6).
  return encode(BER_OPEN_SEQ, der.oid(OID.encryptedData), BER_OPEN_0, node(0x30, der.int(0), eci), EOC, EOC);
}

/** The public part of a room message: which epoch it names (certim) or none (aim). */
export interface RoomMessageHeader {
  profile: RoomProfile;
  epoch?: number;
  iv: Uint8Array;
  encrypted: Uint8Array;
}

/** Parses ContentInfo(EncryptedData) (RFC 5652 §8) without decrypting. Throws a {@link Fail} (`malformed`). */
export function parseRoomMessage(bytes: Uint8Array): RoomMessageHeader {
  try {
    if (bytes.length > MAX_SECURE_IM_BYTES) fail('malformed', 'parse', `message larger than ${MAX_SECURE_IM_BYTES} bytes`);
    const ci = parseAsn1(bytes, { ber: true });
    const [typeNode, wrapped] = kids(ci);
    if (ci.tag !== TAG.SEQUENCE || oidOf(typeNode, 'contentType') !== OID.encryptedData || !wrapped || wrapped.tag !== 0xa0) {
      fail('malformed', 'parse', 'not a ContentInfo(EncryptedData)');
    }
    const f = kids(kids(wrapped!)[0]);
    const version = readSmallInt(f[0] ?? fail('malformed', 'parse', 'empty EncryptedData'));
    if (version !== 0 && version !== 2) fail('unsupported-algorithm', 'parse', `EncryptedData version ${version}`);
    const [, alg, enc] = kids(f[1]);
    const [cOid, ivNode] = kids(alg);
    if (oidOf(cOid, 'content encryption algorithm') !== ROOM_CIPHER_OID) fail('unsupported-algorithm', 'policy', 'room content cipher is not AES-256-CBC');
    if (!ivNode || ivNode.tag !== TAG.OCTET_STRING) fail('malformed', 'parse', 'CBC parameters must be an IV');
    const iv = readOctets(ivNode!);
    if (iv.length !== 16) fail('malformed', 'parse', 'CBC IV must be 16 bytes');
    if (!enc || (enc.tag !== 0x80 && enc.tag !== 0xa0)) fail('malformed', 'parse', 'detached encrypted content is not supported');
    const encrypted = readStringBytes(enc!, 0x80, 'encryptedContent');
    let epoch: number | undefined;
    if (f[2]) {
      if (f[2].tag !== 0xa1) fail('malformed', 'parse', 'unexpected field after EncryptedContentInfo');
      for (const a of kids(f[2])) {
        const [t, vals] = kids(a);
        if (oidOf(t, 'attribute type') === OID.roomEpoch) {
          if (epoch !== undefined) fail('malformed', 'parse', 'duplicate epoch attribute');
          const v = kids(vals);
          if (v.length !== 1) fail('malformed', 'parse', 'epoch attribute must have one value');
          epoch = readSmallInt(v[0]!);
          if (epoch < 1) fail('malformed', 'parse', 'epoch must be >= 1');
        }
      }
    }
    return { profile: epoch === undefined ? 'aim' : 'certim', ...(epoch !== undefined ? { epoch } : {}), iv, encrypted };
  } catch (e) {
    if (e instanceof Asn1Error) fail('malformed', 'parse', e.message);
    throw e;
  }
}

/** What {@link decryptRoomMessage} needs. */
export interface DecryptRoomMessageOptions {
  /** The room key of an epoch (`undefined` = the AIM-format key of the room); undefined when we have none. */
  keyFor(epoch: number | undefined): Uint8Array | undefined;
  /** The sender per the server (`0E/06` TLV 0x0003). */
  senderScreenName: string;
  senderCerts?: CertificateInput[];
  trust: TrustCallback;
  /** Our room's name: a bound message signed for another room is `wrong-room`. */
  roomName: string;
  /** The room runs certim's profile: an AIM-format message is a `downgrade`. */
  requireCertim: boolean;
  /** Bound messages' ids are checked here (per room, epoch and sender). */
  replayCache?: ReplayCache;
  now?: Date;
}

/** The verdict on a room message; `text` unless failed. */
export interface RoomMessageResult extends RoomVerdictBase {
  text?: string;
  charset?: string;
  epoch?: number;
  /** The message carried signed room, epoch and sender names and they matched. */
  bound?: boolean;
  replayChecked?: boolean;
  messageId?: string;
  signingTime?: Date;
  /** MD5 signature (aim profile). */
  weak?: boolean;
}

/**
 * Decrypts and judges one room message (docs/protocol.md §7.3, §16.4). Never rejects. Order: public header
 * (epoch) -> key lookup (`no-key`) -> AES-256-CBC -> SignedData and signature -> names, room, epoch, replay -> trust.
 * Everything between the key lookup and a good signature fails as one `tampered` result.
 */
export async function decryptRoomMessage(bytes: Uint8Array, o: DecryptRoomMessageOptions): Promise<RoomMessageResult> {
  let profile: RoomProfile | undefined;
  try {
    const h = parseRoomMessage(bytes);
    profile = h.profile;
    if (profile === 'aim' && o.requireCertim) fail('downgrade', 'policy', 'AIM-format message in a room that runs certim\'s profile');
    const key = o.keyFor(h.epoch);
    if (!key) {
      fail('no-key', 'recipient', h.epoch === undefined ? 'no key — cannot read' : `no key for epoch ${h.epoch} — cannot read`);
    }
    let sig: CheckedSignature;
    let sp: ReturnType<typeof parseSignedData>;
    try {
      if (h.encrypted.length === 0 || h.encrypted.length % 16 !== 0) throw undecryptable();
      let plain: Uint8Array;
      try {
        plain = cbcDecryptSync(key!, h.iv, h.encrypted);
      } catch {
        throw undecryptable();
      }
      sp = parseSignedData(signedBytesOf(plain));
      sig = await checkSignedParts(nodeCmsCrypto, sp, o.senderCerts, profile === 'aim');
    } catch {
      // Unauthenticated CBC output until the signature verifies: one failure, whatever went wrong.
      throw undecryptable();
    }
    signerMustBe(sig, o.senderScreenName);

    const rn = attrValue(sp, OID.roomName);
    const ep = attrValue(sp, OID.roomEpoch);
    const bound = rn !== undefined && ep !== undefined && sig.senderAttr !== undefined && sig.messageId !== undefined && sig.signingTime !== undefined;
    if (profile === 'certim' && !bound) fail('tampered', 'policy', 'certim room message lacks its binding attributes');
    let signedEpoch: number | undefined;
    if (rn !== undefined && readString(rn) !== o.roomName) fail('wrong-room', 'policy', `message was signed for room '${readString(rn)}'`);
    if (ep !== undefined) signedEpoch = readSmallInt(ep);
    if (profile === 'certim' && signedEpoch !== h.epoch) fail('wrong-epoch', 'policy', `message was signed for epoch ${signedEpoch}, sent as epoch ${h.epoch}`);
    let replayChecked = false;
    // Any message with an id and a signing time is checked (aim-profile certim senders sign an id but no binding).
    if (sig.messageId !== undefined && sig.signingTime !== undefined && o.replayCache) {
      const scope = `${o.roomName}\u0000${h.epoch ?? 0}\u0000${normalizeScreenName(o.senderScreenName)}`;
      const r = await o.replayCache.checkAndRemember(scope, sig.messageId!, sig.signingTime!, o.now ?? new Date());
      if (r === 'replayed') fail('replayed', 'policy', 'message id seen before in this room');
      if (r === 'stale') fail('replayed', 'policy', 'signing time outside the replay window');
      replayChecked = true;
    }
    const { text, charset } = innerText(sp.content);
    const decision = await judge(sig.signer, o.senderScreenName, o.trust);
    const base = {
      profile, text, charset, bound, replayChecked,
      signer: { screenName: sig.signer.commonName, fingerprint: sig.signer.fingerprint },
      ...(h.epoch !== undefined ? { epoch: h.epoch } : {}),
      ...(sig.messageId ? { messageId: Buffer.from(sig.messageId).toString('hex') } : {}),
      ...(sig.signingTime ? { signingTime: sig.signingTime } : {}),
      ...(profile === 'aim' ? { weak: sig.digest.weak } : {}),
    };
    if (decision.ok) return { verdict: 'verified', code: 'ok', reason: 'signature verified and signer trusted', ...base };
    return { verdict: 'untrusted', code: decision.code, reason: decision.reason, ...base };
  } catch (e) {
    if (e instanceof Fail) return failedResult(e, profile);
    return failedResult(new Fail('malformed', 'parse', `internal error: ${e instanceof Error ? e.message : String(e)}`), profile);
  }
}
