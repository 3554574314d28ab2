/**
 * THE ROOM CODEC SEAM: how a room's messages are turned into message-block TLVs and back (docs/protocol.md §3.8,
 * §7.3, §15). The transport (room-client.ts) never looks inside a message; it asks the codec chosen by the room's
 * content type (room TLV 0x00DB, §3.6) to encode what the user typed and to judge what arrived.
 *
 * ```ts
 * export interface RoomCodec {
 *   readonly contentType: string;
 *   encode(text: string, ctx: RoomContext): Promise<RoomMessageTlvs>;
 *   decode(msg: RoomMessageTlvs, ctx: RoomContext, sender: string): Promise<RoomMessageVerdict>;
 * }
 * ```
 *
 * - `RoomMessageTlvs` is the message block (the value of `0E/05`/`0E/06` TLV 0x0005) as its raw TLVs, in wire
 *   order, every TLV kept (content type 0x0004, charset 0x0002, language 0x0003, encoding 0x0005, body 0x0001 and
 *   any other). The transport writes exactly the list `encode` returns and hands `decode` exactly what arrived.
 * - `RoomContext` is the room's identity (exchange, name, AOL cookie, instance, content type), our own screen name,
 *   and the member list at the time of the call (each member with capabilities and certificate hash).
 * - `RoomMessageVerdict` has the shape of the 1:1 IM verdict (client.ts `IncomingIm`): `verified` / `untrusted` /
 *   `failed` with a stable `code` and a `reason`, `secure`, `trust` when verified, and `text` when readable (never
 *   for `failed`).
 *
 * Choosing the codec ({@link RoomCodecs}): by the room's content type, compared case-insensitively without
 * parameters. A content type no codec is registered for is refused when joining (ClientError ROOM_CONTENT_TYPE),
 * never read as plaintext. A secure room (`application/pkcs7-mime`, §7.1) without a registered secure codec can be
 * joined, but its messages show as `failed` with code `no-secure-codec` and sending is refused
 * (ROOM_CODEC_UNAVAILABLE): plaintext is never sent into a secure room.
 *
 * Optional hooks a codec object may also carry ({@link RoomCodecHooks}, not part of the three-member seam above):
 * a per-member key status for the member list, membership changes (a secure codec rekeys on a leave), and the
 * invitation security block (ICBM ch-2 TLV 0x2713, §7.2) written for an invitee and read from an invitation.
 */
import { ByteReader, ByteWriter, WireError } from '../../wire/bytes.js';
import { CONTENT_TYPE_PLAIN, CONTENT_TYPE_SECURE } from '../../wire/families/chat-nav.js';
import { ChatMessageTlv } from '../../wire/families/chat.js';
import { readTlvRestList, writeTlvRestList } from '../../wire/tlv.js';
import type { TrustLevel } from '../trust.js';
import type { RoomInvitation } from './invitation.js';

/** One raw message-block TLV. */
export interface RoomMessageTlv {
  /** u16 type (docs/protocol.md §3.8: 0x0001 body, 0x0002 charset, 0x0003 language, 0x0004 content type, 0x0005 encoding). */
  readonly type: number;
  /** The value bytes, as sent. */
  readonly value: Uint8Array;
}

/** The message block's TLVs, in wire order, every one kept (a type may repeat). */
export type RoomMessageTlvs = readonly RoomMessageTlv[];

/** One member of a room, from `0E/03` (docs/protocol.md §3.8, §4). */
export interface RoomMember {
  /** Screen name as the server formats it. */
  screenName: string;
  /** Announced capabilities (GUID strings, docs/protocol.md §5). */
  capabilities: string[];
  /** Announces AIM Secure IM. */
  secureIm: boolean;
  /** Announces certim's modern secure-IM capability: a certim client (docs/protocol.md §11.1). */
  certim: boolean;
  /** Hex MD5 of the member's certificate-info block (user-info TLV 0x001B, §4.2), if published. */
  certInfoHash: string | undefined;
  /** The raw user-info block the server sent (for a codec that needs more than the fields above). */
  userInfo: Uint8Array;
}

/** Which room, and who is in it, when the codec is called. */
export interface RoomContext {
  /** Exchange (4: user-created rooms). */
  readonly exchange: number;
  /** Room name (room TLV 0x00D3). */
  readonly name: string;
  /** The room's AOL-style cookie, `!aol://2719:10-4-<name>` (docs/protocol.md §3.6). */
  readonly cookie: string;
  /** Instance. */
  readonly instance: number;
  /** The room's content type (room TLV 0x00DB). */
  readonly contentType: string;
  /** Our own screen name. */
  readonly me: string;
  /** Members at the time of the call (ourselves included once the server listed us). */
  readonly members: readonly RoomMember[];
}

