/**
 * CertimClient: one signed-on certim session. It signs on (sign-on.ts), publishes our certificates and
 * capabilities, tracks buddies' presence and certificates, sends and receives Secure IMs through the CMS codec,
 * and reconnects with backoff after a dropped connection without losing queued outgoing IMs.
 *
 * Security rules it enforces (ARCHITECTURE.md "Trust model"):
 * - Never silently plaintext: `sendIm` encrypts whenever the buddy has a valid certificate; otherwise it fails
 *   with NO_BUDDY_CERT unless the caller allowed plaintext for that conversation (`allowPlaintext`). A revoked
 *   buddy, an unknown revocation status or an unacknowledged change of a verified key never falls back to plaintext.
 * - Buddy certificates are checked with the PKI verifier against the pinned CA and the CA's CRL (revocation.ts;
 *   fail closed after nextUpdate + grace) before use and when verifying a signer; a changed certificate for a known
 *   buddy raises `key-change`, and one the user personally verified blocks sending (KEY_CHANGED).
 * - Our own revoked or refused certificate stops secure IMs (OWN_CERT_REVOKED / OWN_CERT_REFUSED); reconnects use
 *   one retry chain with capped exponential backoff and jitter.
 * - No silent downgrade: a buddy once seen with the modern profile stays pinned to it (docs/protocol.md §11.1);
 *   aim-legacy sends and receipts are always marked.
 * - Plaintext of encrypted messages is never logged; the `log` hook only gets metadata.
 */
import { ByteWriter, fromBase64, latin1Decode, latin1Encode, toBase64, toHex } from '../wire/bytes.js';
import { sha256 } from '../wire/sha256.js';
import { capabilityBytes, capabilityToString, hasCapability } from '../wire/capabilities.js';
import { certInfoHash, decodeCertificateInfo, encryptionCert, signingCert } from '../wire/cert-info.js';
import { BUDDY_FAMILY, BuddySubtype, decodeUserInfoList, encodeScreenNameList } from '../wire/families/buddy.js';
import { ICBM_FAMILY, IcbmSubtype as IcbmSub, decodeClientAddressed, decodeHostAck, decodeParameterReply, encodeClientAddressed } from '../wire/families/icbm.js';
import { OSERVICE_FAMILY, OServiceSubtype, decodeRateChange } from '../wire/families/oservice.js';
import { InfoQueryFlag, LOCATE_FAMILY, LocateSubtype, LocateTlv, decodeUserInfoReply, encodeUserInfoQuery2 } from '../wire/families/locate.js';
import { SignOffReason } from '../wire/flap.js';
import {
  IcbmChannel, IcbmTlv, decodeIcbmChannelMsgToClient, decodeImMessage, encodeEncryptedImMessage, encodeIcbmChannelMsgToHost,
  encodeImMessage, isEncryptedIm, ImCharset,
} from '../wire/icbm-message.js';
import type { Snac } from '../wire/snac.js';
import { SnacErrorCode } from '../wire/snac.js';
import { tlv } from '../wire/tlv.js';
import type { UserInfo } from '../wire/user-info.js';
import { MemoryReplayCache, type ReplayCache } from '../pki/cms/replay-cache.js';
import type { SecureImProfile, TrustCallback } from '../pki/cms/secure-im-types.js';
import { normalizeScreenName } from '../pki/screen-name.js';
import { verifyCertificate, type VerifyResult } from '../pki/verifier.js';
import { parseCertificate } from '../pki/x509-parse.js';
import { sameName } from '../pki/name.js';
import { defaultCodec, type SecureImCodec } from './codec.js';
import { TypedEmitter } from './emitter.js';
import { unref } from './timers.js';
import { CLASSIC_NEEDS_DESKTOP, defaultCmsCrypto } from '../pki/cms/crypto.js';
import { imRefusal, type Delivery } from './delivery.js';
import { ClientError } from './errors.js';
import { encodeInParts, newPartId, PartAssembler } from './long-message.js';
import { RatePacer } from './pacing.js';
import { certInfoBlock, type Identity } from './identity.js';
import type { OscarConnection } from './oscar-connection.js';
import { signOn, type LoginMode } from './sign-on.js';
import { CRL_REFRESH_MS, describeCrlState, type CrlCache, type CrlState } from './revocation.js';
import { certFingerprint, formatFingerprint, identityFingerprint, keyChangedRefusal, pinModern, trustLevel, updateRecord, verifiedKeyChanged, type BuddyRecord, type BuddyStore, type KeyChange, type TrustLevel } from './trust.js';
import type { TransportFactory, TransportTarget } from './transport.js';
import { decodeRendezvous, type RendezvousMessage } from '../wire/rendezvous.js';

/** Options of {@link CertimClient}. */
export interface CertimClientOptions {
  /** Our screen name. */
  screenName: string;
  /** Account password. */
  password: string;
  /** Login address. */
  server: TransportTarget;
  /** Opens connections (TLS pinned to the CA by default). */
  transport: TransportFactory;
  /** Login mode (default `certim-tls`). */
  mode?: LoginMode;
  /** Our keys and certificates. Without them the client can only send plaintext (explicitly allowed). */
  identity?: Identity;
  /** The pinned CA certificates, DER, root first: trust anchors for buddy certificates. */
  caCerts: Uint8Array[];
  /** Buddy certificate cache and trust marks. */
  buddyStore: BuddyStore;
  /** Buddies to watch for presence. */
  buddies?: string[];
  /** Secure IM codec (default src/pki/cms). */
  codec?: SecureImCodec;
  /**
   * The CA's revocation list (docs/protocol.md §12.2): every buddy certificate, signer and our own certificates are
   * checked against it; with no current CRL the client fails closed (see revocation.ts).
   */
  revocation: Pick<CrlCache, 'state' | 'current' | 'lookup'>;
  /** Replay cache for modern messages (default in-memory; the CLI keeps one in the profile). */
  replayCache?: ReplayCache;
  /**
   * Reconnect after a dropped connection or a failed re-sign-on: capped exponential backoff with jitter (default
   * 1 s doubling to 60 s; each delay is drawn from [base/2, base]). `false` disables. `random` is for tests.
   */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number; random?: () => number } | false;
  /** Per-request timeout. */
  requestTimeoutMs?: number;
  /** Keep incoming IMs (raw 04/07 bodies) instead of decoding them; see {@link CertimClient.spoolTo}. */
  spool?: (body: Uint8Array, receivedAt: Date) => void;
  /** Announce certim's modern secure-IM capability (default true; false behaves like a classic AIM client). */
  announceModern?: boolean;
  /** Clock (tests). */
  now?: () => Date;
}

/** Presence of one buddy. */
export interface BuddyPresence {
  /** Screen name as the server formats it. */
  screenName: string;
  /** Signed on. */
  online: boolean;
  /** Away bit. */
  away: boolean;
  /** Minutes idle (user-info TLV 0x0004), when the buddy is idle. */
  idleMinutes?: number;
  /** Announced capabilities (GUID strings). */
  capabilities: string[];
  /** Announces AIM Secure IM. */
  secureIm: boolean;
  /** Announces certim's modern secure-IM profile. */
  modern: boolean;
  /** Hex MD5 of the buddy's certificate-info block, if any. */
  certInfoHash: string | undefined;
}

