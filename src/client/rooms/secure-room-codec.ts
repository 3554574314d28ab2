/**
 * The secure-room codec (docs/protocol.md §7, §16): what the rooms transport calls to turn text into a room
 * message block and back, and to make and take the key blocks that ride in invitations (TLV 0x2713) and key
 * updates. One {@link SecureRoomState} per room; crypto in src/pki/cms/secure-room.ts. All methods are async so a
 * WebCrypto-shaped provider can replace node:crypto.
 *
 * Trust decisions (ARCHITECTURE.md, Client: secure rooms):
 * - a message is `verified` only when its signature checks with the sender's certificate, the signer is the
 *   screen name the server says sent it, the sender is a current member, and the PKI trusts the certificate;
 * - a key block is taken only when `verified` (an untrusted inviter's key is refused, not used);
 * - a member the server lists without our having a key is never given one implicitly: only an invitation does.
 */
import { ChatMessageTlv } from '../../wire/families/chat.js';
import { CONTENT_TYPE_SECURE, type MiniRoomInfo } from '../../wire/families/chat-nav.js';
import { tlv, tlvString, type Tlv } from '../../wire/tlv.js';
import { bytesEqual, decodeText } from '../../wire/bytes.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import { MemoryReplayCache, type ReplayCache } from '../../pki/cms/replay-cache.js';
import { prepareCertificate, type CertificateInput, type CmsCertificate } from '../../pki/cms/cms-certificate.js';
import type { TrustCallback } from '../../pki/cms/secure-im-types.js';
import {
  decodeRoomKeyBlock, decryptRoomMessage, encodeRoomKeyBlock, encryptRoomMessage, parseRoomMessage, type RoomKeyResult,
  type RoomMessageResult,
} from '../../pki/cms/secure-room.js';
import type { Identity } from '../identity.js';
import { NO_KEY_TEXT, SecureRoomState, type KeyDistribution, type RoomMember, type RoomMode } from './secure-room-state.js';

/** The raw message-block TLVs of one room message, in order (docs/protocol.md §3.8). */
export type SecureRoomMessageTlvs = readonly Tlv[];

/** Which room, and who the server says is in it. */
export interface SecureRoomContext {
  room: MiniRoomInfo;
  /** The room's name as bindings use it (the room cookie text). */
  roomName: string;
  members: readonly RoomMember[];
}

/** The verdict on a room message, shaped like the 1:1 IM verdict. */
export interface SecureRoomVerdict {
  verdict: 'verified' | 'untrusted' | 'failed';
  /** 'ok', a failure code (`no-key`, `not-a-member`, `tampered`, `replayed`, `wrong-epoch`, …) or a trust code. */
  code: string;
  reason: string;
  /** Present unless failed. */
  text?: string;
  epoch?: number;
  /** Room, epoch and sender were signed and matched. */
  bound?: boolean;
}

/** A member's published certificates and what it announced. */
export interface MemberKeys {
  /** Encryption (or common) certificate: the key block is wrapped to it. */
  encryptionCert: CertificateInput;
  /** Every certificate of the member (signature checks). */
  certs: CertificateInput[];
  /** Announced certim's secure-room capability. */
  certimRooms: boolean;
}

/** The certificate-info hash `screenName` announced as a member of the room, if any. */
function announcedHash(ctx: SecureRoomContext, screenName: string): string | undefined {
  const n = normalizeScreenName(screenName);
  return ctx.members.find((m) => normalizeScreenName(m.screenName) === n)?.certInfoHash;
}

/** What the codec needs from its host client. */
export interface SecureRoomCodecOptions {
  identity: Identity;
  trust: TrustCallback;
  /**
   * A member's certificates from its certificate-info block, or undefined when unknown. `certInfoHash` is the hash
   * the member announced in the room (when known): while it is unchanged the host may answer from its verified
   * cache instead of asking the server (docs/protocol.md §4.2).
   */
  keysOf(screenName: string, certInfoHash?: string): Promise<MemberKeys | undefined>;
  clock?: () => Date;
  replayCache?: ReplayCache;
  /** How long a message of a newer epoch waits for its key update (default 5 s). */
  keyWaitMs?: number;
}