/** A codec's judgement of one room message; the shape of the 1:1 IM verdict (client.ts `IncomingIm`). */
export interface RoomMessageVerdict {
  /** `verified`: encrypted and signed by a trusted sender; `untrusted`: readable but not proven (plaintext is
   * always untrusted); `failed`: not readable, or tampered: no text is shown. */
  verdict: 'verified' | 'untrusted' | 'failed';
  /** Stable code: `ok`, `plaintext`, or a failure code (`no-secure-codec`, `content-type`, `bad-body`...). */
  code: string;
  /** Why, in words. */
  reason: string;
  /** The message was end-to-end encrypted. */
  secure: boolean;
  /** Trust in the sender's certificate when verified. */
  trust?: TrustLevel | null;
  /** The text, when readable (never set for `failed`). */
  text?: string;
}

/** THE SEAM (see the file comment; keep this interface exactly). */
export interface RoomCodec {
  /** The content type this codec speaks (room TLV 0x00DB and message TLV 0x0004). */
  readonly contentType: string;
  /** Builds the message-block TLVs for `text`. Rejects (never returns plaintext) when it cannot protect it. */
  encode(text: string, ctx: RoomContext): Promise<RoomMessageTlvs>;
  /** Judges one message block from `sender`; resolves with a verdict for bad input, never rejects for it. */
  decode(msg: RoomMessageTlvs, ctx: RoomContext, sender: string): Promise<RoomMessageVerdict>;
}

/** Optional extras a codec object may carry besides the seam. */
export interface RoomCodecHooks {
  /** Text for the member list's key column (e.g. `key ok`, `no key`, `pending`); `-` when absent. */
  memberKeyStatus?(member: RoomMember, ctx: RoomContext): string;
  /** We are in the room and the server listed its members (a creator alone in a new secure room makes the key). */
  joined?(ctx: RoomContext): Promise<void>;
  /** Our connection to the room ended (leave, or dropped): forget what belongs to this membership. */
  left?(ctx: RoomContext): void;
  /** Members joined or left (a secure codec rekeys on a leave, docs/protocol.md §7). */
  membersChanged?(change: { joined: readonly RoomMember[]; left: readonly RoomMember[] }, ctx: RoomContext): Promise<void>;
  /** The invitation security block (ICBM ch-2 TLV 0x2713, §7.2) for `invitee`; undefined sends none. */
  invitationSecurityBlock?(invitee: string, ctx: RoomContext): Promise<Uint8Array | undefined>;
  /** Called with a received invitation's security block when the user accepts it, before joining. */
  acceptInvitation?(inviter: string, securityBlock: Uint8Array, ctx: RoomContext): Promise<void>;
  /** `/kick NAME` in a secure room: remove a member from the key (rekey without them). */
  kick?(member: string, ctx: RoomContext): Promise<void>;
  /** An incoming invitation that is a key update for a room whose key this codec holds (docs/protocol.md §16.2):
   *  applied by the codec, and then not shown as an invitation. Resolves true when it was one. */
  takeKeyUpdate?(inv: RoomInvitation): Promise<boolean>;
}

/** A codec with its optional hooks. */
export type RoomCodecWithHooks = RoomCodec & RoomCodecHooks;

/** The plain room content types (docs/protocol.md §3.6, §3.8). */
export const PLAIN_CONTENT_TYPES: readonly string[] = [CONTENT_TYPE_PLAIN, 'text/plain'];

/** `text/x-aolrtf; charset=...` -> `text/x-aolrtf` (lower case, no parameters). */
export function baseContentType(ct: string): string {
  return (ct.split(';')[0] ?? '').trim().toLowerCase();
}

/** The value of the first TLV of `type`. */
export function tlvValue(msg: RoomMessageTlvs, type: number): Uint8Array | undefined {
  return msg.find((t) => t.type === type)?.value;
}

/** The first TLV of `type` as text (UTF-8; invalid bytes replaced). */
export function tlvText(msg: RoomMessageTlvs, type: number): string | undefined {
  const v = tlvValue(msg, type);
  return v === undefined ? undefined : new TextDecoder().decode(v);
}

/** Decodes a message block (TLV 0x0005's value) into its TLVs, every one in order; WireError when it is not one. */
export function decodeMessageBlock(block: Uint8Array): RoomMessageTlvs {
  const list = readTlvRestList(new ByteReader(block), 16);
  return [...list].map((t) => ({ type: t.type, value: t.value }));
}

/** Encodes a message block from its TLVs, in the given order. */
export function encodeMessageBlock(msg: RoomMessageTlvs): Uint8Array {
  return writeTlvRestList(new ByteWriter(64 + msg.reduce((n, t) => n + 4 + t.value.length, 0)), msg.map((t) => ({ ...t, offset: -1 }))).finish();
}

const enc = new TextEncoder();

/** The verdict of a message that cannot be read (the transport's and the codecs' shared form). */
export function failedVerdict(code: string, reason: string, secure: boolean): RoomMessageVerdict {
  return { verdict: 'failed', code, reason, secure };
}

