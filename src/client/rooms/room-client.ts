/**
 * Chat rooms for a signed-on {@link CertimClient} (docs/protocol.md §3.6–3.8, §7, §15): create or find a room
 * through ChatNav, join it on its own chat connection, keep its member list, send and receive its messages through
 * the room's codec (room-codec.ts, THE SEAM), leave, and invite buddies (ICBM channel 2).
 *
 * - Create: a ChatNav connection (`01/04` 0x000D), `0D/08` on exchange 4 with cookie `create`, instance 0xFFFF and
 *   the room TLVs 0x00D3 name, 0x00D6 `us-ascii`, 0x00D7 `en`, 0x00DB content type; the `0D/09` room info names the
 *   room — the server's create-or-join returns an existing room with ITS content type, so asking for a secure room
 *   and getting a plain one is refused (ROOM_CONTENT_TYPE), never joined in plaintext. Find: `0D/04` with the
 *   room's AOL cookie `!aol://2719:10-4-<name>` (0x14 = no such room: ROOM_NOT_FOUND).
 * - Join: the codec is chosen from the room's 0x00DB before anything else (an unknown content type is
 *   ROOM_CONTENT_TYPE); then `01/04` 0x000E with TLV 0x0001 = mini room info, the redirect, the chat connection
 *   (service-connection.ts). `0E/03` / `0E/04` keep the member list (each member's capabilities and certificate
 *   hash: `certim` marks certim clients); `0E/02` updates the room info.
 * - Messages: `send` asks the codec for the message-block TLVs and writes them in order as TLV 0x0005 of `0E/05`
 *   (0x0001 public, 0x0006 reflect); it resolves when the server reflects the message back (same 8-byte cookie) and
 *   rejects with SEND_FAILED on a `0E/01` (e.g. too long) or TIMEOUT. Each `0E/06` from someone else goes to the
 *   codec with every message-block TLV as it arrived; the verdict is emitted with the text and the raw TLVs. A
 *   secure room without a secure codec: messages are `failed` (`no-secure-codec`), sending is
 *   ROOM_CODEC_UNAVAILABLE.
 * - Leave: closes the chat connection (the server tells the others with `0E/04`).
 * - Invitations: `invite` sends the channel-2 proposal (the codec may add the security block 0x2713), asking for a
 *   host ack and never for offline storage; incoming ones are `invitation` events; `accept` hands the security
 *   block to the codec, then joins.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ByteWriter, encodeText, toHex } from '../../wire/bytes.js';
import { capabilityBytes, capabilityToString, hasCapability } from '../../wire/capabilities.js';
import {
  CHATNAV_FAMILY, ChatNavSubtype, CREATE_COOKIE, INSTANCE_LAST, MiniRoomInfo, NavInfoTlv, RoomTlv, cookieText, decodeRoomInfo,
  parseRoomCookie, roomCookie, writeMiniRoomInfo, type RoomInfo,
} from '../../wire/families/chat-nav.js';
import { CHAT_CHANNEL, CHAT_FAMILY, ChatSubtype, ChatTlv, decodeChatMsgToClient, encodeChatMsgToHost } from '../../wire/families/chat.js';
import { OSERVICE_FAMILY } from '../../wire/families/oservice.js';
import { ByteReader } from '../../wire/bytes.js';
import { decodeSnacError, type Snac } from '../../wire/snac.js';
import { decodeTlvRestList, tlv, tlvString, writeTlvRestList, type Tlv } from '../../wire/tlv.js';
import { readUserInfo, type UserInfo } from '../../wire/user-info.js';
import { normalizeScreenName, sameScreenName } from '../../pki/screen-name.js';
import type { CertimClient } from '../client.js';
import { ClientError, snacErrorName } from '../errors.js';
import type { OscarConnection } from '../oscar-connection.js';
import { encodeInvitationBlock, invitationFrom, type RoomInvitation } from './invitation.js';
import type { RendezvousMessage } from '../../wire/rendezvous.js';
import {
  CONTENT_TYPE_PLAIN, CONTENT_TYPE_SECURE, baseContentType, decodeMessageBlock, defaultRoomCodecs, encodeMessageBlock, failedVerdict,
  type RoomCodecs, type RoomCodecWithHooks, type RoomContext, type RoomMember, type RoomMessageTlvs, type RoomMessageVerdict,
} from './room-codec.js';
import { openServiceConnection, ROOM_SERVICE_TLV } from './service-connection.js';

/** The exchange of user-created rooms (docs/protocol.md §3.6). */
export const ROOM_EXCHANGE = 4;