/** An incoming IM as the user sees it. */
export interface IncomingIm {
  /** Sender screen name. */
  from: string;
  /** The text (empty when the verdict is `failed`: a tampered message never shows a wrong text). */
  text: string;
  /** The message was end-to-end encrypted. */
  secure: boolean;
  /** The decoder's verdict (plaintext messages are `untrusted`). */
  verdict: 'verified' | 'untrusted' | 'failed';
  /** Trust in the sender's certificate (null when not verified). */
  trust: TrustLevel | null;
  /** Why, in words. */
  reason: string;
  /** Stable code: `ok`, a decoder failure code, a verifier code, or `plaintext`. */
  code: string;
  /** Profile used, for secure messages. */
  profile?: SecureImProfile;
  /** Weak legacy algorithms were used (MD5 signature). */
  weak?: boolean;
  /**
   * The aim-legacy profile was used: weak digest, no replay protection and no recipient binding (the message
   * could be a copy of one sent to someone else, or sent before). Absent for modern and plaintext IMs.
   */
  legacy?: boolean;
  /** When it was sent (offline messages carry the server's timestamp), else when received. */
  time: Date;
  /** Delivered from the server's offline store. */
  offline: boolean;
  /**
   * Set when this is our own IM, sent from another session of ours to `to`, that the server copied to this one
   * (04/07 TLV 0x7C02, docs/protocol.md §3.4); `from` is then our own screen name.
   */
  to?: string;
}

/** Options of {@link CertimClient.sendIm}. */
export interface SendImOptions {
  /** Allow sending plaintext to a buddy without a valid certificate (an explicit per-conversation choice). */
  allowPlaintext?: boolean;
  /** Ask the server to store the IM if the buddy is offline (default true). */
  storeOffline?: boolean;
  /**
   * Send with the aim-legacy profile (MD5, no replay or recipient binding) even to a buddy pinned to the modern
   * profile: an explicit, per-message choice for a buddy who really moved to a classic client.
   */
  forceLegacy?: boolean;
  /** Send to a personally verified buddy whose key changed, accepting the new key for this IM only. */
  acceptKeyChange?: boolean;
}

/** What happened to a sent IM. */
export interface SendResult {
  /** Sent encrypted. */
  secure: boolean;
  /** Profile used when secure. */
  profile?: SecureImProfile;
  /** Trust in the recipient's certificate when secure. */
  trust?: TrustLevel;
  /** The recipient's identity fingerprint when secure. */
  fingerprint?: string;
  /** The key change noticed while preparing this IM, if any. */
  keyChange?: KeyChange;
  /** Things the user must be told about this IM (legacy profile, a suspected downgrade, a vanished certificate). */
  notes?: string[];
  /** Delivered to the signed-on recipient, or stored by the server until they sign on (docs/protocol.md §10.4). */
  delivery: Delivery;
  /** How many IMs the text was sent as (more than one for a long text, see long-message.ts). */
  parts: number;
}

/** The events a client emits. */
export interface CertimClientEvents {
  'signed-on': [{ screenName: string }];
  buddy: [BuddyPresence];
  im: [IncomingIm];
  typing: [{ from: string; event: 'none' | 'paused' | 'typing' }];
  'key-change': [KeyChange];
  /** Non-fatal problems (e.g. a buddy certificate that failed verification). */
  warning: [ClientError];
  disconnected: [{ error: Error | undefined; willReconnect: boolean }];
  reconnecting: [{ attempt: number; delayMs: number }];
  'signed-off': [{ reason: string }];
  /** A channel-2 rendezvous message (propose / accept / cancel, docs/protocol.md §8.1); peer/ acts on it. */
  rendezvous: [{ from: string; message: RendezvousMessage }];
}

interface QueuedIm {
  to: string;
  text: string;
  opts: SendImOptions;
  /** Part-group id, kept across a resend after reconnecting so the receiver replaces rather than repeats parts. */
  partId: string;
  resolve(r: SendResult): void;
  reject(e: Error): void;
}

/** Verified certificates of a buddy, ready for encryption. */
export interface BuddyCerts {
  record: BuddyRecord;
  encryptionDer: Uint8Array;
  signingDer: Uint8Array;
  change?: KeyChange;
  /** The server told us the buddy's capabilities just now (so `record.modern` is current, not remembered). */
  capsKnown?: boolean;
}

const CAP_SECURE_IM = capabilityBytes('SecureIm');
const CAP_MODERN = capabilityBytes('CertimModernSecureIm');
/** certim secure rooms (docs/protocol.md §16.1): announced with the modern profile. */
const CAP_ROOMS = capabilityBytes('CertimSecureRooms');

/** Most buddies' presence kept (the server may announce names never asked about: past this the oldest goes). */
const MAX_PRESENCE_ENTRIES = 5000;
/** Refusals that never fall back to plaintext, even when the caller allowed plaintext. */
const HARD_REFUSALS: ReadonlySet<string> = new Set(['BUDDY_REVOKED', 'CLASSIC_CLIENT', 'CRL_UNAVAILABLE', 'KEY_CHANGED', 'OWN_CERT_REVOKED']);

/** A certim session. See the file comment. */
export class CertimClient extends TypedEmitter<CertimClientEvents> {
  private bos: OscarConnection | undefined;
  private connecting: Promise<void> | undefined;
  private closedByUser = false;
  private reconnectAttempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly queue: QueuedIm[] = [];
  private readonly presence = new Map<string, BuddyPresence>();
  /** Watched buddies: normalized name -> the name as given (what 03/04 sends). */
  private readonly watched = new Map<string, string>();
  private readonly recentDeliveries = new Map<string, number>();
  /** Why we may not send secure IMs (our own certificate revoked or refused), once known. */
  private ownProblem: ClientError | undefined;
  /** Counts sign-ons so a close of an older connection cannot trigger a second reconnect chain. */
  private connGeneration = 0;
  private liveGeneration = -1;
  private crlWarned: string | undefined;
  private ownCheckTimer: ReturnType<typeof setInterval> | undefined;
  private readonly codec: SecureImCodec;
  private readonly replayCache: ReplayCache;
  private readonly now: () => Date;
  private readonly fetches = new Map<string, Promise<BuddyCerts | undefined>>();
  private spool: ((body: Uint8Array, receivedAt: Date) => void) | undefined;
  private pacer = new RatePacer(undefined);
  private maxImBytes: number | undefined;
  private readonly assembler: PartAssembler<IncomingIm>;
  private partTimer: ReturnType<typeof setTimeout> | undefined;
  /** The screen name as the server formats it, once signed on. */
  screenName: string;

  constructor(private readonly opts: CertimClientOptions) {
    super();
    this.screenName = opts.screenName;
    this.codec = opts.codec ?? defaultCodec;
    this.replayCache = opts.replayCache ?? new MemoryReplayCache();
    this.now = opts.now ?? (() => new Date());
    for (const b of opts.buddies ?? []) this.addBuddy(b); // not connected yet: only remembered, sent at sign-on
    this.spool = opts.spool;
    this.assembler = new PartAssembler<IncomingIm>(() => this.now().getTime());
  }

  /** True while signed on. */
  get connected(): boolean {
    return this.bos !== undefined && !this.bos.isClosed;
  }

  /** Current presence of every watched buddy we heard about. */
  buddies(): BuddyPresence[] {
    return [...this.presence.values()];
  }

  /** Signs on. Rejects with a ClientError (LOGIN_FAILED, TLS_UNTRUSTED, CONNECT_FAILED...) on failure. */
  connect(): Promise<void> {
    this.closedByUser = false;
    if (this.connected) return Promise.resolve();
    if (!this.connecting) {
      this.connecting = this.signOnOnce().finally(() => {
        this.connecting = undefined;
      });
    }
    return this.connecting;
  }

