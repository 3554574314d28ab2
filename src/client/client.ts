/**
 * CertimClient: one signed-on certim session. It signs on (sign-on.ts), publishes our certificates and
 * capabilities, tracks buddies' presence and certificates, sends and receives Secure IMs through the CMS codec,
 * and reconnects with backoff after a dropped connection without losing queued outgoing IMs.
 *
 * Security rules it enforces (issue 6):
 * - Never silently plaintext: `sendIm` encrypts whenever the buddy has a valid certificate; otherwise it fails
 *   with NO_BUDDY_CERT unless the caller allowed plaintext for that conversation (`allowPlaintext`).
 * - Buddy certificates are checked with the PKI verifier against the pinned CA before use, cached per buddy, and
 *   a changed certificate for a known buddy raises `key-change`.
 * - Plaintext of encrypted messages is never logged; the `log` hook only gets metadata.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ByteWriter, toHex } from '../wire/bytes.js';
import { capabilityBytes, capabilityToString, hasCapability } from '../wire/capabilities.js';
import { certInfoHash, decodeCertificateInfo, encryptionCert, signingCert } from '../wire/cert-info.js';
import { BUDDY_FAMILY, BuddySubtype, decodeUserInfoList, encodeScreenNameList } from '../wire/families/buddy.js';
import { ICBM_FAMILY, IcbmSubtype as IcbmSub, decodeClientAddressed, decodeHostAck, encodeClientAddressed } from '../wire/families/icbm.js';
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
import { normalizeScreenName, sameScreenName } from '../pki/screen-name.js';
import { verifyCertificate } from '../pki/verifier.js';
import { defaultCodec, type SecureImCodec } from './codec.js';
import { ClientError, snacErrorName } from './errors.js';
import { certInfoBlock, type Identity } from './identity.js';
import type { OscarConnection } from './oscar-connection.js';
import { signOn, type LoginMode } from './sign-on.js';
import { certFingerprint, identityFingerprint, trustLevel, updateRecord, type BuddyRecord, type BuddyStore, type KeyChange, type TrustLevel } from './trust.js';
import type { TransportFactory, TransportTarget } from './transport.js';

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
  /** Replay cache for modern messages (default in-memory). */
  replayCache?: ReplayCache;
  /** Reconnect after a dropped connection (default on: 1 s doubling to 30 s). `false` disables. */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number } | false;
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
}

interface QueuedIm {
  to: string;
  text: string;
  opts: SendImOptions;
  resolve(r: SendResult): void;
  reject(e: Error): void;
}

/** Verified certificates of a buddy, ready for encryption. */
export interface BuddyCerts {
  record: BuddyRecord;
  encryptionDer: Uint8Array;
  signingDer: Uint8Array;
  change?: KeyChange;
}

const CAP_SECURE_IM = capabilityBytes('SecureIm');
const CAP_MODERN = capabilityBytes('CertimModernSecureIm');

/** A certim session. See the file comment. */
export class CertimClient extends EventEmitter<CertimClientEvents> {
  private bos: OscarConnection | undefined;
  private connecting: Promise<void> | undefined;
  private closedByUser = false;
  private reconnectAttempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly queue: QueuedIm[] = [];
  private readonly presence = new Map<string, BuddyPresence>();
  private readonly watched = new Set<string>();
  private readonly recentCookies = new Map<string, number>();
  private readonly codec: SecureImCodec;
  private readonly replayCache: ReplayCache;
  private readonly now: () => Date;
  private readonly fetches = new Map<string, Promise<BuddyCerts | undefined>>();
  private spool: ((body: Uint8Array, receivedAt: Date) => void) | undefined;
  /** The screen name as the server formats it, once signed on. */
  screenName: string;

