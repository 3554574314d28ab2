/**
 * Family 0x000E Chat (docs/protocol.md §3.8): room info update, users joined/left, and room messages.
 *
 * `0E/05` C->S: u64 cookie, u16 channel (3), TLV rest-list: 0x0001 empty = public (whisper flag), 0x0002 whisper
 * target SN (OOS), 0x0005 message block, 0x0006 empty = reflect to sender, 0x0007 auto-response.
 * `0E/06` S->C: u64 cookie, u16 channel, TLV rest-list: 0x0003 sender's user-info block, 0x0001 (if it was set),
 * 0x0005 message block. The message block (a rest-list: 0x0004 content type, 0x0002 charset, 0x0003 language,
 * 0x0005 content encoding, 0x0001 body) is relayed as the exact bytes the sender wrote: a secure room's
 * `application/pkcs7-mime` body and its four header TLVs must all arrive (§3.8, §7.3, §9.8).
 */
import { ByteWriter } from '../bytes.js';
import { tlv, type Tlv, type TlvList } from '../tlv.js';
import { body, fixedBytes, record, tlvRest, u16, type Infer } from '../codec.js';

/** Chat family id. */
export const CHAT_FAMILY = 0x000e;

/** Chat subtypes (docs/protocol.md §3.8). */
export const ChatSubtype = {
  ERROR: 0x01,
  ROOM_INFO_UPDATE: 0x02,
  USERS_JOINED: 0x03,
  USERS_LEFT: 0x04,
  CHANNEL_MSG_TO_HOST: 0x05,
  CHANNEL_MSG_TO_CLIENT: 0x06,
} as const;

/** `0E/05` / `0E/06` TLV types. */
export const ChatTlv = {
  /** Empty: public message (its absence with 0x0002 makes a whisper). */
  PUBLIC: 0x0001,
  /** Whisper target screen name (OOS). */
  WHISPER_TO: 0x0002,
  /** `0E/06`: the sender's user-info block (server-owned). */
  SENDER_INFO: 0x0003,
  /** The message block. */
  MESSAGE: 0x0005,
  /** Empty: reflect the message back to the sender too. */
  REFLECT: 0x0006,
  /** Empty: auto-response. */
  AUTO_RESPONSE: 0x0007,
} as const;

/** Message-block TLV types (docs/protocol.md §3.8). */
export const ChatMessageTlv = {
  BODY: 0x0001,
  CHARSET: 0x0002,
  LANGUAGE: 0x0003,
  CONTENT_TYPE: 0x0004,
  CONTENT_ENCODING: 0x0005,
} as const;

/** The chat ICBM channel. */
export const CHAT_CHANNEL = 0x0003;

/**
 * `0E/05` channel message to host (docs/protocol.md §3.7): 8-byte message cookie (a view of the input), u16 channel
 * (3), TLV rest-list (at most 16).
 */
export const SNAC_0x0E_0x05_ChatChannelMsgToHost = record({ cookie: fixedBytes(8), channel: u16, tlvs: tlvRest(16) }, { capacity: 64 });
/** `0E/05` as the server reads it. */
export type SNAC_0x0E_0x05_ChatChannelMsgToHost = Infer<typeof SNAC_0x0E_0x05_ChatChannelMsgToHost>;

/** Decodes `0E/05` (at most 16 TLVs). */
export const decodeChatMsgToHost: (body: Uint8Array) => SNAC_0x0E_0x05_ChatChannelMsgToHost = SNAC_0x0E_0x05_ChatChannelMsgToHost.decode;

/** Encodes `0E/05` (clients and tests); RangeError unless the cookie is 8 bytes. */
export function encodeChatMsgToHost(m: { cookie: Uint8Array; channel?: number; tlvs: Iterable<Tlv> }): Uint8Array {
  return SNAC_0x0E_0x05_ChatChannelMsgToHost.encode({ cookie: m.cookie, channel: m.channel ?? CHAT_CHANNEL, tlvs: m.tlvs });
}

/** `0E/06` channel message to client (docs/protocol.md §3.7): the same shape as `0E/05`. */
export const SNAC_0x0E_0x06_ChatChannelMsgToClient = record({ cookie: fixedBytes(8), channel: u16, tlvs: tlvRest(16) }, { capacity: 256 });

/** What `0E/06` carries. */
export interface ChatMsgToClient {
  /** 8-byte message cookie, as the sender chose it. */
  cookie: Uint8Array;
  /** Channel. */
  channel: number;
  /** The sender's user-info block (docs/protocol.md §4.1). */
  senderInfo: Uint8Array;
  /** Whether TLV 0x0001 (public) is set. */
  public: boolean;
  /** The message block: the exact value bytes of the sender's TLV 0x0005. */
  message: Uint8Array;
}

/** Encodes `0E/06`: cookie, channel, 0x0003 sender, [0x0001], 0x0005 message block (OOS's order, which AIM 2.x needs). */
export function encodeChatMsgToClient(m: ChatMsgToClient): Uint8Array {
  const list: Tlv[] = [tlv(ChatTlv.SENDER_INFO, m.senderInfo)];
  if (m.public) list.push(tlv(ChatTlv.PUBLIC));
  list.push(tlv(ChatTlv.MESSAGE, m.message));
  return SNAC_0x0E_0x06_ChatChannelMsgToClient.encode({ cookie: m.cookie, channel: m.channel, tlvs: list });
}

/** Decodes `0E/06` (clients and tests): the TLVs, with the message block as raw bytes. */
export const decodeChatMsgToClient: (body: Uint8Array) => { cookie: Uint8Array; channel: number; tlvs: TlvList } = SNAC_0x0E_0x06_ChatChannelMsgToClient.decode;

/** The chat message block (docs/protocol.md §3.7): a TLV rest-list, at most 16 TLVs. */
export const ChatMessageBlock = body(tlvRest(16));

/** Decodes a message block (a TLV rest-list, at most 16 TLVs); WireError when it is not one. */
export const decodeChatMessageBlock: (block: Uint8Array) => TlvList = ChatMessageBlock.decode;

/** Encodes `0E/03` / `0E/04`: the user-info blocks, back to back. */
export function encodeUserInfoBlocks(blocks: readonly Uint8Array[]): Uint8Array {
  const w = new ByteWriter(blocks.reduce((n, b) => n + b.length, 0) || 1);
  for (const b of blocks) w.bytes(b);
  return w.finish();
}