/** A key block to send to one member (invitation or key update). */
export interface OutgoingKeyBlock {
  to: string;
  block: Uint8Array;
}

/** Replay ids are kept a little longer than an epoch may live (7 days), plus clock skew. */
const ROOM_REPLAY_WINDOW_MS = 8 * 24 * 3600_000;

/** Members whose prepared certificates are kept (a busy room's senders). */
const MAX_CACHED_MEMBERS = 1024;

function derOf(c: CertificateInput): Uint8Array {
  return c instanceof Uint8Array ? c : 'issuerAndSerial' in c ? c.der : c.raw;
}

/** See the file comment. */
export class SecureRoomCodec {
  /** The room content type (TLV 0x00DB and message-block TLV 0x0004). */
  readonly contentType = CONTENT_TYPE_SECURE;
  private readonly rooms = new Map<string, SecureRoomState>();
  private readonly clock: () => Date;
  private readonly replay: ReplayCache;
  private readonly keyWaitMs: number;
  /** Per member: its certificates as last prepared (parsed, fingerprinted, public key imported once). */
  private readonly memberCerts = new Map<string, CmsCertificate[]>();

  constructor(private readonly o: SecureRoomCodecOptions) {
    this.clock = o.clock ?? (() => new Date());
    this.replay = o.replayCache ?? new MemoryReplayCache({ windowMs: ROOM_REPLAY_WINDOW_MS });
    this.keyWaitMs = o.keyWaitMs ?? 5000;
  }

  private get self(): string {
    return this.o.identity.screenName;
  }

  /** The state of a room, if we hold or held a key for it. */
  state(roomName: string): SecureRoomState | undefined {
    return this.rooms.get(roomName);
  }

  /** Starts a secure room we created: a fresh key (certim mode unless `mode` says aim). */
  async createRoom(roomName: string, mode: RoomMode = 'certim'): Promise<SecureRoomState> {
    const s = await SecureRoomState.create(roomName, this.self, this.clock, { mode });
    this.rooms.set(roomName, s);
    return s;
  }

  private signer() {
    return { screenName: this.self, signingKey: this.o.identity.signing.privateKey, signingCert: this.o.identity.signing.certDer };
  }

  /** Builds the key blocks of one distribution for everyone in it but us. Members without known certificates are skipped (returned in `missing`). */
  private async blocksFor(ctx: SecureRoomContext, d: KeyDistribution, classic?: string): Promise<{ blocks: OutgoingKeyBlock[]; missing: string[] }> {
    const blocks: OutgoingKeyBlock[] = [];
    const missing: string[] = [];
    for (const to of d.keyholders) {
      if (normalizeScreenName(to) === normalizeScreenName(this.self)) continue;
      const keys = await this.o.keysOf(to, announcedHash(ctx, to));
      if (!keys) { missing.push(to); continue; }
      // A classic invitee reads only AIM's format (docs/protocol.md §16.1).
      const profile = classic !== undefined && normalizeScreenName(classic) === normalizeScreenName(to) ? 'aim' : d.mode;
      const block = await encodeRoomKeyBlock({
        profile, room: ctx.room, key: d.key, signer: this.signer(),
        recipient: { screenName: to, cert: keys.encryptionCert }, now: this.clock(),
        ...(profile === 'certim' ? { binding: { roomName: ctx.roomName, epoch: d.epoch, keyholders: d.keyholders } } : {}),
      });
      blocks.push({ to, block });
    }
    return { blocks, missing };
  }

  /**
   * Invites `invitee`: returns the block for it (TLV 0x2713) and, in certim mode, the key updates for the other
   * keyholders (the invitation starts a new epoch that names the invitee). A classic invitee gets the key in AIM's
   * format; the room moves to AIM mode when it joins (docs/protocol.md §16.1).
   */
  async invite(ctx: SecureRoomContext, invitee: string): Promise<{ invitation: Uint8Array; updates: OutgoingKeyBlock[] }> {
    const s = this.rooms.get(ctx.roomName);
    if (!s) throw new Error(`${NO_KEY_TEXT}: not a secure room we hold a key for`);
    const keys = await this.o.keysOf(invitee, announcedHash(ctx, invitee));
    if (!keys) throw new Error(`no certificates known for ${invitee}: cannot wrap the room key to them`);
    const d = await s.invite(invitee);
    const { blocks, missing } = await this.blocksFor(ctx, d, keys.certimRooms ? undefined : invitee);
    const mine = blocks.find((b) => normalizeScreenName(b.to) === normalizeScreenName(invitee));
    if (!mine) throw new Error(`could not wrap the room key to ${invitee}${missing.length ? ` (no certificates: ${missing.join(', ')})` : ''}`);
    return { invitation: mine.block, updates: blocks.filter((b) => b !== mine) };
  }