  constructor(private readonly opts: CertimClientOptions) {
    super();
    this.screenName = opts.screenName;
    this.codec = opts.codec ?? defaultCodec;
    this.replayCache = opts.replayCache ?? new MemoryReplayCache();
    this.now = opts.now ?? (() => new Date());
    for (const b of opts.buddies ?? []) this.watched.add(b);
    this.spool = opts.spool;
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
    const caps = id ? (this.opts.announceModern === false ? [CAP_SECURE_IM] : [CAP_SECURE_IM, CAP_MODERN]) : [];
    const { bos, screenName } = await signOn({
      screenName: this.opts.screenName,
      password: this.opts.password,
      server: this.opts.server,
      transport: this.opts.transport,
      ...(this.opts.mode ? { mode: this.opts.mode } : {}),
      capabilities: caps,
      ...(id ? { certInfo: certInfoBlock(id) } : {}),
      buddies: [...this.watched],
      ...(this.opts.requestTimeoutMs !== undefined ? { timeoutMs: this.opts.requestTimeoutMs } : {}),
      handlers: {
        onSnac: (snac) => this.onSnac(snac),
        onSignOff: (so) => {
          if (so.reason === SignOffReason.SignedOnElsewhere) this.closedByUser = true; // a takeover: do not fight it
        },
        onClose: (err) => this.onDisconnect(err),
      },
    });
    this.bos = bos;
    this.screenName = screenName;
    this.reconnectAttempt = 0;
    this.emit('signed-on', { screenName });
    void this.flushQueue();
  }

  /** Signs off and stops reconnecting. Queued IMs fail with SIGNED_OFF. */
  close(): void {
    this.closedByUser = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const bos = this.bos;
    this.bos = undefined;
    bos?.close();
    for (const q of this.queue.splice(0)) q.reject(new ClientError('SIGNED_OFF', `not sent to ${q.to}: signed off`));
    this.emit('signed-off', { reason: 'closed' });
  }