/** A room as ChatNav describes it. */
export interface RoomDescription {
  exchange: number;
  name: string;
  cookie: string;
  instance: number;
  /** Room TLV 0x00DB (`text/x-aolrtf` when the server sent none). */
  contentType: string;
  /** The room's TLVs as the server sent them. */
  tlvs: readonly Tlv[];
}

/** One room message as the user sees it. */
export interface RoomMessage extends RoomMessageVerdict {
  /** Room name. */
  room: string;
  /** Sender. */
  from: string;
  /** The text ('' when `failed`). */
  text: string;
  /** Received at. */
  time: Date;
  /** Sent as a whisper (no TLV 0x0001). */
  whisper: boolean;
  /** Every message-block TLV as it arrived. */
  tlvs: RoomMessageTlvs;
}

/** Events of a joined room. */
export interface ChatRoomEvents {
  /** The member list changed; `members` is the whole list. */
  members: [{ members: RoomMember[]; joined: RoomMember[]; left: RoomMember[] }];
  message: [RoomMessage];
  /** A problem that did not close the room (a malformed SNAC, a codec hook failure). */
  warning: [ClientError];
  /** The chat connection ended (`leave`, or the server closed it). */
  closed: [{ error: Error | undefined; byUser: boolean }];
}

const CAP_SECURE_IM = capabilityBytes('SecureIm');
const CAP_MODERN = capabilityBytes('CertimModernSecureIm');
const SEND_TIMEOUT_MS = 15_000;
/** Members kept per room (a server's max occupancy is far below; docs/protocol.md §3.6 0x00D2). */
const MAX_MEMBERS = 5000;

/** A member of a room from its user-info block (docs/protocol.md §4). */
export function memberFromUserInfo(u: UserInfo, raw: Uint8Array): RoomMember {
  let caps: Uint8Array[] = [];
  try {
    caps = u.capabilities;
  } catch {
    caps = [];
  }
  let hash: string | undefined;
  try {
    const h = u.certInfoHash;
    hash = h ? toHex(h) : undefined;
  } catch {
    hash = undefined;
  }
  return {
    screenName: u.screenName, capabilities: caps.map(capabilityToString), secureIm: hasCapability(caps, CAP_SECURE_IM),
    certim: hasCapability(caps, CAP_MODERN), certInfoHash: hash, userInfo: raw,
  };
}

/** Reads the user-info blocks of `0E/03` / `0E/04`, each with its raw bytes. */
function readMembers(body: Uint8Array): RoomMember[] {
  const r = new ByteReader(body);
  const out: RoomMember[] = [];
  while (r.remaining > 0 && out.length < 1000) {
    const start = r.offset;
    const u = readUserInfo(r);
    out.push(memberFromUserInfo(u, body.slice(start, r.offset)));
  }
  return out;
}

/** The room description of a room-info structure (docs/protocol.md §3.6). */
export function describeRoom(info: RoomInfo): RoomDescription {
  const cookie = cookieText(info.cookie);
  const name = info.tlvs.string(RoomTlv.NAME) ?? parseRoomCookie(cookie)?.name ?? cookie;
  return {
    exchange: info.exchange, cookie, instance: info.instance, name,
    contentType: info.tlvs.string(RoomTlv.CONTENT_TYPE) ?? CONTENT_TYPE_PLAIN,
    tlvs: [...info.tlvs].map((t) => ({ type: t.type, value: t.value.slice(), offset: -1 })),
  };
}

/** A joined room: one chat connection. Create with {@link RoomClient.join}. */
export class ChatRoom extends EventEmitter<ChatRoomEvents> {
  private readonly memberMap = new Map<string, RoomMember>();
  private readonly pendingSends = new Map<string, { resolve(): void; reject(e: Error): void; timer: ReturnType<typeof setTimeout>; requestId: number }>();
  private incoming: Promise<void> = Promise.resolve();
  private closedByUser = false;
  private ended = false;
  /** Set when the server's first `0E/03` arrived (the member list is complete from then on). */
  readonly listed: Promise<void>;
  private resolveListed!: () => void;

