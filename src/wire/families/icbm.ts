/**
 * Family 0x0004 ICBM (docs/protocol.md §3.4, §8.1): parameters, IM send/deliver, host acks, client errors, typing, and
 * the rendezvous (channel 2) address rewrite. Channel-1 payloads are never parsed: encrypted IMs pass untouched.
 */
import { ByteReader, ByteWriter, viewOf } from '../bytes.js';
import { IcbmTlv, type IcbmChannelMsgToHostScan } from '../icbm-message.js';
import { allocSnacBody } from '../snac.js';
import { TlvList, readTlvRestList, writeTlv, type Tlv } from '../tlv.js';
import { fixedBytes, nonEmptyString08, record, restBytes, string08, u16, u32, type Infer } from '../codec.js';

/** The family's constants live with the ICBM message structures (general wire modules come first). */
export { ICBM_FAMILY, IcbmSubtype, IcbmTlv } from '../icbm-message.js';

/**
 * ICBM parameters (docs/protocol.md §3.4; the 04/02 body, the 04/05 body after the u16 max slots): u16 channel (0 =
 * all), u32 flags (0x01 channel msgs allowed, 0x02 missed calls, 0x08 typing), u16 max message length, u16 max sender
 * warning level, u16 max receiver warning level, u32 min interval between IMs (ms). Bytes after it are ignored.
 */
export const IcbmParameters = record({
  channel: u16, flags: u32, maxMessageLength: u16, maxSenderWarn: u16, maxReceiverWarn: u16, minInterval: u32,
}, { trailing: 'ignore' });
/** ICBM parameters (04/02 body, 04/05 body after the u16 max slots). */
export type IcbmParameters = Infer<typeof IcbmParameters>;

/** Decodes 04/02. */
export const decodeParameters: (body: Uint8Array) => IcbmParameters = IcbmParameters.decode;

/** Encodes 04/02: the parameters. */
export const encodeParameters: (p: IcbmParameters) => Uint8Array = IcbmParameters.encode;

/** 04/05 parameter reply (docs/protocol.md §3.4): u16 max slots + parameters; bytes after them are ignored. */
export const SNAC_0x04_0x05_ICBMParameterReply = record({ maxSlots: u16, parameters: IcbmParameters }, { trailing: 'ignore' });

/** Encodes 04/05: u16 max slots + parameters. */
export function encodeParameterReply(maxSlots: number, p: IcbmParameters): Uint8Array {
  return SNAC_0x04_0x05_ICBMParameterReply.encode({ maxSlots, parameters: p });
}

/** Decodes 04/05: u16 max slots + parameters (the server's limits, e.g. the max message length, §3.4). */
export const decodeParameterReply: (body: Uint8Array) => { maxSlots: number; parameters: IcbmParameters } = SNAC_0x04_0x05_ICBMParameterReply.decode;

/** 04/06 send: the general decoder of `icbm-message.ts` (the server routes on it and relays `tlvBytes` verbatim). */
export { decodeIcbmChannelMsgToHost as decodeChannelMsgToHost, type IcbmChannelMsgToHost as SNAC_0x04_0x06_ICBMChannelMsgToHost } from '../icbm-message.js';

/** 04/06 located in place for the relay path (same checks as the decoder, no per-field views). */
export { scanIcbmChannelMsgToHost as scanChannelMsgToHost, type IcbmChannelMsgToHostScan } from '../icbm-message.js';

/**
 * The 04/06 TLVs a client may set, which the server relays into 04/07 (docs/protocol.md §3.4; the set joscar's
 * `SendImIcbm`/`AbstractImIcbm`/`AbstractRvIcbm` write): 0x0002 IM data, 0x0004 auto-response, 0x0005 rendezvous
 * (ch 2) / ICQ data (ch 4), 0x0008 icon info, 0x0009 wants icon, 0x000D BART/expression info.
 * An allow-list, not a deny-list: 0x0003 and 0x0006 are requests to the server and consumed there, and 04/07-only
 * fields such as 0x000B (sender can type) and 0x0016 (stored offline at time X) are server-owned — only the server
 * adds them (the `append` of {@link encodeDelivery}) — so a client cannot forge them in its peer's 04/07. Types
 * nobody has defined are dropped too.
 */