  /**
   * Takes an invitation's or key update's security block from `from`. Refused unless verified and the state's
   * rules allow it (docs/protocol.md §16.2). `roomName` is the name the transport resolved for the block's room.
   */
  async acceptKeyBlock(block: Uint8Array, from: string, roomName: string): Promise<{ ok: true; result: RoomKeyResult; state: SecureRoomState } | { ok: false; reason: string; result?: RoomKeyResult }> {
    const keys = await this.o.keysOf(from);
    const result = await decodeRoomKeyBlock(block, {
      recipientKeys: [this.o.identity.encryption, ...(this.o.identity.previous ?? [])].map((p) => ({ cert: p.certDer, key: p.privateKey })),
      recipientScreenName: this.self, senderScreenName: from, trust: this.o.trust,
      ...(keys ? { senderCerts: keys.certs } : {}),
    });
    if (result.verdict !== 'verified') return { ok: false, reason: `${result.verdict}: ${result.reason}`, result };
    if (result.binding && result.binding.roomName !== roomName) return { ok: false, reason: `key block is for room '${result.binding.roomName}', not '${roomName}'`, result };
    let s = this.rooms.get(roomName);
    if (!s) {
      s = new SecureRoomState(roomName, this.self, this.clock);
      this.rooms.set(roomName, s);
    }
    const r = s.acceptKey({
      from, profile: result.profile!, key: result.key!,
      ...(result.binding ? { epoch: result.binding.epoch, keyholders: result.binding.keyholders } : {}),
    });
    if (!r.ok) return { ok: false, reason: r.reason, result };
    return { ok: true, result, state: s };
  }

  /**
   * Applies a member list. When it makes a rekey due and we are the rekey leader, returns the key updates to
   * send; the caller sends them as it sends invitations.
   */
  async membersChanged(ctx: SecureRoomContext): Promise<{ updates: OutgoingKeyBlock[]; notes: string[] }> {
    const s = this.rooms.get(ctx.roomName);
    if (!s) return { updates: [], notes: [] };
    const change = s.setMembers(ctx.members);
    const notes: string[] = [];
    if (change.switchedToAim) notes.push(s.statusLine());
    if (change.droppedKey) notes.push(`room key dropped: ${change.droppedKey}`);
    return { updates: await this.rekeyIfDue(ctx), notes };
  }

  /** Rekeys when due (a keyholder left, epoch too old or too busy) and we are the leader; else nothing. */
  async rekeyIfDue(ctx: SecureRoomContext): Promise<OutgoingKeyBlock[]> {
    const s = this.rooms.get(ctx.roomName);
    if (!s || !s.rekeyDue() || !s.isRekeyLeader()) return [];
    const d = await s.rekey();
    return (await this.blocksFor(ctx, d)).blocks;
  }

  /** Rekeys now (after {@link SecureRoomState.exclude}: `/kick`), leader or not. */
  async rekeyNow(ctx: SecureRoomContext): Promise<OutgoingKeyBlock[]> {
    const s = this.rooms.get(ctx.roomName);
    if (!s) throw new Error(NO_KEY_TEXT);
    return (await this.blocksFor(ctx, await s.rekey())).blocks;
  }