  constructor(
    readonly description: RoomDescription,
    private readonly conn: OscarConnection,
    private readonly codec: RoomCodecWithHooks | undefined,
    private readonly me: () => string,
    private readonly now: () => Date = () => new Date(),
  ) {
    super();
    this.listed = new Promise((r) => {
      this.resolveListed = r;
    });
  }

  /** Room name. */
  get name(): string {
    return this.description.name;
  }

  /** The room's content type (0x00DB). */
  get contentType(): string {
    return this.description.contentType;
  }

  /** True for an `application/pkcs7-mime` room (docs/protocol.md §7.1). */
  get secure(): boolean {
    return baseContentType(this.description.contentType) === CONTENT_TYPE_SECURE;
  }

  /** A codec for this room's content type is available (false: a secure room joined without the secure codec). */
  get readable(): boolean {
    return this.codec !== undefined;
  }

  /** True until the chat connection ends. */
  get open(): boolean {
    return !this.ended;
  }

  /** Members, in the order they were listed. */
  members(): RoomMember[] {
    return [...this.memberMap.values()];
  }

  /** The codec's key status for a member (`-` for a plain room or a codec without the hook). */
  keyStatus(member: RoomMember): string {
    if (!this.codec?.memberKeyStatus) return this.secure && !this.codec ? 'no codec' : '-';
    try {
      return this.codec.memberKeyStatus(member, this.context());
    } catch {
      return '?';
    }
  }

  /** What the codec sees of the room right now. */
  context(): RoomContext {
    const d = this.description;
    return { exchange: d.exchange, name: d.name, cookie: d.cookie, instance: d.instance, contentType: d.contentType, me: this.me(), members: this.members() };
  }

  /** The codec hooks (for /kick and invitations). */
  get codecHooks(): RoomCodecWithHooks | undefined {
    return this.codec;
  }