export const CLIENT_SETTABLE_ICBM_TLVS: ReadonlySet<number> = new Set([
  IcbmTlv.IM_DATA, IcbmTlv.AUTO_RESPONSE, IcbmTlv.RENDEZVOUS, IcbmTlv.ICON_INFO, IcbmTlv.WANTS_ICON, IcbmTlv.BART,
]);

/** True when a 04/06 TLV of this type is relayed to the recipient (see {@link CLIENT_SETTABLE_ICBM_TLVS}). */
export function isClientSettableIcbmTlv(type: number): boolean {
  return CLIENT_SETTABLE_ICBM_TLVS.has(type);
}

/**
 * Encodes 04/07 for delivery of a 04/06 in one exact-size allocation (an `allocSnacBody`, so its first framing
 * needs no copy): cookie, channel, sender user-info block,
 * then the sender's client-settable TLVs byte for byte ({@link isClientSettableIcbmTlv}; everything else is
 * dropped), with optional value replacements (rendezvous rewrite) and server-owned TLVs appended (offline timestamp).
 */
export function encodeDelivery(
  cookie: Uint8Array,
  channel: number,
  senderInfo: Uint8Array,
  tlvs: TlvList,
  replace?: ReadonlyMap<number, Uint8Array>,
  append: readonly Tlv[] = [],
): Uint8Array {
  // Plain loops, no closures: this runs once per relayed IM.
  const items = tlvs.items;
  let size = 10 + senderInfo.length;
  for (let i = 0; i < items.length; i++) {
    const t = items[i]!;
    if (!CLIENT_SETTABLE_ICBM_TLVS.has(t.type)) continue;
    size += 4 + (replace?.get(t.type) ?? t.value).length;
  }
  for (let i = 0; i < append.length; i++) size += 4 + append[i]!.value.length;
  const out = allocSnacBody(size);
  out.set(cookie.subarray(0, 8), 0);
  out[8] = channel >> 8;
  out[9] = channel & 0xff;
  out.set(senderInfo, 10);
  let o = 10 + senderInfo.length;
  for (let i = 0; i < items.length; i++) {
    const t = items[i]!;
    if (!CLIENT_SETTABLE_ICBM_TLVS.has(t.type)) continue;
    o = putTlv(out, o, t.type, replace?.get(t.type) ?? t.value);
  }
  for (let i = 0; i < append.length; i++) o = putTlv(out, o, append[i]!.type, append[i]!.value);
  return out;
}

/**
 * {@link encodeDelivery} for a scanned `04/06` with no replacements or appended TLVs (the relay's common case),
 * straight from the sender's body: the same bytes, without a TLV object or view per field. The body comes from
 * `allocSnacBody`, so its first framing needs no copy.
 */
export function encodeDeliveryFromScan(m: IcbmChannelMsgToHostScan, senderInfo: Uint8Array): Uint8Array {
  const src = m.body;
  const end = src.length;
  // The TLVs were checked by the scan: only sizes and types are read here.
  let relayed = 0;
  let all = true;
  for (let o = m.tlvStart; o < end;) {
    const n = 4 + ((src[o + 2]! << 8) | src[o + 3]!);
    if (CLIENT_SETTABLE_ICBM_TLVS.has((src[o]! << 8) | src[o + 1]!)) relayed += n;
    else all = false;
    o += n;
  }
  const out = allocSnacBody(10 + senderInfo.length + relayed);
  for (let i = 0; i < 8; i++) out[i] = src[i]!;
  out[8] = m.channel >> 8;
  out[9] = m.channel & 0xff;
  out.set(senderInfo, 10);
  let w = 10 + senderInfo.length;
  if (all) {
    if (relayed > 0) out.set(viewOf(src, m.tlvStart, relayed), w);
    return out;
  }
  for (let o = m.tlvStart; o < end;) {
    const n = 4 + ((src[o + 2]! << 8) | src[o + 3]!);
    if (CLIENT_SETTABLE_ICBM_TLVS.has((src[o]! << 8) | src[o + 1]!)) {
      out.set(viewOf(src, o, n), w);
      w += n;
    }
    o += n;
  }
  return out;
}