  private async signOnOnce(): Promise<void> {
    const id = this.opts.identity;
    if (id) await this.checkOwnCertificates();
    const generation = ++this.connGeneration;
    const caps = id ? (this.opts.announceModern === false ? [CAP_SECURE_IM] : [CAP_SECURE_IM, CAP_MODERN, CAP_ROOMS]) : [];
    const { bos, screenName, rateInfo } = await signOn({
      screenName: this.opts.screenName,
      password: this.opts.password,
      server: this.opts.server,
      transport: this.opts.transport,
      ...(this.opts.mode ? { mode: this.opts.mode } : {}),
      capabilities: caps,
      ...(id ? { certInfo: certInfoBlock(id) } : {}),
      buddies: [...this.watched.values()],
      ...(this.opts.requestTimeoutMs !== undefined ? { timeoutMs: this.opts.requestTimeoutMs } : {}),
      handlers: {
        onSnac: (snac) => this.onSnac(snac),
        onSignOff: (so) => {
          if (so.reason === SignOffReason.SignedOnElsewhere) this.closedByUser = true; // a takeover: do not fight it
        },
        onClose: (err) => this.onDisconnect(generation, err),
      },
    }).catch((e: unknown) => {
      if (ClientError.is(e, 'OWN_CERT_REVOKED') || ClientError.is(e, 'OWN_CERT_REFUSED')) this.ownProblem = e;
      throw e;
    });
    this.bos = bos;
    this.liveGeneration = generation;
    this.pacer = new RatePacer(rateInfo);
    this.maxImBytes = undefined;
    this.screenName = screenName;
    if (id && this.ownCheckTimer === undefined) {
      // While signed on, notice a revocation of our own certificate at the next CRL refresh (not only at the next
      // sign-on): say it, and stop sending secure IMs.
      this.ownCheckTimer = setInterval(() => {
        if (!this.ownProblem) this.checkOwnCertificates().catch((e: unknown) => this.warn(e));
      }, CRL_REFRESH_MS);
      unref(this.ownCheckTimer);
    }
    this.reconnectAttempt = 0;
    this.emit('signed-on', { screenName });
    void this.flushQueue();
  }