  /**
   * Sends `text` to the room. Resolves once the server reflected it (it reached the room); rejects with
   * ROOM_CODEC_UNAVAILABLE (secure room, no secure codec: nothing sent), NOT_IN_ROOM, SEND_FAILED or TIMEOUT.
   */
  async send(text: string): Promise<void> {
    if (!this.codec) throw new ClientError('ROOM_CODEC_UNAVAILABLE', `secure rooms are not available in this client: nothing was sent to ${this.name} (it would have been plaintext)`);
    if (this.ended || this.conn.isClosed) throw new ClientError('NOT_IN_ROOM', `not in room ${this.name}`);
    if (text === '') throw new ClientError('EMPTY_MESSAGE', 'nothing to send: the message is empty');
    const tlvs = await this.codec.encode(text, this.context());
    const block = encodeMessageBlock(tlvs);
    const cookie = randomBytes(8);
    const key = toHex(cookie);
    const body = encodeChatMsgToHost({ cookie, channel: CHAT_CHANNEL, tlvs: [tlv(ChatTlv.PUBLIC), tlv(ChatTlv.MESSAGE, block), tlv(ChatTlv.REFLECT)] });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingSends.delete(key);
        reject(new ClientError('TIMEOUT', `${this.name}: the server did not confirm the message within ${SEND_TIMEOUT_MS / 1000} s`));
      }, SEND_TIMEOUT_MS);
      let requestId: number;
      try {
        requestId = this.conn.send(CHAT_FAMILY, ChatSubtype.CHANNEL_MSG_TO_HOST, body);
      } catch (e) {
        clearTimeout(timer);
        reject(e as Error);
        return;
      }
      this.pendingSends.set(key, { resolve, reject, timer, requestId });
    });
  }

  /** Leaves the room (closes its chat connection). */
  leave(): void {
    this.closedByUser = true;
    this.conn.close();
    this.onClose(undefined);
  }

  /** @internal The chat connection's unsolicited SNACs. */
  onSnac(s: Snac): void {
    try {
      if (s.family === CHAT_FAMILY) {
        switch (s.subtype) {
          case ChatSubtype.USERS_JOINED:
            return this.onMembers(readMembers(s.body), true);
          case ChatSubtype.USERS_LEFT:
            return this.onMembers(readMembers(s.body), false);
          case ChatSubtype.ROOM_INFO_UPDATE: {
            const d = describeRoom(decodeRoomInfo(s.body));
            if (baseContentType(d.contentType) !== baseContentType(this.description.contentType)) {
              this.emit('warning', new ClientError('PROTOCOL', `room ${this.name}: the server now says content type ${d.contentType} (was ${this.description.contentType}); keeping ${this.description.contentType}`));
            }
            return;
          }
          case ChatSubtype.CHANNEL_MSG_TO_CLIENT:
            return this.onMessage(s.body);
          case ChatSubtype.ERROR:
            return this.onError(s);
          default:
            return;
        }
      }
      if (s.family === OSERVICE_FAMILY && s.subtype === 0x01) this.onError(s);
    } catch (e) {
      this.emit('warning', ClientError.is(e) ? e : new ClientError('PROTOCOL', `room ${this.name}: ${(e as Error).message}`, { cause: e }));
    }
  }

  private onError(s: Snac): void {
    let code = 0;
    try {
      code = decodeSnacError(s.body).code;
    } catch {
      code = 0;
    }
    for (const [key, p] of this.pendingSends) {
      if (p.requestId === s.requestId) {
        this.pendingSends.delete(key);
        clearTimeout(p.timer);
        p.reject(new ClientError('SEND_FAILED', `${this.name}: message refused (${snacErrorName(code)})`, { snacError: code }));
        return;
      }
    }
    this.emit('warning', new ClientError('SNAC_ERROR', `room ${this.name}: ${snacErrorName(code)}`, { snacError: code }));
  }

  private onMembers(list: RoomMember[], joined: boolean): void {
    const changed: RoomMember[] = [];
    for (const m of list) {
      const k = normalizeScreenName(m.screenName);
      if (joined) {
        if (!this.memberMap.has(k)) {
          // A room holds at most a few hundred (its 0x00D2); a server listing more is not believed without bound.
          if (this.memberMap.size >= MAX_MEMBERS) {
            this.emit('warning', new ClientError('PROTOCOL', `room ${this.name}: more than ${MAX_MEMBERS} members listed; ignoring the rest`));
            break;
          }
          changed.push(m);
        }
        this.memberMap.set(k, m);
      } else if (this.memberMap.delete(k)) {
        changed.push(m);
      }
    }
    if (joined) this.resolveListed();
    const change = { joined: joined ? changed : [], left: joined ? [] : changed };
    this.emit('members', { members: this.members(), ...change });
    if (this.codec?.membersChanged && changed.length > 0) {
      this.codec.membersChanged(change, this.context()).catch((e: unknown) => this.emit('warning', new ClientError('PROTOCOL', `room ${this.name}: ${(e as Error).message}`, { cause: e })));
    }
  }

  private onMessage(body: Uint8Array): void {
    const m = decodeChatMsgToClient(body);
    const key = toHex(m.cookie);
    const senderBytes = m.tlvs.bytes(ChatTlv.SENDER_INFO);
    const sender = senderBytes ? readUserInfo(new ByteReader(senderBytes)).screenName : '';
    const pending = this.pendingSends.get(key);
    if (pending && sameScreenName(sender, this.me())) {
      // Our own message reflected (0x0006): it reached the room.
      this.pendingSends.delete(key);
      clearTimeout(pending.timer);
      pending.resolve();
      return;
    }
    const block = m.tlvs.bytes(ChatTlv.MESSAGE);
    const whisper = !m.tlvs.has(ChatTlv.PUBLIC);
    const time = this.now();
    let tlvs: RoomMessageTlvs = [];
    let bad: RoomMessageVerdict | undefined;
    if (!block) bad = failedVerdict('bad-block', 'the message carries no message block (TLV 0x0005)', this.secure);
    else {
      try {
        tlvs = decodeMessageBlock(block).map((t) => ({ type: t.type, value: t.value.slice() }));
      } catch (e) {
        bad = failedVerdict('bad-block', `unreadable message block: ${(e as Error).message}`, this.secure);
      }
    }
    const ctx = this.context();
    // One message at a time, in order (a codec may be slow; the room's order is kept).
    this.incoming = this.incoming.then(async () => {
      let v: RoomMessageVerdict;
      if (bad) v = bad;
      else if (!this.codec) v = failedVerdict('no-secure-codec', 'secure room: this client cannot read its messages (no secure-room codec)', true);
      else {
        try {
          v = await this.codec.decode(tlvs, ctx, sender);
        } catch (e) {
          v = failedVerdict('codec-error', `the room codec failed: ${(e as Error).message}`, this.secure);
        }
      }
      const text = v.verdict === 'failed' ? '' : v.text ?? '';
      this.emit('message', { ...v, text, room: this.name, from: sender, time, whisper, tlvs });
    }).catch((e: unknown) => {
      this.emit('warning', new ClientError('PROTOCOL', (e as Error).message, { cause: e }));
    });
  }

  /** @internal */
  onClose(err: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    for (const p of this.pendingSends.values()) {
      clearTimeout(p.timer);
      p.reject(new ClientError('NOT_IN_ROOM', `${this.name}: the room connection closed before the message was confirmed`, { cause: err }));
    }
    this.pendingSends.clear();
    this.resolveListed();
    try {
      this.codec?.left?.(this.context());
    } catch (e) {
      this.emit('warning', new ClientError('PROTOCOL', `room ${this.name}: ${(e as Error).message}`, { cause: e }));
    }
    this.emit('closed', { error: err, byUser: this.closedByUser });
  }
}