/**
 * The plain codec (docs/protocol.md §15.2): `text/x-aolrtf` rooms, as classic AIM writes them — content type,
 * charset (`us-ascii` when the text is ASCII, else `utf-8`), language `en`, encoding `binary`, body. Every message
 * is `untrusted` with code `plaintext`. A body in `unicode-2-0` (UTF-16BE) or `iso-8859-1` is read as such; an AIM
 * HTML body is shown without its tags. A message that names another content type (a secure room's ciphertext) is
 * `failed`, never shown as text.
 */
export function plainRoomCodec(contentType = CONTENT_TYPE_PLAIN): RoomCodec {
  return {
    contentType,
    encode(text) {
      // eslint-disable-next-line no-control-regex
      const ascii = /^[\x00-\x7f]*$/.test(text);
      return Promise.resolve([
        { type: ChatMessageTlv.CONTENT_TYPE, value: enc.encode(contentType) },
        { type: ChatMessageTlv.CHARSET, value: enc.encode(ascii ? 'us-ascii' : 'utf-8') },
        { type: ChatMessageTlv.LANGUAGE, value: enc.encode('en') },
        { type: ChatMessageTlv.CONTENT_ENCODING, value: enc.encode('binary') },
        { type: ChatMessageTlv.BODY, value: enc.encode(text) },
      ]);
    },
    decode(msg) {
      const ct = tlvText(msg, ChatMessageTlv.CONTENT_TYPE);
      // Classic servers (OOS) drop 0x0004: a message without one is plain in a plain room.
      if (ct !== undefined && !PLAIN_CONTENT_TYPES.includes(baseContentType(ct))) {
        return Promise.resolve(failedVerdict('content-type', `a ${ct} message in a plain room is not shown`, baseContentType(ct) === CONTENT_TYPE_SECURE));
      }
      const body = tlvValue(msg, ChatMessageTlv.BODY);
      if (body === undefined) return Promise.resolve(failedVerdict('bad-body', 'the message has no body (TLV 0x0001)', false));
      const text = decodeBody(body, tlvText(msg, ChatMessageTlv.CHARSET));
      return Promise.resolve({ verdict: 'untrusted', code: 'plaintext', reason: 'plain room: sent without encryption', secure: false, trust: null, text });
    },
  };
}

/** Body bytes as text by the message's charset (docs/protocol.md §3.8, §1.4). */
export function decodeBody(body: Uint8Array, charset: string | undefined): string {
  const cs = (charset ?? '').trim().toLowerCase().replace(/^"|"$/g, '');
  let text: string;
  if (cs === 'unicode-2-0' || cs === 'utf-16be') {
    const b = Buffer.from(body.subarray(0, body.length - (body.length % 2)));
    b.swap16();
    text = b.toString('utf16le');
  } else if (cs === 'iso-8859-1' || cs === 'latin1') {
    text = Buffer.from(body).toString('latin1');
  } else {
    text = new TextDecoder().decode(body);
  }
  return /^\s*<html/i.test(text) ? stripHtml(text) : text;
}

function stripHtml(s: string): string {
  return s.replace(/<br\s*\/?>/gi, '\n').replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

/** Why a content type has no codec. */
export type CodecLookup =
  | { kind: 'codec'; codec: RoomCodecWithHooks }
  | { kind: 'secure-unavailable' }
  | { kind: 'unknown' };

/**
 * The codecs a client knows, by content type. `defaultRoomCodecs()` has the plain codec; a secure codec is
 * plugged in with `register` (one line, see src/cli/commands/room-codecs.ts).
 */
export class RoomCodecs {
  private readonly byType = new Map<string, RoomCodecWithHooks>();

  /** Registers `codec` for its content type (and `also`), replacing any earlier one. */
  register(codec: RoomCodecWithHooks, also: readonly string[] = []): this {
    for (const ct of [codec.contentType, ...also]) this.byType.set(baseContentType(ct), codec);
    return this;
  }

  /** The codec for a room's content type, or why there is none. */
  lookup(contentType: string): CodecLookup {
    const ct = baseContentType(contentType);
    const codec = this.byType.get(ct);
    if (codec) return { kind: 'codec', codec };
    return ct === CONTENT_TYPE_SECURE ? { kind: 'secure-unavailable' } : { kind: 'unknown' };
  }

  /** True when a secure-room codec is registered. */
  get secureAvailable(): boolean {
    return this.byType.has(CONTENT_TYPE_SECURE);
  }
}

/** The codecs every client has: plain rooms (`text/x-aolrtf`, `text/plain`). */
export function defaultRoomCodecs(): RoomCodecs {
  return new RoomCodecs().register(plainRoomCodec(), ['text/plain']);
}

/** Re-exported so callers need not reach into wire/ for the two content types. */
export { CONTENT_TYPE_PLAIN, CONTENT_TYPE_SECURE };

/** WireError from decodeMessageBlock, for callers that match on it. */
export { WireError };