  /** Signs off and stops reconnecting. Queued IMs fail with SIGNED_OFF. */
  close(): void {
    this.closedByUser = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.ownCheckTimer) clearInterval(this.ownCheckTimer);
    this.ownCheckTimer = undefined;
    if (this.partTimer) clearTimeout(this.partTimer);
    this.partTimer = undefined;
    this.liveGeneration = -1;
    const bos = this.bos;
    this.bos = undefined;
    bos?.close();
    for (const q of this.queue.splice(0)) q.reject(new ClientError('SIGNED_OFF', `not sent to ${q.to}: signed off`));
    this.emit('signed-off', { reason: 'closed' });
  }

  /** Adds a buddy to watch (presence and certificates). */
  addBuddy(screenName: string): void {
    const key = normalizeScreenName(screenName);
    if (this.watched.has(key)) return;
    this.watched.set(key, screenName);
    if (this.connected) this.bos!.send(BUDDY_FAMILY, BuddySubtype.ADD_BUDDIES, encodeScreenNameList([screenName]));
  }

  /**
   * Sends a SNAC on the signed-on connection and resolves with its reply (SNAC_ERROR for an error reply). The seam
   * for family helpers kept outside this class (feedbag.ts, locate-info.ts).
   */
  request(family: number, subtype: number, body: Uint8Array): Promise<Snac> {
    if (!this.connected) return Promise.reject(new ClientError('CONNECTION_CLOSED', 'not signed on'));
    return this.bos!.request(family, subtype, body, this.opts.requestTimeoutMs !== undefined ? { timeoutMs: this.opts.requestTimeoutMs } : {});
  }

  /** What a second connection of this session (a chat room, ChatNav) needs: the same transport kind and login host. */
  serviceConnectionOptions(): { transport: TransportFactory; host: string; timeoutMs?: number } {
    return { transport: this.opts.transport, host: this.opts.server.host, ...(this.opts.requestTimeoutMs !== undefined ? { timeoutMs: this.opts.requestTimeoutMs } : {}) };
  }

  /** Sends a SNAC that has no reply when it succeeds (e.g. Locate 02/04); rejects with SNAC_ERROR if refused. */
  sendChecked(family: number, subtype: number, body: Uint8Array): Promise<void> {
    if (!this.connected) return Promise.reject(new ClientError('CONNECTION_CLOSED', 'not signed on'));
    return this.bos!.sendChecked(family, subtype, body);
  }

  /** Sends a typing notification. */
  sendTyping(to: string, event: 'none' | 'paused' | 'typing'): void {
    if (!this.connected) return;
    const code = event === 'typing' ? 2 : event === 'paused' ? 1 : 0;
    // 04/14: zero cookie, channel 1, peer SN, u16 event.
    const body = encodeClientAddressed({ cookie: new Uint8Array(8), channel: 1, screenName: to, rest: new ByteWriter(2).u16(code).finish() });
    this.bos!.send(ICBM_FAMILY, IcbmSub.CLIENT_EVENT, body);
  }

  /**
   * Sends an IM. Secure whenever the buddy has a valid certificate (modern profile if the buddy announces
   * certim's capability, aim-legacy otherwise); plaintext only with `allowPlaintext`. Resolves once the server
   * acknowledged it (`delivery` says delivered, or stored for an offline buddy); a refusal rejects with its own
   * code (NO_SUCH_USER, BLOCKED, QUEUE_FULL...). A text too long for one IM goes as parts (long-message.ts); all
   * IMs are paced to the server's rate classes (pacing.ts). An empty text is refused (EMPTY_MESSAGE). While
   * disconnected the IM is queued and sent after the next sign-on.
   */
  sendIm(to: string, text: string, opts: SendImOptions = {}): Promise<SendResult> {
    if (this.closedByUser && !this.connected) return Promise.reject(new ClientError('SIGNED_OFF', 'the client is closed'));
    if (text.trim() === '') return Promise.reject(new ClientError('EMPTY_MESSAGE', 'nothing to send: the message is empty'));
    return new Promise<SendResult>((resolve, reject) => {
      this.queue.push({ to, text, opts, partId: newPartId(), resolve, reject });
      if (this.connected) void this.flushQueue();
    });
  }

  private flushing = false;

  private async flushQueue(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0 && this.connected) {
        const q = this.queue[0]!;
        try {
          const r = await this.sendNow(q.to, q.text, q.opts, q.partId);
          this.queue.shift();
          q.resolve(r);
        } catch (e) {
          // A dropped connection keeps the IM queued for the next sign-on; anything else is final for it.
          if (ClientError.is(e, 'CONNECTION_CLOSED') || (ClientError.is(e, 'TIMEOUT') && !this.connected)) break;
          this.queue.shift();
          q.reject(e as Error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async sendNow(to: string, text: string, opts: SendImOptions, partId: string): Promise<SendResult> {
    const bos = this.bos;
    if (!bos) throw new ClientError('CONNECTION_CLOSED', 'not signed on');
    const id = this.opts.identity;
    let certs: BuddyCerts | undefined;
    let refusal: ClientError | undefined;
    const notes: string[] = [];
    const seen = this.presence.get(normalizeScreenName(to));
    try {
      // The hash an online buddy announced tells whether the cached certificates are current; without one, ask.
      certs = await this.buddyCerts(to, false, seen?.online ? seen.certInfoHash : undefined);
      if (!certs) {
        const known = await this.opts.buddyStore.get(to);
        refusal = new ClientError('NO_BUDDY_CERT', known
          ? `${to} publishes no certificate now, although it had one (fingerprint ${formatFingerprint(known.fingerprint)}): the server may be hiding it; a secure IM is impossible`
          : `${to} has no certificate: a secure IM is impossible`);
      }
    } catch (e) {
      if (!ClientError.is(e) || e.code === 'CONNECTION_CLOSED' || e.code === 'NO_SUCH_USER') throw e;
      // A revoked buddy, an unknown revocation status or an unacknowledged change is never a reason for plaintext.
      if (HARD_REFUSALS.has(e.code)) throw e;
      refusal = e.code === 'NO_BUDDY_CERT' ? e : new ClientError('NO_BUDDY_CERT', `cannot get ${to}'s certificate: ${e.message}`, { cause: e });
    }
    if (certs && !id) refusal = new ClientError('NO_KEYS', 'we have no keys of our own: run `certim keys init` first');
    if (certs && id && this.ownProblem) throw this.ownProblem;
    if (certs && verifiedKeyChanged(certs.record) && !opts.acceptKeyChange) throw new ClientError('KEY_CHANGED', keyChangedRefusal(certs.record, 'not sent'));
    let encode: (text: string) => Promise<Uint8Array>;
    let result: Omit<SendResult, 'delivery' | 'parts'>;
    if (certs && id) {
      const profile = this.chooseProfile(to, certs, seen, opts, notes);
      // A codec without aim-legacy (WebCrypto: the browser) cannot reach a classic client: say so, never plaintext.
      if (profile === 'aim-legacy' && this.codec.legacy === false) {
        throw new ClientError('CLASSIC_CLIENT', `${certs.record.screenName} uses a ${CLASSIC_NEEDS_DESKTOP}; not sent`);
      }
      const { record, encryptionDer, signingDer } = certs;
      encode = async (t) => encodeEncryptedImMessage(await this.codec.encode({
        profile,
        text: t,
        sender: { screenName: this.screenName, signingKey: id.signing.privateKey, signingCert: id.signing.certDer, encryptionCert: id.encryption.certDer },
        // aim-legacy also wraps the key to the buddy's signing certificate, first: joustsim decrypts with the key of
        // its first RecipientInfo (ARCHITECTURE.md, cms "Classic clients"). Ignored by the modern profile.
        recipient: {
          screenName: record.screenName, cert: encryptionDer,
          ...(profile === 'aim-legacy' && !bytesEqual(signingDer, encryptionDer) ? { signingCert: signingDer } : {}),
        },
        includeSelf: profile === 'modern',
        now: this.now(),
      }));
      result = { secure: true, profile, trust: trustLevel(certs.record), fingerprint: certs.record.fingerprint, ...(certs.change ? { keyChange: certs.change } : {}) };
    } else {
      if (!opts.allowPlaintext) {
        throw new ClientError('PLAINTEXT_REFUSED', `${refusal?.message ?? `cannot encrypt to ${to}`}; not sent (allow plaintext for this conversation explicitly to send it unencrypted)`, { cause: refusal });
      }
      const known = await this.opts.buddyStore.get(to);
      if (known) {
        // A buddy we had certificates for no longer publishes any: that is what a stripping server would do.
        const w = `WARNING: ${known.screenName} had a certificate (fingerprint ${formatFingerprint(known.fingerprint)}, seen since ${known.since})${known.modernSince ? ' and used the modern profile' : ''}, but none is published now; sending in plaintext because you allowed it`;
        notes.push(w);
        this.emit('warning', new ClientError('DOWNGRADE', w));
      }
      encode = (t) => Promise.resolve(encodePlainText(t));
      result = { secure: false };
    }
    const parts = await encodeInParts(text, encode, await this.imLimit(bos), partId);
    // Watching the recipient makes the server tell us its presence before it acks (it handles our SNACs in
    // order), which is how we tell "delivered" from "stored offline" (docs/protocol.md §3.3, §10.4).
    this.addBuddy(to);
    const storeOffline = opts.storeOffline ?? true;
    for (const [i, imData] of parts.entries()) {
      const tlvs = [tlv(IcbmTlv.IM_DATA, imData), tlv(IcbmTlv.REQUEST_HOST_ACK)];
      if (storeOffline) tlvs.push(tlv(IcbmTlv.STORE_OFFLINE));
      await this.pacer.pace(ICBM_FAMILY, IcbmSub.CHANNEL_MSG_TO_HOST);
      try {
        const reply = await bos.request(ICBM_FAMILY, IcbmSub.CHANNEL_MSG_TO_HOST, encodeIcbmChannelMsgToHost({ cookie: defaultCmsCrypto().getRandomValues(new Uint8Array(8)), channel: IcbmChannel.Im, screenName: to, tlvs }), {
          ...(this.opts.requestTimeoutMs !== undefined ? { timeoutMs: this.opts.requestTimeoutMs } : {}),
        });
        if (reply.subtype !== IcbmSub.HOST_ACK) throw new ClientError('PROTOCOL', `expected a host ack, got SNAC 04/${reply.subtype}`);
        decodeHostAck(reply.body);
      } catch (e) {
        if (ClientError.is(e, 'SNAC_ERROR')) throw imRefusal(to, e.snacError ?? 0, storeOffline, i > 0 ? { sent: i, of: parts.length } : undefined);
        throw e;
      }
    }
    const delivery: Delivery = this.presence.get(normalizeScreenName(to))?.online ? 'delivered' : 'stored';
    return { ...result, delivery, parts: parts.length, ...(notes.length ? { notes } : {}) };
  }

  /**
   * The CMS profile for an IM to `to` (docs/protocol.md §11.1): modern when the buddy announces certim's
   * capability, is pinned to it (seen with it before, like HSTS), or is offline and unknown; aim-legacy only for a
   * buddy seen online without it (a classic client) or when the caller forces it — and then with a note, never
   * silently.
   */
  private chooseProfile(to: string, certs: BuddyCerts, seen: BuddyPresence | undefined, opts: SendImOptions, notes: string[]): SecureImProfile {
    const rec = certs.record;
    const pinned = rec.modernSince !== undefined;
    const legacyNote = 'aim-legacy profile: MD5 signature, no replay protection, no recipient binding';
    if (opts.forceLegacy) {
      notes.push(`WARNING: sent to ${rec.screenName} with the ${legacyNote}, because you asked for it${pinned ? ` (${rec.screenName} is pinned to the modern profile since ${rec.modernSince})` : ''}`);
      return 'aim-legacy';
    }
    if (rec.modern) return 'modern';
    if (pinned) {
      const w = `WARNING: ${rec.screenName} no longer announces certim's modern profile (pinned since ${rec.modernSince}); the server or the network may be stripping it. Sent with the modern profile anyway.`;
      notes.push(w);
      this.emit('warning', new ClientError('DOWNGRADE', w));
      return 'modern';
    }
    if (!certs.capsKnown && !seen?.online) {
      notes.push(`${rec.screenName} is offline and has not been seen with a client yet: sent with the modern profile (a classic AIM client cannot read it; --legacy sends the ${legacyNote})`);
      return 'modern';
    }
    notes.push(`WARNING: ${to} does not announce certim's modern profile (a classic AIM client?): sent with the ${legacyNote}`);
    return 'aim-legacy';
  }

  /** The server's maximum IM message data (04/05), asked once per connection; 8000 if it will not say. */
  private async imLimit(bos: OscarConnection): Promise<number> {
    if (this.maxImBytes === undefined) {
      try {
        this.maxImBytes = decodeParameterReply((await bos.request(ICBM_FAMILY, IcbmSub.PARAMETER_QUERY, new Uint8Array(0))).body).parameters.maxMessageLength;
      } catch (e) {
        if (!ClientError.is(e, 'SNAC_ERROR')) throw e;
        this.maxImBytes = 8000;
      }
    }
    return this.maxImBytes;
  }

  /**
   * The trust callback the CMS decoders use: a signer certificate is trusted when it verifies for the screen name
   * under the pinned CA with a current CRL (the same check as Secure IMs; used by secure rooms, docs/protocol.md §16).
   */
  trustCallback(): TrustCallback {
    return async (cert, screenName, purpose) => {
      const der = cert;
      const v = await this.verifyCert(der, purpose === 'signing' ? 'sign' : 'encrypt', screenName);
      if (v.ok) return { ok: true };
      return { ok: false, code: v.code, reason: v.code === 'REVOKED' ? `${screenName}'s certificate was REVOKED: ${this.revocationText(der, v.reason)}` : v.reason };
    };
  }

  /**
   * The buddy's verified certificates. Asks the server for the certificate-info block (02/15 flag 0x08) when the
   * cached one is not the current one (or `refresh`, which also refetches the CRL), verifies both certificates for
   * the buddy's screen name,
   * and updates the cache; a different fingerprint for a known buddy emits `key-change`. Resolves undefined when
   * the buddy has no certificate; rejects NO_BUDDY_CERT when the certificate does not verify.
   */
  async buddyCerts(screenName: string, refresh = false, knownHash?: string): Promise<BuddyCerts | undefined> {
    const key = normalizeScreenName(screenName);
    const inflight = this.fetches.get(key);
    if (inflight) return inflight;
    const p = this.fetchBuddyCerts(screenName, refresh, knownHash).finally(() => this.fetches.delete(key));
    this.fetches.set(key, p);
    return p;
  }

  private async fetchBuddyCerts(screenName: string, refresh: boolean, knownHash: string | undefined): Promise<BuddyCerts | undefined> {
    const cached = await this.opts.buddyStore.get(screenName);
    if (cached && !refresh && knownHash !== undefined && cached.certInfoHash === knownHash) return this.fromRecord(cached, refresh);
    let block: Uint8Array | undefined;
    let caps: Uint8Array[] | undefined;
    let sn = screenName;
    // Presence that arrives during sign-on is handled before the connection is ours: wait for it.
    if (!this.bos && this.connecting) await this.connecting.catch(() => undefined);
    const bos = this.bos;
    if (!bos) {
      if (cached) return this.fromRecord(cached, refresh);
      throw new ClientError('CONNECTION_CLOSED', 'not signed on');
    }
    try {
      const reply = await bos.request(LOCATE_FAMILY, LocateSubtype.USER_INFO_QUERY2, encodeUserInfoQuery2({ flags: InfoQueryFlag.CERTIFICATES | InfoQueryFlag.CAPABILITIES, screenName }));
      const info = decodeUserInfoReply(reply.body);
      sn = info.user.screenName || screenName;
      block = info.tlvs.bytes(LocateTlv.CERT_INFO);
      const capTlv = info.tlvs.bytes(LocateTlv.CAPABILITIES);
      caps = capTlv ? splitCaps(capTlv) : safeCaps(info.user);
    } catch (e) {
      if (ClientError.is(e, 'SNAC_ERROR')) {
        // Not visible to us (offline without stored certificates, or unknown): the cache is all we have.
        if (cached) return this.fromRecord(cached, refresh);
        // 0x04 to a certificates query: no such account, or its privacy hides it from us (docs/protocol.md §3.2).
        if (e.snacError === SnacErrorCode.NotLoggedOn) throw new ClientError('NO_SUCH_USER', `there is no user ${screenName} (or ${screenName} does not accept IMs from you); check the screen name`, { snacError: e.snacError });
        throw new ClientError('NO_BUDDY_CERT', `${screenName} is unknown or not visible, and no certificate is cached`);
      }
      throw e;
    }
    if (!block || block.length === 0) {
      // No certificate published (any more). If we knew one, say whether it was revoked: that is the reason to
      // give the user, not "no certificate".
      if (cached) await this.fromRecord(cached, refresh).catch((e: unknown) => {
        if (ClientError.is(e, 'BUDDY_REVOKED')) throw e;
      });
      return undefined;
    }
    const hash = toHex(certInfoHash(block));
    const capsKnown = caps.length > 0;
    const modern = capsKnown ? hasCapability(caps, CAP_MODERN) : cached?.modern ?? false;
    if (cached && cached.certInfoHash === hash) {
      const rec = pinModern({ ...cached, modern }, this.now());
      if (rec.modern !== cached.modern || rec.modernSince !== cached.modernSince) await this.opts.buddyStore.put(rec);
      const got = await this.fromRecord(rec, refresh);
      return got ? { ...got, capsKnown } : got;
    }
    let ci;
    try {
      ci = decodeCertificateInfo(block);
    } catch (e) {
      throw new ClientError('NO_BUDDY_CERT', `${screenName}'s certificate block is malformed: ${(e as Error).message}`, { cause: e });
    }
    const enc = encryptionCert(ci);
    const sig = signingCert(ci);
    if (!enc || !sig) return undefined;
    await this.verifyPair(sn, enc, sig, refresh);
    const updated = updateRecord(cached, {
      screenName: sn,
      certInfoHash: hash,
      certInfo: toBase64(block),
      fingerprint: identityFingerprint(enc, sig),
      encryptionFingerprint: certFingerprint(enc),
      signingFingerprint: certFingerprint(sig),
      modern,
    }, this.now());
    const record = pinModern(updated.record, this.now());
    const change = updated.change;
    await this.opts.buddyStore.put(record);
    if (change) this.emit('key-change', change);
    return { record, encryptionDer: enc, signingDer: sig, capsKnown, ...(change ? { change } : {}) };
  }

  private readonly verifiedAt = new Map<string, number>();

  /**
   * Checks both certificates for `screenName` with the PKI verifier against the pinned CA and the current CRL.
   * A good result is remembered per pair and CRL for at most 10 minutes (certificates expire).
   * Rejects BUDDY_REVOKED (who, why, since when), CRL_UNAVAILABLE (fail closed) or NO_BUDDY_CERT.
   */
  private async verifyPair(screenName: string, enc: Uint8Array, sig: Uint8Array, refreshCrl = false): Promise<void> {
    const crl = await this.opts.revocation.state(refreshCrl);
    const key = `${normalizeScreenName(screenName)}:${identityFingerprint(enc, sig)}:${crl.thisUpdate?.getTime() ?? 'none'}`;
    const at = this.verifiedAt.get(key);
    if (at !== undefined && Date.now() - at < 600_000 && crl.status !== 'unavailable') return;
    for (const [der, purpose] of [[enc, 'encrypt'], [sig, 'sign']] as const) {
      const v = await this.verifyCert(der, purpose, screenName, crl);
      if (v.ok) continue;
      const role = purpose === 'encrypt' ? 'encryption' : 'signing';
      if (v.code === 'REVOKED') {
        const text = this.revocationText(der, v.reason);
        const fix = / superseded /.test(text)
          ? `${screenName} replaced this key; the new one is used once ${screenName} signs on and publishes it`
          : `${screenName} must enroll new keys (certim keys init --force); certim uses them once they are published`;
        throw new ClientError('BUDDY_REVOKED', `${screenName}'s ${role} certificate was REVOKED: ${text}; nothing is sent to or trusted from it. ${fix}`);
      }
      // REVOCATION_UNKNOWN, and any other REVOCATION_* state of the verifier (a stale CRL): fail closed.
      if (v.code.startsWith('REVOCATION_')) throw new ClientError('CRL_UNAVAILABLE', `cannot tell whether ${screenName}'s certificate was revoked: ${v.reason}. Refusing to use it until the server's revocation list can be fetched`);
      throw new ClientError('NO_BUDDY_CERT', `${screenName}'s ${role} certificate is not valid: ${v.reason} (${v.code})`);
    }
    this.verifiedAt.set(key, Date.now());
  }

  /** "revoked on DATE, reason R (serial S)" from the CRL entry, else the verifier's sentence. */
  private revocationText(der: Uint8Array, fallback: string): string {
    try {
      const r = this.opts.revocation.lookup(parseCertificate(der));
      if (r) return `revoked on ${r.revokedAt.toISOString()}, reason ${r.reason} (serial ${r.serial})`;
    } catch {
      // fall through to the verifier's text
    }
    return fallback;
  }

  /**
   * One certificate for `screenName` under the pinned CA (root first in `caCerts`), at the client's clock, with
   * the CRL required: a certificate whose revocation status is unknown is refused (REVOCATION_UNKNOWN).
   */
  private async verifyCert(der: Uint8Array, purpose: 'encrypt' | 'sign', screenName: string, crl?: CrlState): Promise<VerifyResult> {
    const state = crl ?? (await this.opts.revocation.state());
    if (state.status === 'unavailable' || !state.crl) {
      return { ok: false, code: 'REVOCATION_UNKNOWN', reason: describeCrlState(state) };
    }
    if (state.status === 'grace' && this.crlWarned !== state.nextUpdate?.toISOString()) {
      this.crlWarned = state.nextUpdate?.toISOString();
      this.emit('warning', new ClientError('CRL_UNAVAILABLE', `${describeCrlState(state)}; certificates are checked against it until then`));
    }
    const v = await verifyCertificate(der, {
      purpose, screenName, trustAnchors: this.opts.caCerts.slice(0, 1), intermediates: this.opts.caCerts.slice(1), now: this.now(),
      crls: [state.crl.der],
    });
    // The CRL must cover the certificate itself: it is issued by the leaf's issuer (the issuing CA; CrlCache
    // checked its signature against the pinned CA). The issuing CA is pinned with the root in the profile; the
    // server publishes no root-signed CRL for it.
    if (v.ok && !sameName(v.chain[0]!.issuer.der, state.crl.issuer.der)) {
      return { ok: false, code: 'REVOCATION_UNKNOWN', reason: `the revocation list does not cover certificates issued by ${v.chain[1]?.subjectCN ?? 'this CA'}` };
    }
    // Defence in depth: the CRL this client checked (signature, dates, no rollback) is consulted directly too, so a
    // listed serial is refused whatever the verifier thinks of the CRL's other fields.
    const listed = v.ok ? this.opts.revocation.lookup(v.chain[0]!) : undefined;
    if (listed) return { ok: false, code: 'REVOKED', reason: `revoked on ${listed.revokedAt.toISOString()}, reason ${listed.reason} (serial ${listed.serial})` };
    return v;
  }

  /**
   * Checks our own certificates against the CRL (docs/protocol.md §12.2). Revoked: remember it (no more secure
   * IMs), tell the user, and refuse to sign on with OWN_CERT_REVOKED. Unknown status does not stop us.
   */
  private async checkOwnCertificates(): Promise<void> {
    const id = this.opts.identity;
    if (!id) return;
    const state = await this.opts.revocation.state();
    if (!state.crl) return;
    for (const [der, role] of [[id.encryption.certDer, 'encryption'], [id.signing.certDer, 'signing']] as const) {
      let r;
      try {
        r = this.opts.revocation.lookup(parseCertificate(der));
      } catch {
        r = undefined;
      }
      if (!r) continue;
      this.ownProblem = new ClientError('OWN_CERT_REVOKED', `your ${role} certificate was revoked on ${r.revokedAt.toISOString()} (reason ${r.reason}, serial ${r.serial}); you cannot send or receive secure IMs with it. Enroll new keys with your password: certim keys init --force`);
      throw this.ownProblem;
    }
  }

  private async fromRecord(rec: BuddyRecord, refreshCrl = false): Promise<BuddyCerts | undefined> {
    const ci = decodeCertificateInfo(fromBase64(rec.certInfo));
    const enc = encryptionCert(ci);
    const sig = signingCert(ci);
    if (!enc || !sig) return undefined;
    await this.verifyPair(rec.screenName, enc, sig, refreshCrl);
    return { record: rec, encryptionDer: enc, signingDer: sig, capsKnown: false };
  }

  // --- incoming ---

  private onSnac(snac: Snac): void {
    try {
      if (snac.family === ICBM_FAMILY && snac.subtype === IcbmSub.CHANNEL_MSG_TO_CLIENT && isRendezvousDelivery(snac.body)) {
        this.onRendezvous(snac.body);
      } else if (snac.family === ICBM_FAMILY && snac.subtype === IcbmSub.CHANNEL_MSG_TO_CLIENT) {
        void this.replay(snac.body.slice(), this.now());
      } else if (snac.family === ICBM_FAMILY && snac.subtype === IcbmSub.CLIENT_EVENT) {
        this.onTyping(snac.body);
      } else if (snac.family === BUDDY_FAMILY && (snac.subtype === BuddySubtype.ARRIVED || snac.subtype === BuddySubtype.DEPARTED)) {
        for (const u of decodeUserInfoList(snac.body)) this.onPresence(u, snac.subtype === BuddySubtype.ARRIVED);
      } else if (snac.family === OSERVICE_FAMILY && snac.subtype === OServiceSubtype.RATE_PARAMS_CHANGE) {
        this.pacer.update(decodeRateChange(snac.body).record);
      }
    } catch (e) {
      this.warn(e);
    }
  }

  /** A channel-2 delivery: decoded and emitted as `rendezvous` (never spooled: a proposal is only good live). */
  private onRendezvous(body: Uint8Array): void {
    const m = decodeIcbmChannelMsgToClient(body);
    const rv = m.tlvs.bytes(IcbmTlv.RENDEZVOUS);
    if (!rv) return;
    this.emit('rendezvous', { from: m.sender.screenName, message: decodeRendezvous(rv.slice()) });
  }

  /**
   * Sends a rendezvous block (docs/protocol.md §8.1) to `to` over ICBM channel 2, with the rendezvous cookie as the
   * ICBM cookie and a host ack requested. Rejects BUDDY_OFFLINE when the server says `to` is not signed on.
   */
  async sendRendezvous(to: string, rv: Uint8Array): Promise<void> {
    if (!this.connected) throw new ClientError('CONNECTION_CLOSED', 'not signed on');
    await this.pacer.pace(ICBM_FAMILY, IcbmSub.CHANNEL_MSG_TO_HOST);
    const body = encodeIcbmChannelMsgToHost({ cookie: rv.slice(2, 10), channel: IcbmChannel.Rendezvous, screenName: to, tlvs: [tlv(IcbmTlv.RENDEZVOUS, rv), tlv(IcbmTlv.REQUEST_HOST_ACK)] });
    try {
      await this.bos!.request(ICBM_FAMILY, IcbmSub.CHANNEL_MSG_TO_HOST, body, this.opts.requestTimeoutMs !== undefined ? { timeoutMs: this.opts.requestTimeoutMs } : {});
    } catch (e) {
      if (ClientError.is(e, 'SNAC_ERROR') && e.snacError === SnacErrorCode.NotLoggedOn) throw new ClientError('BUDDY_OFFLINE', `${to} is not signed on`, { snacError: e.snacError });
      throw e;
    }
  }

  /** Our identity (keys and certificates), when the client has one. */
  get identity(): Identity | undefined {
    return this.opts.identity;
  }

  /** The host we signed on through (the rendezvous proxy runs there, docs/protocol.md §8.3). */
  get serverHost(): string {
    return this.opts.server.host;
  }

  private warn(e: unknown): void {
    this.emit('warning', ClientError.is(e) ? e : new ClientError('PROTOCOL', (e as Error).message ?? String(e), { cause: e }));
  }

  private onPresence(u: UserInfo, online: boolean): void {
    const caps = online ? safeCaps(u) : [];
    let hash: string | undefined;
    try {
      const h = online ? u.certInfoHash : undefined;
      hash = h ? toHex(h) : undefined;
    } catch {
      hash = undefined;
    }
    const idle = online ? u.idleMinutes : undefined;
    const p: BuddyPresence = {
      screenName: u.screenName,
      online,
      away: online && u.isAway,
      ...(idle !== undefined && idle > 0 ? { idleMinutes: idle } : {}),
      capabilities: caps.map(capabilityToString),
      secureIm: hasCapability(caps, CAP_SECURE_IM),
      modern: hasCapability(caps, CAP_MODERN),
      certInfoHash: hash,
    };
    const key = normalizeScreenName(u.screenName);
    // Bounded: the server may announce names we never asked about; past the cap the oldest entry goes.
    if (!this.presence.has(key) && this.presence.size >= MAX_PRESENCE_ENTRIES) this.presence.delete(this.presence.keys().next().value!);
    this.presence.set(key, p);
    this.emit('buddy', p);
    void this.afterPresence(u.screenName, p, online, hash).catch((e: unknown) => this.warn(e));
  }

  private async afterPresence(screenName: string, p: BuddyPresence, online: boolean, hash: string | undefined): Promise<void> {
    // A new certificate hash for a buddy: fetch and verify now, so a key change shows before the next message.
    const cached = await this.opts.buddyStore.get(screenName);
    // Only for buddies we know (a stored record) or watch: a certificate of anyone else is fetched when first
    // needed. The server may announce any number of names; a Locate request for each would pile up unanswered.
    const ours = cached !== undefined || this.watched.has(normalizeScreenName(screenName));
    if (online && ours && hash !== undefined && cached?.certInfoHash !== hash) {
      await this.buddyCerts(screenName, true);
    } else if (online && cached && cached.modern !== p.modern) {
      // The pin (modernSince) survives a presence without the capability: only an acknowledged key change resets it.
      await this.opts.buddyStore.put(pinModern({ ...cached, modern: p.modern }, this.now()));
    }
  }

  private onTyping(body: Uint8Array): void {
    let m;
    try {
      m = decodeClientAddressed(body); // cookie, channel, SN, then the u16 event
    } catch {
      return; // a malformed typing notice is dropped silently
    }
    const ev = m.rest.length >= 2 ? (m.rest[0]! << 8) | m.rest[1]! : 0;
    this.emit('typing', { from: m.screenName, event: ev === 2 ? 'typing' : ev === 1 ? 'paused' : 'none' });
  }

  private incoming: Promise<void> = Promise.resolve();

  /**
   * Decodes and emits one ICBM delivery body (04/07), e.g. one kept by a spool. Deliveries are processed one at
   * a time, in order. `receivedAt` stands in for the time of live (not offline-stored) messages.
   */
  replay(body: Uint8Array, receivedAt?: Date): Promise<void> {
    const run = this.incoming.then(() => this.onIncomingIm(body, receivedAt)).catch((e: unknown) => this.warn(e));
    this.incoming = run;
    return run;
  }

  /**
   * From now on keep incoming IMs (raw 04/07 bodies, i.e. ciphertext) with `spool` instead of decoding them —
   * including ones already received but not yet emitted. One-shot sessions (send, trust, keys rotate) and a
   * `listen --count` that got its count use this, because the server deletes offline IMs once delivered.
   * `undefined` switches back to decoding.
   */
  spoolTo(spool: ((body: Uint8Array, receivedAt: Date) => void) | undefined): void {
    this.spool = spool;
  }

  private async onIncomingIm(body: Uint8Array, receivedAt?: Date): Promise<void> {
    if (this.spool) {
      this.spool(body, receivedAt ?? this.now());
      return;
    }
    const m = decodeIcbmChannelMsgToClient(body);
    if (m.channel !== IcbmChannel.Im) return;
    const from = m.sender.screenName;
    // Our own IM from another session: decoded with our certificates, checked as addressed to its recipient.
    const sentToBytes = m.tlvs.bytes(IcbmTlv.CERTIM_SENT_TO);
    const sentTo = sentToBytes !== undefined && normalizeScreenName(from) === normalizeScreenName(this.screenName) ? new TextDecoder().decode(sentToBytes) : undefined;
    const own = sentTo !== undefined ? { to: sentTo } : {};
    const data = m.tlvs.bytes(IcbmTlv.IM_DATA);
    if (!data) {
      this.emit('warning', new ClientError('PROTOCOL', `ignored an IM from ${from} that carried no message data (ICBM TLV 0x0002)`));
      return;
    }
    // A resend after a reconnect (or an offline IM delivered twice) carries the same cookie and bytes: show it
    // once, and say so. COMPAT joustsim: every IM has cookie 0, so a zero cookie identifies nothing and distinct
    // IMs must never be dropped on it (docs/protocol.md §3.4).
    if (m.cookie.some((b) => b !== 0)) {
      const key = `${normalizeScreenName(from)}:${toHex(m.cookie)}:${toHex(sha256(data))}`;
      if (this.recentDeliveries.has(key)) {
        this.emit('warning', new ClientError('DUPLICATE_DROPPED', `dropped a repeated delivery of an IM from ${from} (same ICBM cookie ${toHex(m.cookie)} and content)`));
        return;
      }
      this.recentDeliveries.set(key, Date.now());
      if (this.recentDeliveries.size > 1000) this.recentDeliveries.delete(this.recentDeliveries.keys().next().value!);
    }

    const offlineTs = m.tlvs.u32(0x0016);
    const offline = offlineTs !== undefined;
    const time = offline ? new Date(offlineTs * 1000) : receivedAt ?? this.now();
    const im = decodeImMessage(data);
    if (!isEncryptedIm(im)) {
      const text = im.parts.map((p) => decodeCharset(p.text, p.charset)).join('');
      this.emitIm({ from, text, secure: false, verdict: 'untrusted', trust: null, reason: 'sent without encryption', code: 'plaintext', time, offline, ...own });
      return;
    }
    const cms = im.parts[0]?.text ?? new Uint8Array(0);
    const id = this.opts.identity;
    if (!id) {
      this.emitIm({ from, text: '', secure: true, verdict: 'failed', trust: null, reason: 'an encrypted IM arrived but we have no keys', code: 'no-keys', time, offline, ...own });
      return;
    }
    // The sender's certificates: the cached ones if they match the hash in the sender's user info, else fetched.
    let senderHash: string | undefined;
    try {
      const h = m.sender.certInfoHash;
      senderHash = h ? toHex(h) : undefined;
    } catch {
      senderHash = undefined;
    }
    let certs: BuddyCerts | undefined;
    let certProblem: string | undefined;
    if (sentTo === undefined) {
      try {
        certs = await this.buddyCerts(from, false, senderHash);
      } catch (e) {
        certProblem = (e as Error).message;
      }
    }
    // A legacy message is a downgrade only when both sides announced the modern profile.
    const senderModern = (certs?.record.modern ?? false) && this.opts.announceModern !== false;
    const trust: TrustCallback = async (der, screenName, purpose) => {
      const v = await this.verifyCert(der, purpose === 'signing' ? 'sign' : 'encrypt', screenName);
      if (v.ok) return { ok: true };
      // Who, why and since when: the user must see that the signer's key was withdrawn.
      return { ok: false, code: v.code, reason: v.code === 'REVOKED' ? `${screenName}'s certificate was REVOKED: ${this.revocationText(der, v.reason)}` : v.reason };
    };
    const res = await this.codec.decode(cms, {
      recipientKeys: [
        { cert: id.encryption.certDer, key: id.encryption.privateKey },
        // COMPAT joscar/joustsim: classic clients envelope to the buddy's SIGNING cert (docs/protocol.md §6.2).
        { cert: id.signing.certDer, key: id.signing.privateKey },
        ...(id.previous ?? []).map((p) => ({ cert: p.certDer, key: p.privateKey })),
      ],
      senderScreenName: from,
      ...(certs ? { senderCerts: [certs.encryptionDer, certs.signingDer] } : {}),
      ...(sentTo !== undefined ? { senderCerts: [id.encryption.certDer, id.signing.certDer] } : {}),
      recipientScreenName: sentTo ?? this.screenName,
      trust,
      replayCache: this.replayCache,
      now: this.now(),
      requireModern: senderModern,
    });
    const verdict = res.verdict;
    let reason = res.reason;
    if (verdict !== 'verified' && certProblem) reason = `${reason} (${certProblem})`;
    const trustLvl: TrustLevel | null = verdict === 'verified' ? (certs ? trustLevel(certs.record) : 'ca') : null;
    this.emitIm({
      from,
      text: verdict === 'failed' ? '' : res.text ?? '',
      secure: true,
      verdict,
      trust: trustLvl,
      reason,
      code: res.code,
      ...(res.profile ? { profile: res.profile } : {}),
      ...(res.weak ? { weak: true } : {}),
      ...(res.profile === 'aim-legacy' ? { legacy: true } : {}),
      time,
      offline,
      ...own,
    });
  }

  /** Emits an IM, joining the parts of a long one first (long-message.ts); incomplete ones show after a timeout. */
  private emitIm(im: IncomingIm): void {
    for (const m of this.assembler.push(im)) this.emit('im', m);
    this.armPartTimer();
  }

  private armPartTimer(): void {
    if (this.assembler.pending === 0 || this.partTimer) return;
    this.partTimer = setTimeout(() => {
      this.partTimer = undefined;
      for (const m of this.assembler.expire()) this.emit('im', m);
      this.armPartTimer();
    }, 10_000);
    unref(this.partTimer);
  }

  // --- reconnect ---

  private onDisconnect(generation: number, err: Error | undefined): void {
    // Only the close of the live session counts: a connection that failed during sign-on is reported to the
    // caller of connect() (which schedules the retry). Reacting to both doubled the retries on every failure.
    if (generation !== this.liveGeneration) return;
    this.liveGeneration = -1;
    this.bos = undefined;
    const willReconnect = !this.closedByUser && this.opts.reconnect !== false;
    this.emit('disconnected', { error: err, willReconnect });
    if (willReconnect) this.scheduleReconnect();
    else if (!this.closedByUser) {
      for (const q of this.queue.splice(0)) q.reject(new ClientError('CONNECTION_CLOSED', `not sent to ${q.to}: connection lost`, { cause: err }));
    }
  }

  /** The delay before reconnect attempt `attempt` (1-based): capped exponential backoff with jitter. */
  reconnectDelay(attempt: number): number {
    const cfg = this.opts.reconnect || {};
    const initial = cfg.initialDelayMs ?? 1000;
    const max = cfg.maxDelayMs ?? 60_000;
    const base = Math.min(max, initial * 2 ** Math.min(attempt - 1, 30));
    const random = cfg.random ?? Math.random;
    return Math.round(base / 2 + random() * (base / 2)); // jitter so clients do not stampede
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer !== undefined) return; // one retry chain at a time
    const attempt = ++this.reconnectAttempt;
    const delayMs = this.reconnectDelay(attempt);
    this.emit('reconnecting', { attempt, delayMs });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closedByUser) return;
      this.connect().catch((e: unknown) => {
        this.warn(e);
        if (ClientError.is(e, 'LOGIN_FAILED') || ClientError.is(e, 'TLS_UNTRUSTED')) {
          // Retrying cannot fix a refused password or an untrusted server.
          this.closedByUser = true;
          for (const q of this.queue.splice(0)) q.reject(e as Error);
          this.emit('signed-off', { reason: (e as Error).message });
          return;
        }
        // Our certificate revoked or refused: queued IMs cannot go out securely; keep retrying slowly (new keys
        // enrolled from another terminal are picked up by a restart, and the server may be fixed meanwhile).
        if (ClientError.is(e, 'OWN_CERT_REVOKED') || ClientError.is(e, 'OWN_CERT_REFUSED')) {
          for (const q of this.queue.splice(0)) q.reject(e as Error);
        }
        this.scheduleReconnect();
      });
    }, delayMs);
  }
}