function putTlv(out: Uint8Array, o: number, type: number, v: Uint8Array): number {
  if (v.length > 0xffff) throw new RangeError(`TLV 0x${type.toString(16)} too long`);
  out[o] = type >> 8;
  out[o + 1] = type & 0xff;
  out[o + 2] = v.length >> 8;
  out[o + 3] = v.length & 0xff;
  out.set(v, o + 4);
  return o + 4 + v.length;
}

/**
 * 04/0C host ack (docs/protocol.md §3.4): the 8-byte cookie of the acknowledged 04/06, u16 channel, string08 recipient
 * screen name; bytes after it are ignored.
 */
export const SNAC_0x04_0x0C_ICBMHostAck = record({ cookie: fixedBytes(8), channel: u16, screenName: string08 }, { trailing: 'ignore', capacity: 32 });
/** 04/0C host ack. */
export type SNAC_0x04_0x0C_ICBMHostAck = Infer<typeof SNAC_0x04_0x0C_ICBMHostAck>;

/** Encodes 04/0C host ack: cookie, channel, SN (RangeError unless the cookie is 8 bytes). */
export function encodeHostAck(cookie: Uint8Array, channel: number, screenName: string): Uint8Array {
  return SNAC_0x04_0x0C_ICBMHostAck.encode({ cookie, channel, screenName });
}

/** Decodes 04/0C host ack: cookie, channel, SN. */
export const decodeHostAck: (body: Uint8Array) => SNAC_0x04_0x0C_ICBMHostAck = SNAC_0x04_0x0C_ICBMHostAck.decode;

/**
 * 04/0B client error and 04/14 typing notification (docs/protocol.md §3.4): 8-byte cookie, u16 channel, non-empty
 * string08 peer screen name, then everything after it verbatim (04/0B: u16 code + data; 04/14: u16 event).
 */
export const SNAC_0x04_0x0B_ICBMClientErr = record({ cookie: fixedBytes(8), channel: u16, screenName: nonEmptyString08, rest: restBytes }, { capacity: 48 });
/** 04/0B client error (also 04/14 typing): cookie, channel, SN, then the rest. */
export type IcbmClientAddressed = Infer<typeof SNAC_0x04_0x0B_ICBMClientErr>;

/** Decodes 04/0B or 04/14 (cookie, channel, SN, rest). */
export const decodeClientAddressed: (body: Uint8Array) => IcbmClientAddressed = SNAC_0x04_0x0B_ICBMClientErr.decode;

/** Encodes 04/0B or 04/14 with the peer's SN substituted. */
export const encodeClientAddressed: (m: IcbmClientAddressed) => Uint8Array = SNAC_0x04_0x0B_ICBMClientErr.encode;

/**
 * Rewrites a channel-2 rendezvous block (TLV 0x0005 value: u16 type, u64 cookie, 16-byte capability, TLVs) the
 * way docs/protocol.md §8.1 asks: if it carries 0x0003 (proposer's own IP), replace 0x0003 with the IPv4 the server saw
 * and append 0x0004 with it too. Returns undefined when no rewrite applies. Other TLVs are kept verbatim.
 */
export function rewriteRendezvousAddress(rv: Uint8Array, observedIpv4: Uint8Array): Uint8Array | undefined {
  if (observedIpv4.length !== 4) return undefined;
  const r = new ByteReader(rv);
  r.skip(26, 'rendezvous header');
  const inner = readTlvRestList(r);
  if (!inner.has(0x0003)) return undefined;
  const w = new ByteWriter(rv.length + 8).bytes(rv.subarray(0, 26));
  for (const t of inner) {
    if (t.type === 0x0004) continue;
    writeTlv(w, t.type === 0x0003 ? { type: 0x0003, value: observedIpv4, offset: -1 } : t);
  }
  writeTlv(w, { type: 0x0004, value: observedIpv4, offset: -1 });
  return w.finish();
}