/** Events of a {@link RoomClient}. */
export interface RoomClientEvents {
  invitation: [RoomInvitation];
  warning: [ClientError];
}

/** Options of {@link RoomClient}. */
export interface RoomClientOptions {
  /** Codecs by content type (default: plain rooms only). */
  codecs?: RoomCodecs;
  /** Clock (tests). */
  now?: () => Date;
}

/** Rooms of one signed-on client. See the file comment. */
export class RoomClient extends EventEmitter<RoomClientEvents> {
  readonly codecs: RoomCodecs;
  private readonly rooms = new Map<string, ChatRoom>();
  private readonly now: () => Date;
  private readonly onRendezvous = ({ from, message }: { from: string; message: RendezvousMessage }): void => {
    try {
      const inv = invitationFrom(from, message);
      if (!inv) return;
      // A secure codec takes key updates for rooms it holds a key for (docs/protocol.md §16.2); the rest are invitations.
      const secure = this.codecs.lookup(CONTENT_TYPE_SECURE);
      const hook = secure.kind === 'codec' && inv.securityBlock ? secure.codec.takeKeyUpdate?.bind(secure.codec) : undefined;
      if (!hook) {
        this.emit('invitation', inv);
        return;
      }
      hook(inv).then((taken) => {
        if (!taken) this.emit('invitation', inv);
      }, (e: unknown) => this.emit('warning', new ClientError('PROTOCOL', `room key update from ${inv.peer}: ${(e as Error).message}`, { cause: e })));
    } catch (e) {
      this.emit('warning', new ClientError('PROTOCOL', `ignored a malformed room invitation: ${(e as Error).message}`, { cause: e }));
    }
  };

  constructor(private readonly client: CertimClient, opts: RoomClientOptions = {}) {
    super();
    this.codecs = opts.codecs ?? defaultRoomCodecs();
    this.now = opts.now ?? (() => new Date());
    client.on('rendezvous', this.onRendezvous);
  }

  /** Rooms joined and still open. */
  joined(): ChatRoom[] {
    return [...this.rooms.values()].filter((r) => r.open);
  }

  /** A joined room by name. */
  room(name: string): ChatRoom | undefined {
    const r = this.rooms.get(roomKey(name));
    return r?.open ? r : undefined;
  }

  /** Stops listening for invitations and leaves every room. */
  close(): void {
    this.client.off('rendezvous', this.onRendezvous);
    for (const r of this.rooms.values()) if (r.open) r.leave();
    this.rooms.clear();
  }

  /**
   * Creates the room `name` (or finds it, when it exists: its own content type wins) through ChatNav. `secure`
   * asks for `application/pkcs7-mime` and needs a secure codec; a result of another content type than asked is
   * ROOM_CONTENT_TYPE.
   */
  async create(name: string, opts: { secure?: boolean; contentType?: string } = {}): Promise<RoomDescription> {
    const contentType = opts.contentType ?? (opts.secure ? CONTENT_TYPE_SECURE : CONTENT_TYPE_PLAIN);
    this.codecFor(contentType, name); // refuses before creating anything we could not use
    const w = new ByteWriter(256);
    writeMiniRoomInfo(w, { exchange: ROOM_EXCHANGE, cookie: encodeText(CREATE_COOKIE), instance: INSTANCE_LAST }).u8(1);
    const tlvs = [tlvString(RoomTlv.NAME, name), tlvString(RoomTlv.CHARSET1, 'us-ascii'), tlvString(RoomTlv.LANGUAGE1, 'en'), tlvString(RoomTlv.CONTENT_TYPE, contentType)];
    w.u16(tlvs.length);
    writeTlvRestList(w, tlvs);
    const d = await this.nav(ChatNavSubtype.CREATE_ROOM, w.finish(), name);
    if (baseContentType(d.contentType) !== baseContentType(contentType)) {
      throw new ClientError('ROOM_CONTENT_TYPE', `room ${d.name} already exists as a ${describeType(d.contentType)} room, not a ${describeType(contentType)} one`);
    }
    return d;
  }