function splitCaps(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i + 16 <= b.length; i += 16) out.push(b.subarray(i, i + 16));
  return out;
}

function safeCaps(u: UserInfo): Uint8Array[] {
  try {
    return u.capabilities;
  } catch {
    return [];
  }
}

/** Plain channel-1 text: ASCII when it fits, else UTF-16BE (the charsets classic clients read). */
function encodePlainText(text: string): Uint8Array {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(text)) return encodeImMessage({ parts: [{ charset: ImCharset.Ascii, text: latin1Encode(text) }] });
  const b = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    b[2 * i] = c >>> 8;
    b[2 * i + 1] = c & 0xff;
  }
  return encodeImMessage({ parts: [{ charset: ImCharset.Utf16be, text: b }] });
}

const UTF8 = new TextDecoder('utf-8');
const UTF16BE = new TextDecoder('utf-16be');

function decodeCharset(bytes: Uint8Array, charset: number): string {
  if (charset === ImCharset.Utf16be) {
    return UTF16BE.decode(bytes.subarray(0, bytes.length & ~1));
  }
  if (charset === ImCharset.Latin1) return latin1Decode(bytes);
  return UTF8.decode(bytes);
}

/** True when two byte strings are equal (public data: certificates). */
function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** True for an ICBM 04/07 body on channel 2 (u64 cookie, then u16 channel). */
function isRendezvousDelivery(body: Uint8Array): boolean {
  return body.length >= 10 && ((body[8]! << 8) | body[9]!) === IcbmChannel.Rendezvous;
}
