/**
 * Chat room invitations (docs/protocol.md §7.2, §8.1, §15.3): an ICBM channel-2 message whose rendezvous block
 * (TLV 0x0005) is a proposal (type 0) with the chat capability 748F2420-6287-11D1-8222-444553540000 and, in
 * joscar's order, TLVs 0x000A request index 1, 0x000F empty, 0x000E language, 0x000D charset, 0x000C invitation
 * text, 0x0011 empty (a secure room), 0x2713 the security block (opaque here: a secure-room codec writes and reads
 * it), 0x2711 short room info {u16 exchange, u8-length cookie, u16 instance}.
 */
import { ByteWriter, decodeText } from '../../wire/bytes.js';
import { capabilityBytes, capabilityEquals } from '../../wire/capabilities.js';
import { MiniRoomInfo, parseRoomCookie } from '../../wire/families/chat-nav.js';
import { IcbmChannel, IcbmTlv, encodeIcbmChannelMsgToHost } from '../../wire/icbm-message.js';
import { RvType as RendezvousType, type RendezvousMessage } from '../../wire/rendezvous.js';
import { tlv, tlvString, tlvU16, writeTlvRestList, type Tlv } from '../../wire/tlv.js';

/** The chat capability (docs/protocol.md §5, §7.2). */
export const CHAT_CAPABILITY = capabilityBytes('Chat');

/** Rendezvous TLVs of an invitation (docs/protocol.md §7.2, §8.1). */
export const InvitationTlv = {
  REQUEST_INDEX: 0x000a,
  CHECK_HOST: 0x000f,
  LANGUAGE: 0x000e,
  CHARSET: 0x000d,
  TEXT: 0x000c,
  /** Empty: the room is secure. */
  SECURE: 0x0011,
  /** The security block (a secure-room codec's business). */
  SECURITY_BLOCK: 0x2713,
  /** Service data: short room info. */
  ROOM: 0x2711,
} as const;

/** A room invitation, either direction. */
export interface RoomInvitation {
  /** Inviter (incoming) or invitee (outgoing). */
  peer: string;
  /** The 8-byte rendezvous cookie. */
  cookie: Uint8Array;
  /** Exchange, cookie and instance of the room (TLV 0x2711). */
  room: { exchange: number; cookie: string; instance: number };
  /** The room's name, read from its AOL cookie (undefined when the cookie is not AOL's form). */
  name: string | undefined;
  /** Invitation text (TLV 0x000C). */
  text: string;
  /** TLV 0x0011 present: the inviter says the room is secure. */
  secure: boolean;
  /** TLV 0x2713, as sent (opaque). */
  securityBlock: Uint8Array | undefined;
  /** The whole rendezvous message, as decoded (src/wire/rendezvous.ts). */
  message: RendezvousMessage;
}

/** The rendezvous block of an invitation, TLVs in joscar's order (sent with CertimClient.sendRendezvous). */
export function encodeInvitationBlock(m: { cookie: Uint8Array; room: { exchange: number; cookie: string; instance: number }; text: string; secure: boolean; securityBlock?: Uint8Array }): Uint8Array {
  const list: Tlv[] = [
    tlvU16(InvitationTlv.REQUEST_INDEX, 1),
    tlv(InvitationTlv.CHECK_HOST),
    tlvString(InvitationTlv.LANGUAGE, 'en'),
    tlvString(InvitationTlv.CHARSET, 'utf-8'),
    tlvString(InvitationTlv.TEXT, m.text),
  ];
  if (m.secure) list.push(tlv(InvitationTlv.SECURE));
  if (m.securityBlock) list.push(tlv(InvitationTlv.SECURITY_BLOCK, m.securityBlock));
  list.push(tlv(InvitationTlv.ROOM, MiniRoomInfo.encode({ exchange: m.room.exchange, cookie: new TextEncoder().encode(m.room.cookie), instance: m.room.instance })));
  const w = new ByteWriter(128).u16(RendezvousType.Propose).bytes(m.cookie).bytes(CHAT_CAPABILITY);
  return writeTlvRestList(w, list).finish();
}

/**
 * The `04/06` body of an invitation to `to` (host ack asked, never stored offline: no TLV 0x0006), for callers that
 * send through `CertimClient.request`; `RoomClient` sends the block with `CertimClient.sendRendezvous`.
 */
export function encodeInvitationIm(to: string, m: Parameters<typeof encodeInvitationBlock>[0]): Uint8Array {
  return encodeIcbmChannelMsgToHost({
    cookie: m.cookie, channel: IcbmChannel.Rendezvous, screenName: to,
    tlvs: [tlv(IcbmTlv.RENDEZVOUS, encodeInvitationBlock(m)), tlv(IcbmTlv.REQUEST_HOST_ACK)],
  });
}

/**
 * The invitation in a channel-2 rendezvous message (client.ts `rendezvous` event), or undefined when it is another
 * rendezvous (a file transfer, a cancel, another capability) or names no room. WireError when 0x2711 is malformed.
 */
export function invitationFrom(from: string, m: RendezvousMessage): RoomInvitation | undefined {
  if (m.type !== RendezvousType.Propose || !capabilityEquals(m.capability, CHAT_CAPABILITY) || !m.serviceData) return undefined;
  const room = MiniRoomInfo.decode(m.serviceData);
  const roomCookie = decodeText(room.cookie);
  const block = m.extra?.find((t) => t.type === InvitationTlv.SECURITY_BLOCK);
  return {
    peer: from,
    cookie: m.cookie.slice(),
    room: { exchange: room.exchange, cookie: roomCookie, instance: room.instance },
    name: parseRoomCookie(roomCookie)?.name,
    text: m.invitation ?? '',
    secure: m.tls === true,
    securityBlock: block?.value.slice(),
    message: m,
  };
}