  /** Finds an existing room by name (exchange 4) or by its AOL cookie (`!aol://…`); ROOM_NOT_FOUND when none. */
  async find(nameOrCookie: string): Promise<RoomDescription> {
    const cookie = nameOrCookie.startsWith('!aol://') ? nameOrCookie : roomCookie(ROOM_EXCHANGE, nameOrCookie);
    const exchange = parseRoomCookie(cookie)?.exchange ?? ROOM_EXCHANGE;
    const w = new ByteWriter(160);
    writeMiniRoomInfo(w, { exchange, cookie: encodeText(cookie), instance: 0 }).u8(2);
    return this.nav(ChatNavSubtype.ROOM_INFO_QUERY, w.finish(), nameOrCookie);
  }

  /**
   * Joins a room (a description from create/find, or a name: found first). Resolves once the server listed the
   * members. ROOM_CONTENT_TYPE for a content type no codec knows (nothing is opened); a secure room without the
   * secure codec is joined read-only (messages `failed`, sending refused).
   */
  async join(room: RoomDescription | string): Promise<ChatRoom> {
    const d = typeof room === 'string' ? await this.find(room) : room;
    const codec = this.codecFor(d.contentType, d.name, true);
    const existing = this.room(d.name);
    if (existing) return existing;
    const svc = await openServiceConnection(this.client, CHAT_FAMILY, [tlv(ROOM_SERVICE_TLV, MiniRoomInfo.encode({ exchange: d.exchange, cookie: encodeText(d.cookie), instance: d.instance }))])
      .catch((e: unknown) => {
        throw roomRefusal(e, d.name);
      });
    const r = new ChatRoom(d, svc.conn, codec, () => this.client.screenName, this.now);
    svc.attach({ onSnac: (s) => r.onSnac(s), onClose: (err) => r.onClose(err) });
    this.rooms.set(roomKey(d.name), r);
    r.once('closed', () => {
      if (this.rooms.get(roomKey(d.name)) === r) this.rooms.delete(roomKey(d.name));
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), 15_000);
    });
    const got = await Promise.race([r.listed, timedOut]);
    clearTimeout(timer);
    if (got === 'timeout') {
      r.leave();
      throw new ClientError('TIMEOUT', `room ${d.name}: the server did not list the members within 15 s`);
    }
    if (!r.open) throw new ClientError('NOT_IN_ROOM', `the server closed the connection to room ${d.name} while joining (full, or gone)`);
    if (codec?.joined) {
      try {
        await codec.joined(r.context());
      } catch (e) {
        r.leave();
        throw e;
      }
    }
    return r;
  }

  /**
   * Invites `buddy` to a joined room (ICBM channel 2, docs/protocol.md §7.2). In a secure room the codec writes the
   * security block (0x2713); without one the invitation still names the room (0x0011 set) but carries no key.
   * Rejects with SEND_FAILED / NO_SUCH_USER when the server refuses it (an invitation is never stored offline:
   * an offline buddy is 0x04).
   */
  async invite(room: ChatRoom, buddy: string, text = `Join me in ${room.name}`): Promise<void> {
    const securityBlock = room.secure ? await room.codecHooks?.invitationSecurityBlock?.(buddy, room.context()) : undefined;
    await this.inviteTo(room.description, buddy, text, securityBlock);
  }

  /**
   * Invites `buddy` to a room this client need not be in (a plain room found with `find`); `securityBlock` is the
   * secure codec's 0x2713, sent as given. Errors as {@link invite}.
   */
  async inviteTo(d: RoomDescription, buddy: string, text = `Join me in ${d.name}`, securityBlock?: Uint8Array): Promise<void> {
    const block = encodeInvitationBlock({
      cookie: randomBytes(8), room: { exchange: d.exchange, cookie: d.cookie, instance: d.instance },
      text, secure: baseContentType(d.contentType) === CONTENT_TYPE_SECURE, ...(securityBlock ? { securityBlock } : {}),
    });
    try {
      // ICBM channel 2 with a host ack and no store-offline TLV: an offline buddy is BUDDY_OFFLINE.
      await this.client.sendRendezvous(buddy, block);
    } catch (e) {
      if (ClientError.is(e, 'BUDDY_OFFLINE')) throw new ClientError('BUDDY_OFFLINE', `${buddy} is not signed on: invitations are not stored`, { ...(e.snacError !== undefined ? { snacError: e.snacError } : {}), cause: e });
      if (ClientError.is(e, 'SNAC_ERROR')) {
        throw new ClientError('SEND_FAILED', `invitation to ${buddy} refused (${snacErrorName(e.snacError ?? 0)})`, { ...(e.snacError !== undefined ? { snacError: e.snacError } : {}), cause: e });
      }
      throw e;
    }
  }

  /** Accepts an invitation: finds the room, gives the codec the security block (secure rooms), joins. */
  async accept(inv: RoomInvitation): Promise<ChatRoom> {
    const d = await this.find(inv.room.cookie);
    const codec = this.codecFor(d.contentType, d.name, true);
    if (codec?.acceptInvitation && inv.securityBlock) {
      const ctx: RoomContext = { exchange: d.exchange, name: d.name, cookie: d.cookie, instance: d.instance, contentType: d.contentType, me: this.client.screenName, members: [] };
      await codec.acceptInvitation(inv.peer, inv.securityBlock, ctx);
    }
    return this.join(d);
  }

  private codecFor(contentType: string, name: string, allowSecureUnavailable = false): RoomCodecWithHooks | undefined {
    const found = this.codecs.lookup(contentType);
    if (found.kind === 'codec') return found.codec;
    if (found.kind === 'secure-unavailable') {
      if (allowSecureUnavailable) return undefined;
      throw new ClientError('ROOM_CODEC_UNAVAILABLE', `secure rooms are not available in this client (no secure-room codec): ${name} was not created`);
    }
    throw new ClientError('ROOM_CONTENT_TYPE', `room ${name} has content type ${JSON.stringify(contentType)}, which this client cannot read or write: not joined`);
  }

  private async nav(subtype: number, body: Uint8Array, what: string): Promise<RoomDescription> {
    const svc = await openServiceConnection(this.client, CHATNAV_FAMILY);
    svc.attach({ onSnac: () => undefined, onClose: () => undefined });
    try {
      const reply = await svc.conn.request(CHATNAV_FAMILY, subtype, body);
      const room = decodeTlvRestList(reply.body).bytes(NavInfoTlv.ROOM_INFO);
      if (!room) throw new ClientError('PROTOCOL', `ChatNav answered without room info for ${what}`);
      return describeRoom(decodeRoomInfo(room));
    } catch (e) {
      throw roomRefusal(e, what);
    } finally {
      svc.conn.close();
    }
  }
}

function roomKey(name: string): string {
  return normalizeScreenName(name);
}

function describeType(ct: string): string {
  const b = baseContentType(ct);
  return b === CONTENT_TYPE_SECURE ? 'secure' : b === CONTENT_TYPE_PLAIN ? 'plain' : ct;
}

/** A ChatNav / chat refusal in words (docs/protocol.md §3.6, §3.7). */
function roomRefusal(e: unknown, what: string): Error {
  if (!ClientError.is(e, 'SNAC_ERROR')) return e as Error;
  const code = e.snacError ?? 0;
  const words: Record<number, string> = {
    0x08: 'that exchange is not available', 0x0d: 'the room name is not allowed, or the room is full', 0x0e: 'the server could not read the request',
    0x14: 'no such room', 0x15: 'too many rooms',
  };
  if (code === 0x14) return new ClientError('ROOM_NOT_FOUND', `no room ${what} (create it first: certim room create)`, { snacError: code, cause: e });
  return new ClientError('ROOM_FAILED', `room ${what}: ${words[code] ?? snacErrorName(code)}`, { snacError: code, cause: e });
}
