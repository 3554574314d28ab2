/**
 * Chat (0x000E) handlers (docs/protocol.md §3.8): `0E/05` room messages, fanned out through the delivery
 * directory to every member's chat connection on every node (members are registered under the room's directory
 * key, cluster/rooms.ts), and whispers to one member.
 *
 * What the server guarantees:
 * - the message block (TLV 0x0005) reaches the other members as the exact bytes the sender wrote — all five
 *   TLVs, in the sender's order (§3.8, §7.3; OOS keeps three, §9.8). The server never reads the body, so a secure
 *   room's ciphertext and its content type pass untouched, and no message content is logged;
 * - the sender's identity is the server's: `0E/06` TLV 0x0003 is the user-info block of the connection's own
 *   user (a client cannot name another sender), and a connection can only speak in the room its cookie named;
 * - limits: the body (message-block TLV 0x0001) at most `maxRoomMessageLength` bytes (announced as room TLV
 *   0x00D1), the whole block at most that plus 1 KiB of headers; `0E/05` is in rate class 2 (§3.1), checked before
 *   dispatch.
 *
 * Refusals (`0E/01`): 0x04 NotLoggedOn (not yet in the room, or a whisper to someone who is not in it),
 * 0x0E MalformedPayload (no message block, an unreadable one, or one over the limits).
 */
import { normalizeScreenName } from '../../pki/screen-name.js';
import { CHAT_CHANNEL, CHAT_FAMILY as F, ChatMessageTlv, ChatSubtype as S, ChatTlv, decodeChatMessageBlock, decodeChatMsgToHost, encodeChatMsgToClient } from '../../wire/families/chat.js';
import { SnacErrorCode } from '../../wire/snac.js';
import { deliverToUser, type Envelope, type SessionAddress } from '../cluster/directory.js';
import type { RoomRecord } from '../cluster/rooms.js';
import type { Session } from '../session/session.js';
import { errorReply, reply, type BosContext, type BosFamily, type Reply } from './family.js';

/** Header bytes a message block may carry beyond its body (content type, charset, language, encoding). */
const MESSAGE_HEADER_ALLOWANCE = 1024;

/** A chat connection's room, as its cookie named it. */
export interface RoomMembership {
  /** The room (as it was when the connection entered). */
  room: RoomRecord;
  /** The member's user-info block as announced in `0E/03` (set at client ready); `0E/06` and `0E/04` carry it. */
  block?: Uint8Array;
  /** True once the others were told (or already knew) that this user is in the room: only then is a leave told. */
  announced?: boolean;
  /** Cancels the sign-off of a connection that never becomes ready (cleared at ready and at close). */
  cancelReadyTimer?: () => void;
}

const memberships = new WeakMap<Session, RoomMembership>();

/** Records the room of a chat connection's session (the chat service does, when the cookie is redeemed). */
export function setMembership(s: Session, m: RoomMembership): void {
  memberships.set(s, m);
}

/** The room of a chat connection's session, if it is one. */
export function membershipOf(s: Session): RoomMembership | undefined {
  return memberships.get(s);
}

/** The member addresses of `user` (normalized) in a room, from the directory's entries under the room key. */
export async function memberAddresses(ctx: Pick<BosContext, 'engine'>, roomKey: string, user: string): Promise<SessionAddress[]> {
  const entries = await ctx.engine.directory.sessionsOf(roomKey);
  return entries.filter((e) => e.presence && normalizeScreenName(e.presence.screenName) === user).map((e) => e.address);
}

/**
 * 0E/05 -> 0E/06 to the room (or to one member, for a whisper); echoed to the sender when it asked (0x0006). The
 * public path completes synchronously when the directory offers `sendToUserNow` (in-process), as `04/06` does.
 */
function channelMsgToHost(ctx: BosContext, body: Uint8Array): Reply[] | void | Promise<Reply[] | void> {
  const { engine, session: s } = ctx;
  const m = membershipOf(s);
  if (!m?.block || !s.ready) return [errorReply(F, SnacErrorCode.NotLoggedOn)];
  const msg = decodeChatMsgToHost(body);
  const block = msg.tlvs.bytes(ChatTlv.MESSAGE);
  if (block === undefined) return [errorReply(F, SnacErrorCode.MalformedPayload)];
  const limit = engine.config.maxRoomMessageLength;
  const text = decodeChatMessageBlock(block).bytes(ChatMessageTlv.BODY);
  if (block.length > limit + MESSAGE_HEADER_ALLOWANCE || (text !== undefined && text.length > limit)) return [errorReply(F, SnacErrorCode.MalformedPayload)];
  // macOS AIM 4.0.9 sends channel 0xFFFF (OOS `foodgroup/chat.go`).
  const channel = msg.channel === 0xffff ? CHAT_CHANNEL : msg.channel;
  const out = encodeChatMsgToClient({ cookie: msg.cookie, channel, senderInfo: m.block, public: msg.tlvs.has(ChatTlv.PUBLIC), message: block });
  const envelope: Envelope = { delivery: { kind: 'snac', family: F, subtype: S.CHANNEL_MSG_TO_CLIENT, body: out }, except: s.address, service: 'chat' };
  const echo = msg.tlvs.has(ChatTlv.REFLECT) ? [reply(F, S.CHANNEL_MSG_TO_CLIENT, out)] : undefined;
  const whisperTo = msg.tlvs.string(ChatTlv.WHISPER_TO);
  if (whisperTo !== undefined && !msg.tlvs.has(ChatTlv.PUBLIC)) return whisper(ctx, m.room.key, normalizeScreenName(whisperTo), envelope, echo);
  const delivered = deliverToUser(engine.directory, m.room.key, envelope);
  return delivered instanceof Promise ? delivered.then(() => echo) : echo;
}

async function whisper(ctx: BosContext, roomKey: string, to: string, envelope: Envelope, echo: Reply[] | undefined): Promise<Reply[] | void> {
  let accepted = 0;
  for (const a of await memberAddresses(ctx, roomKey, to)) if (await ctx.engine.directory.sendTo(a, envelope)) accepted++;
  if (accepted === 0) return [errorReply(F, SnacErrorCode.NotLoggedOn)];
  return echo;
}

/** Chat, on chat connections. */
export const chatFamily: BosFamily = {
  family: F,
  version: 1,
  handlers: {
    [S.CHANNEL_MSG_TO_HOST]: channelMsgToHost,
  },
};