  /** Encrypts `text` for the room: the message-block TLVs in AIM's order (docs/protocol.md §3.8, §7.3). */
  async encode(text: string, ctx: SecureRoomContext): Promise<SecureRoomMessageTlvs> {
    const s = this.rooms.get(ctx.roomName);
    if (!s) throw new Error(NO_KEY_TEXT);
    const k = s.sendingKey();
    if (!k.ok) throw new Error(k.reason);
    const body = await encryptRoomMessage({
      profile: s.mode, key: k.key, signer: this.signer(), text, now: this.clock(),
      binding: { roomName: ctx.roomName, epoch: k.epoch },
    });
    s.noteMessage(s.mode === 'certim' ? k.epoch : undefined);
    return [
      tlvString(ChatMessageTlv.CONTENT_TYPE, CONTENT_TYPE_SECURE),
      tlvString(ChatMessageTlv.CHARSET, 'us-ascii'),
      tlvString(ChatMessageTlv.LANGUAGE, 'en'),
      tlvString(ChatMessageTlv.CONTENT_ENCODING, 'binary'),
      tlv(ChatMessageTlv.BODY, body),
    ];
  }

  /**
   * The sender's certificates prepared for the signature check, reused while `keysOf` returns the same bytes: the
   * host hands out fresh arrays per call, and preparing one from scratch hashes it (SHA-256 in JS) and parses it.
   * A byte comparison per message keeps this exact: a member's new certificate is prepared at its first message.
   */
  private preparedCerts(member: string, certs: CertificateInput[]): CertificateInput[] {
    const k = normalizeScreenName(member);
    const hit = this.memberCerts.get(k);
    if (hit && hit.length === certs.length && hit.every((c, i) => bytesEqual(c.der, derOf(certs[i]!)))) return hit;
    let prepared: CmsCertificate[];
    try {
      prepared = certs.map((c) => prepareCertificate(c));
    } catch {
      return certs; // undecodable: the decoder reports it as it always did
    }
    this.memberCerts.delete(k);
    if (this.memberCerts.size >= MAX_CACHED_MEMBERS) this.memberCerts.delete(this.memberCerts.keys().next().value!);
    this.memberCerts.set(k, prepared);
    return prepared;
  }

  /** Decrypts and judges one room message from `sender` (never rejects). */
  async decode(msg: SecureRoomMessageTlvs, ctx: SecureRoomContext, sender: string): Promise<SecureRoomVerdict> {
    const ct = msg.find((t) => t.type === ChatMessageTlv.CONTENT_TYPE);
    const body = msg.find((t) => t.type === ChatMessageTlv.BODY);
    if (!ct || decodeText(ct.value).toLowerCase() !== CONTENT_TYPE_SECURE) {
      // Never fall back to showing plaintext in a secure room.
      return { verdict: 'failed', code: 'not-encrypted', reason: 'a plaintext message in a secure room (not shown)' };
    }
    if (!body) return { verdict: 'failed', code: 'malformed', reason: 'message block without a body' };
    const s = this.rooms.get(ctx.roomName);
    if (!s) return { verdict: 'failed', code: 'no-key', reason: NO_KEY_TEXT };
    if (!ctx.members.some((m) => normalizeScreenName(m.screenName) === normalizeScreenName(sender))) {
      return { verdict: 'failed', code: 'not-a-member', reason: `${sender} is not a current member of the room` };
    }
    let epoch: number | undefined;
    try {
      epoch = parseRoomMessage(body.value).epoch;
    } catch {
      epoch = undefined; // the decoder reports it
    }
    if (epoch !== undefined && epoch > s.epoch && s.mode === 'certim') await s.waitForEpoch(epoch, this.keyWaitMs);
    const keys = await this.o.keysOf(sender, announcedHash(ctx, sender));
    const r: RoomMessageResult = await decryptRoomMessage(body.value, {
      keyFor: (e) => s.keyFor(e), senderScreenName: sender, trust: this.o.trust, roomName: ctx.roomName,
      requireCertim: s.mode === 'certim', replayCache: this.replay, now: this.clock(),
      ...(keys ? { senderCerts: this.preparedCerts(sender, keys.certs) } : {}),
    });
    if (r.verdict !== 'failed') s.noteMessage(r.epoch);
    return {
      verdict: r.verdict, code: r.code, reason: r.reason,
      ...(r.text !== undefined ? { text: r.text } : {}),
      ...(r.epoch !== undefined ? { epoch: r.epoch } : {}),
      ...(r.bound !== undefined ? { bound: r.bound } : {}),
    };
  }
}