  /** Adds a buddy to watch (presence and certificates). */
  addBuddy(screenName: string): void {
    if ([...this.watched].some((w) => sameScreenName(w, screenName))) return;
    this.watched.add(screenName);
    if (this.connected) this.bos!.send(BUDDY_FAMILY, BuddySubtype.ADD_BUDDIES, encodeScreenNameList([screenName]));
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
   * acknowledged it (delivered, or stored for an offline buddy). While disconnected the IM is queued and sent
   * after the next sign-on.
   */
  sendIm(to: string, text: string, opts: SendImOptions = {}): Promise<SendResult> {
    if (this.closedByUser && !this.connected) return Promise.reject(new ClientError('SIGNED_OFF', 'the client is closed'));
    return new Promise<SendResult>((resolve, reject) => {
      this.queue.push({ to, text, opts, resolve, reject });
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
          const r = await this.sendNow(q.to, q.text, q.opts);
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

  private async sendNow(to: string, text: string, opts: SendImOptions): Promise<SendResult> {
    const bos = this.bos;
    if (!bos) throw new ClientError('CONNECTION_CLOSED', 'not signed on');
    const id = this.opts.identity;
    let certs: BuddyCerts | undefined;
    let refusal: ClientError | undefined;
    try {
      // The hash an online buddy announced tells whether the cached certificates are current; without one, ask.
      const seen = this.presence.get(normalizeScreenName(to));
      certs = await this.buddyCerts(to, false, seen?.online ? seen.certInfoHash : undefined);
      if (!certs) refusal = new ClientError('NO_BUDDY_CERT', `${to} has no certificate: a secure IM is impossible`);
    } catch (e) {
      if (!ClientError.is(e) || e.code === 'CONNECTION_CLOSED') throw e;
      refusal = e.code === 'NO_BUDDY_CERT' ? e : new ClientError('NO_BUDDY_CERT', `cannot get ${to}'s certificate: ${e.message}`, { cause: e });
    }
    if (certs && !id) refusal = new ClientError('NO_KEYS', 'we have no keys of our own: run `certim keys init` first');
    let imData: Uint8Array;
    let result: SendResult;
    if (certs && id) {
      const profile: SecureImProfile = certs.record.modern ? 'modern' : 'aim-legacy';
      const cms = await this.codec.encode({
        profile,
        text,
        sender: { screenName: this.screenName, signingKey: id.signing.privateKey, signingCert: id.signing.certDer, encryptionCert: id.encryption.certDer },
        recipient: { screenName: certs.record.screenName, cert: certs.encryptionDer },
        includeSelf: profile === 'modern',
        now: this.now(),
      });
      imData = encodeEncryptedImMessage(cms);
      result = { secure: true, profile, trust: trustLevel(certs.record), fingerprint: certs.record.fingerprint, ...(certs.change ? { keyChange: certs.change } : {}) };
    } else {
      if (!opts.allowPlaintext) {
        throw new ClientError('PLAINTEXT_REFUSED', `${refusal?.message ?? `cannot encrypt to ${to}`}; not sent (allow plaintext for this conversation explicitly to send it unencrypted)`, { cause: refusal });
      }
      imData = encodePlainText(text);
      result = { secure: false };
    }
    const cookie = randomBytes(8);
    const tlvs = [tlv(IcbmTlv.IM_DATA, imData), tlv(IcbmTlv.REQUEST_HOST_ACK)];
    if (opts.storeOffline ?? true) tlvs.push(tlv(IcbmTlv.STORE_OFFLINE));
    try {
      const reply = await bos.request(ICBM_FAMILY, IcbmSub.CHANNEL_MSG_TO_HOST, encodeIcbmChannelMsgToHost({ cookie, channel: IcbmChannel.Im, screenName: to, tlvs }), {
        ...(this.opts.requestTimeoutMs !== undefined ? { timeoutMs: this.opts.requestTimeoutMs } : {}),
      });
      if (reply.subtype !== IcbmSub.HOST_ACK) throw new ClientError('PROTOCOL', `expected a host ack, got SNAC 04/${reply.subtype}`);
      decodeHostAck(reply.body);
    } catch (e) {
      if (ClientError.is(e, 'SNAC_ERROR')) {
        if (e.snacError === SnacErrorCode.NotLoggedOn) throw new ClientError('BUDDY_OFFLINE', `${to} is not signed on and the server would not store the IM`, { snacError: e.snacError });
        throw new ClientError('SEND_FAILED', `IM to ${to} refused: ${snacErrorName(e.snacError ?? 0)}`, { snacError: e.snacError ?? 0 });
      }
      throw e;
    }
    return result;
  }

  /**
   * The buddy's verified certificates. Asks the server for the certificate-info block (02/15 flag 0x08) when the
   * cached one is not the current one (or `refresh`), verifies both certificates for the buddy's screen name,
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
    const cached = this.opts.buddyStore.get(screenName);
    if (cached && !refresh && knownHash !== undefined && cached.certInfoHash === knownHash) return this.fromRecord(cached);
    let block: Uint8Array | undefined;
    let caps: Uint8Array[] | undefined;
    let sn = screenName;
    const bos = this.bos;
    if (!bos) {
      if (cached) return this.fromRecord(cached);
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
        if (cached) return this.fromRecord(cached);
        throw new ClientError('NO_BUDDY_CERT', `${screenName} is unknown or not visible, and no certificate is cached`);
      }
      throw e;
    }
    if (!block || block.length === 0) return undefined;
    const hash = toHex(certInfoHash(block));
    const modern = caps.length > 0 ? hasCapability(caps, CAP_MODERN) : cached?.modern ?? false;
    if (cached && cached.certInfoHash === hash) {
      const rec = { ...cached, modern };
      if (rec.modern !== cached.modern) this.opts.buddyStore.put(rec);
      return this.fromRecord(rec);
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
    await this.verifyPair(sn, enc, sig);
    const { record, change } = updateRecord(cached, {
      screenName: sn,
      certInfoHash: hash,
      certInfo: Buffer.from(block).toString('base64'),
      fingerprint: identityFingerprint(enc, sig),
      encryptionFingerprint: certFingerprint(enc),
      signingFingerprint: certFingerprint(sig),
      modern,
    }, this.now());
    this.opts.buddyStore.put(record);
    if (change) this.emit('key-change', change);
    return { record, encryptionDer: enc, signingDer: sig, ...(change ? { change } : {}) };
  }

  private readonly verifiedAt = new Map<string, number>();

  /**
   * Checks both certificates for `screenName` with the PKI verifier against the pinned CA. Cached ones are
   * re-checked too (they expire, or get revoked in a refreshed CRL), at most once per 10 minutes per pair.
   */
  private async verifyPair(screenName: string, enc: Uint8Array, sig: Uint8Array): Promise<void> {
    const key = `${normalizeScreenName(screenName)}:${identityFingerprint(enc, sig)}`;
    const at = this.verifiedAt.get(key);
    if (at !== undefined && Date.now() - at < 600_000) return;
    for (const [der, purpose] of [[enc, 'encrypt'], [sig, 'sign']] as const) {
      const v = await this.verifyCert(der, purpose, screenName);
      if (!v.ok) throw new ClientError('NO_BUDDY_CERT', `${screenName}'s ${purpose === 'encrypt' ? 'encryption' : 'signing'} certificate is not valid: ${v.reason} (${v.code})`);
    }
    this.verifiedAt.set(key, Date.now());
  }

  /** One certificate for `screenName` under the pinned CA (root first in `caCerts`), at the client's clock. */
  private verifyCert(der: Uint8Array, purpose: 'encrypt' | 'sign', screenName: string): ReturnType<typeof verifyCertificate> {
    return verifyCertificate(der, { purpose, screenName, trustAnchors: this.opts.caCerts.slice(0, 1), intermediates: this.opts.caCerts.slice(1), now: this.now() });
  }

  private async fromRecord(rec: BuddyRecord): Promise<BuddyCerts | undefined> {
    const ci = decodeCertificateInfo(Buffer.from(rec.certInfo, 'base64'));
    const enc = encryptionCert(ci);
    const sig = signingCert(ci);
    if (!enc || !sig) return undefined;
    await this.verifyPair(rec.screenName, enc, sig);
    return { record: rec, encryptionDer: enc, signingDer: sig };
  }

  // --- incoming ---

  private onSnac(snac: Snac): void {
    try {
      if (snac.family === ICBM_FAMILY && snac.subtype === IcbmSub.CHANNEL_MSG_TO_CLIENT) {
        void this.replay(snac.body.slice(), this.now());
      } else if (snac.family === ICBM_FAMILY && snac.subtype === IcbmSub.CLIENT_EVENT) {
        this.onTyping(snac.body);
      } else if (snac.family === BUDDY_FAMILY && (snac.subtype === BuddySubtype.ARRIVED || snac.subtype === BuddySubtype.DEPARTED)) {
        for (const u of decodeUserInfoList(snac.body)) this.onPresence(u, snac.subtype === BuddySubtype.ARRIVED);
      }
    } catch (e) {
      this.warn(e);
    }
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
    const p: BuddyPresence = {
      screenName: u.screenName,
      online,
      away: online && u.isAway,
      capabilities: caps.map(capabilityToString),
      secureIm: hasCapability(caps, CAP_SECURE_IM),
      modern: hasCapability(caps, CAP_MODERN),
      certInfoHash: hash,
    };
    this.presence.set(normalizeScreenName(u.screenName), p);
    this.emit('buddy', p);
    // A new certificate hash for a buddy: fetch and verify now, so a key change shows before the next message.
    const cached = this.opts.buddyStore.get(u.screenName);
    if (online && hash !== undefined && cached?.certInfoHash !== hash) {
      void this.buddyCerts(u.screenName, true).catch((e: unknown) => this.warn(e));
    } else if (online && cached && cached.modern !== p.modern) {
      this.opts.buddyStore.put({ ...cached, modern: p.modern });
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
    // A resend after a reconnect carries the same cookie: show it once.
    const cookieKey = `${normalizeScreenName(from)}:${toHex(m.cookie)}`;
    if (this.recentCookies.has(cookieKey)) return;
    this.recentCookies.set(cookieKey, Date.now());
    if (this.recentCookies.size > 1000) this.recentCookies.delete(this.recentCookies.keys().next().value!);

    const offlineTs = m.tlvs.u32(0x0016);
    const offline = offlineTs !== undefined;
    const time = offline ? new Date(offlineTs * 1000) : receivedAt ?? this.now();
    const data = m.tlvs.bytes(IcbmTlv.IM_DATA);
    if (!data) return;
    const im = decodeImMessage(data);
    if (!isEncryptedIm(im)) {
      const text = im.parts.map((p) => decodeCharset(p.text, p.charset)).join('');
      this.emit('im', { from, text, secure: false, verdict: 'untrusted', trust: null, reason: 'sent without encryption', code: 'plaintext', time, offline, ...own });
      return;
    }
    const cms = im.parts[0]?.text ?? new Uint8Array(0);
    const id = this.opts.identity;
    if (!id) {
      this.emit('im', { from, text: '', secure: true, verdict: 'failed', trust: null, reason: 'an encrypted IM arrived but we have no keys', code: 'no-keys', time, offline, ...own });
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
    const trust: TrustCallback = async (cert, screenName, purpose) => {
      const v = await this.verifyCert(new Uint8Array(cert.raw), purpose === 'signing' ? 'sign' : 'encrypt', screenName);
      return v.ok ? { ok: true } : { ok: false, code: v.code, reason: v.reason };
    };
    const res = await this.codec.decode(cms, {
      recipientKeys: [
        { cert: id.encryption.certDer, key: id.encryption.privateKey },
        // COMPAT joscar/joustsim: classic clients envelope to the buddy's SIGNING cert (PROTOCOL.md §6.2).
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
    this.emit('im', {
      from,
      text: verdict === 'failed' ? '' : res.text ?? '',
      secure: true,
      verdict,
      trust: trustLvl,
      reason,
      code: res.code,
      ...(res.profile ? { profile: res.profile } : {}),
      ...(res.weak ? { weak: true } : {}),
      time,
      offline,
      ...own,
    });
  }

  // --- reconnect ---

  private onDisconnect(err: Error | undefined): void {
    if (!this.bos && !this.connecting) return;
    this.bos = undefined;
    const willReconnect = !this.closedByUser && this.opts.reconnect !== false;
    this.emit('disconnected', { error: err, willReconnect });
    if (willReconnect) this.scheduleReconnect();
    else if (!this.closedByUser) {
      for (const q of this.queue.splice(0)) q.reject(new ClientError('CONNECTION_CLOSED', `not sent to ${q.to}: connection lost`, { cause: err }));
    }
  }

  private scheduleReconnect(): void {
    const cfg = this.opts.reconnect || {};
    const initial = cfg.initialDelayMs ?? 1000;
    const max = cfg.maxDelayMs ?? 30_000;
    const attempt = ++this.reconnectAttempt;
    const base = Math.min(max, initial * 2 ** (attempt - 1));
    const delayMs = Math.round(base / 2 + Math.random() * (base / 2)); // jitter so clients do not stampede
    this.emit('reconnecting', { attempt, delayMs });
    this.reconnectTimer = setTimeout(() => {
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
  if (/^[\x00-\x7f]*$/.test(text)) return encodeImMessage({ parts: [{ charset: ImCharset.Ascii, text: Buffer.from(text, 'ascii') }] });
  const b = Buffer.from(text, 'utf16le');
  b.swap16();
  return encodeImMessage({ parts: [{ charset: ImCharset.Utf16be, text: b }] });
}

function decodeCharset(bytes: Uint8Array, charset: number): string {
  if (charset === ImCharset.Utf16be) {
    const b = Buffer.from(bytes.subarray(0, bytes.length & ~1));
    b.swap16();
    return b.toString('utf16le');
  }
  if (charset === ImCharset.Latin1) return Buffer.from(bytes).toString('latin1');
  return Buffer.from(bytes).toString('utf8');
}

