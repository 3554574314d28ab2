/**
 * ICBM channel-2 rendezvous messages (docs/protocol.md §8.1, §8.2): the value of ICBM TLV 0x0005 is
 *
 *   u16 type (0 propose, 1 cancel, 2 accept) · u64 rendezvous cookie · 16-byte capability · TLV rest-list
 *
 * and the TLVs say where to connect (0x0002 address / 0x0003 the proposer's own / 0x0004 as the server saw it,
 * 0x0005 port), which attempt this is (0x000A request index), whether it goes through the proxy (0x0010) and
 * whether the peer connection runs inside TLS (0x0011). One shape drives both encode and decode; TLVs this module
 * does not model are kept in `extra` and written back unchanged.
 *
 * [certim] IPv6: classic clients carry only IPv4 addresses; certim adds 0x7C11 (16-byte IPv6 address to connect
 * to), next to the IPv4 ones, so a certim peer on an IPv6-only path can still be reached (docs/protocol.md §8.6).
 *
 * Pure functions over Uint8Array; decoders throw only `WireError`.
 */
import { ByteReader, ByteWriter, WireError, decodeText, encodeText } from './bytes.js';
import { readTlvRestList, tlv, tlvU16, writeTlvRestList, type Tlv } from './tlv.js';

/** Rendezvous message types (docs/protocol.md §8.1). */
export const RvType = {
  Propose: 0,
  Cancel: 1,
  Accept: 2,
} as const;

/** Rendezvous TLV types (docs/protocol.md §8.1, §8.6). */
export const RvTlv = {
  /** u16 channel. */
  CHANNEL: 0x0001,
  /** u32 IPv4 to connect to (the proxy's address when 0x0010 is present). */
  ADDRESS: 0x0002,
  /** u32 the proposer's own idea of its IPv4 address (the server replaces it with the observed one). */
  CLIENT_ADDRESS: 0x0003,
  /** u32 the proposer's IPv4 as the server saw it (server-added). */
  VERIFIED_ADDRESS: 0x0004,
  /** u16 port. */
  PORT: 0x0005,
  /** u16 request index: 1 first proposal, 2 reverse, 3 proxy. */
  REQUEST_INDEX: 0x000a,
  /** u16 cancel reason. */
  CANCEL_REASON: 0x000b,
  /** Invitation text. */
  INVITATION: 0x000c,
  /** Invitation text charset. */
  INVITATION_CHARSET: 0x000d,
  /** Invitation text language. */
  INVITATION_LANGUAGE: 0x000e,
  /** Empty: ask the peer to check the host. */
  REQUEST_HOST_CHECK: 0x000f,
  /** Empty: the address and port are the rendezvous proxy's. */
  USE_PROXY: 0x0010,
  /** Empty: the peer connection runs inside TLS. */
  USE_TLS: 0x0011,
  /** u32 address XOR 0xFFFFFFFF (NAT check). */
  ADDRESS_CHECK: 0x0016,
  /** u16 port XOR 0xFFFF (NAT check). */
  PORT_CHECK: 0x0017,
  /** Per-capability service data. */
  SERVICE_DATA: 0x2711,
  /** Charset of names in the service data. */
  SERVICE_CHARSET: 0x2712,
  /** [certim] 16-byte IPv6 address to connect to. */
  CERTIM_ADDRESS6: 0x7c11,
} as const;

/** Cancel reasons of TLV 0x000B (docs/protocol.md §8.1). */
export const RvCancelReason = {
  Unknown: 0,
  Declined: 1,
  Timeout: 2,
  AcceptedElsewhere: 3,
} as const;

/** Words for a cancel reason, for messages shown to users. */
export function cancelReasonText(reason: number | undefined): string {
  switch (reason) {
    case RvCancelReason.Declined: return 'declined';
    case RvCancelReason.Timeout: return 'timed out';
    case RvCancelReason.AcceptedElsewhere: return 'accepted on another device';
    default: return 'cancelled';
  }
}

/** One rendezvous message. Fields map one to one onto the TLVs above; absent fields are not written. */
export interface RendezvousMessage {
  /** {@link RvType}. */
  type: number;
  /** The 8-byte rendezvous cookie (the same in every message of one rendezvous). */
  cookie: Uint8Array;
  /** The 16-byte capability naming the service (send file, Direct IM, Get File...). */
  capability: Uint8Array;
  /** 0x000A. */
  requestIndex?: number;
  /** 0x0002, 4 bytes. */
  address?: Uint8Array;
  /** 0x0003, 4 bytes. */
  clientAddress?: Uint8Array;
  /** 0x0004, 4 bytes. */
  verifiedAddress?: Uint8Array;
  /** 0x7C11, 16 bytes. */
  address6?: Uint8Array;
  /** 0x0005. */
  port?: number;
  /** 0x0010 present. */
  viaProxy?: boolean;
  /** 0x0011 present. */
  tls?: boolean;
  /** 0x000F present. */
  hostCheck?: boolean;
  /** 0x000B. */
  cancelReason?: number;
  /** 0x000C as text (UTF-8 when it is valid UTF-8, else Latin-1). */
  invitation?: string;
  /** 0x2711. */
  serviceData?: Uint8Array;
  /** 0x2712. */
  serviceCharset?: string;
  /** TLVs not modelled above, in order (written after the modelled ones). */
  extra?: Tlv[];
}

const MODELLED: ReadonlySet<number> = new Set([
  RvTlv.REQUEST_INDEX, RvTlv.ADDRESS, RvTlv.CLIENT_ADDRESS, RvTlv.VERIFIED_ADDRESS, RvTlv.CERTIM_ADDRESS6, RvTlv.PORT,
  RvTlv.USE_PROXY, RvTlv.USE_TLS, RvTlv.REQUEST_HOST_CHECK, RvTlv.CANCEL_REASON, RvTlv.INVITATION, RvTlv.SERVICE_DATA,
  RvTlv.SERVICE_CHARSET, RvTlv.ADDRESS_CHECK, RvTlv.PORT_CHECK,
]);

function fixed(tlvs: ReturnType<typeof readTlvRestList>, type: number, size: number): Uint8Array | undefined {
  const t = tlvs.get(type);
  if (t === undefined) return undefined;
  if (t.value.length !== size) throw new WireError('BAD_LENGTH', t.offset, `rendezvous TLV 0x${type.toString(16).padStart(4, '0')} of ${t.value.length} bytes (want ${size})`);
  return t.value;
}

/** Decodes a rendezvous block (the value of ICBM TLV 0x0005). */
export function decodeRendezvous(rv: Uint8Array): RendezvousMessage {
  const r = new ByteReader(rv);
  const type = r.u16('rendezvous type');
  if (type > 2) throw new WireError('BAD_VALUE', 0, `rendezvous type ${type}`);
  const cookie = r.bytes(8, 'rendezvous cookie');
  const capability = r.bytes(16, 'rendezvous capability');
  const tlvs = readTlvRestList(r, 256);
  const m: RendezvousMessage = { type, cookie, capability };
  const u16 = (t: number): number | undefined => {
    const v = fixed(tlvs, t, 2);
    return v ? (v[0]! << 8) | v[1]! : undefined;
  };
  const index = u16(RvTlv.REQUEST_INDEX);
  if (index !== undefined) m.requestIndex = index;
  const port = u16(RvTlv.PORT);
  if (port !== undefined) m.port = port;
  const reason = u16(RvTlv.CANCEL_REASON);
  if (reason !== undefined) m.cancelReason = reason;
  const a = fixed(tlvs, RvTlv.ADDRESS, 4);
  if (a) m.address = a;
  const ca = fixed(tlvs, RvTlv.CLIENT_ADDRESS, 4);
  if (ca) m.clientAddress = ca;
  const va = fixed(tlvs, RvTlv.VERIFIED_ADDRESS, 4);
  if (va) m.verifiedAddress = va;
  const a6 = fixed(tlvs, RvTlv.CERTIM_ADDRESS6, 16);
  if (a6) m.address6 = a6;
  if (tlvs.has(RvTlv.USE_PROXY)) m.viaProxy = true;
  if (tlvs.has(RvTlv.USE_TLS)) m.tls = true;
  if (tlvs.has(RvTlv.REQUEST_HOST_CHECK)) m.hostCheck = true;
  const text = tlvs.bytes(RvTlv.INVITATION);
  if (text) m.invitation = decodeText(text);
  const sd = tlvs.bytes(RvTlv.SERVICE_DATA);
  if (sd) m.serviceData = sd;
  const cs = tlvs.bytes(RvTlv.SERVICE_CHARSET);
  if (cs) m.serviceCharset = decodeText(cs);
  const extra = [...tlvs].filter((t) => !MODELLED.has(t.type));
  if (extra.length > 0) m.extra = extra;
  return m;
}

function u32Of(b: Uint8Array): number {
  return ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
}

/** Encodes a rendezvous block. The NAT-check TLVs (0x0016, 0x0017) are derived from `address` and `port`. */
export function encodeRendezvous(m: RendezvousMessage): Uint8Array {
  if (m.cookie.length !== 8) throw new RangeError('rendezvous cookie must be 8 bytes');
  if (m.capability.length !== 16) throw new RangeError('capability must be 16 bytes');
  const check = (b: Uint8Array | undefined, n: number, what: string): void => {
    if (b !== undefined && b.length !== n) throw new RangeError(`${what} must be ${n} bytes`);
  };
  check(m.address, 4, 'address');
  check(m.clientAddress, 4, 'client address');
  check(m.verifiedAddress, 4, 'verified address');
  check(m.address6, 16, 'IPv6 address');
  const tlvs: Tlv[] = [];
  if (m.requestIndex !== undefined) tlvs.push(tlvU16(RvTlv.REQUEST_INDEX, m.requestIndex));
  if (m.address) tlvs.push(tlv(RvTlv.ADDRESS, m.address));
  if (m.clientAddress) tlvs.push(tlv(RvTlv.CLIENT_ADDRESS, m.clientAddress));
  if (m.verifiedAddress) tlvs.push(tlv(RvTlv.VERIFIED_ADDRESS, m.verifiedAddress));
  if (m.address6) tlvs.push(tlv(RvTlv.CERTIM_ADDRESS6, m.address6));
  if (m.port !== undefined) {
    tlvs.push(tlvU16(RvTlv.PORT, m.port));
    if (m.address) tlvs.push(tlv(RvTlv.ADDRESS_CHECK, new ByteWriter(4).u32((~u32Of(m.address)) >>> 0).finish()));
    tlvs.push(tlvU16(RvTlv.PORT_CHECK, (~m.port) & 0xffff));
  }
  if (m.hostCheck) tlvs.push(tlv(RvTlv.REQUEST_HOST_CHECK));
  if (m.viaProxy) tlvs.push(tlv(RvTlv.USE_PROXY));
  if (m.tls) tlvs.push(tlv(RvTlv.USE_TLS));
  if (m.cancelReason !== undefined) tlvs.push(tlvU16(RvTlv.CANCEL_REASON, m.cancelReason));
  if (m.invitation !== undefined) tlvs.push(tlv(RvTlv.INVITATION, encodeText(m.invitation)));
  if (m.serviceData) tlvs.push(tlv(RvTlv.SERVICE_DATA, m.serviceData));
  if (m.serviceCharset !== undefined) tlvs.push(tlv(RvTlv.SERVICE_CHARSET, encodeText(m.serviceCharset)));
  for (const t of m.extra ?? []) tlvs.push(t);
  const w = new ByteWriter(64).u16(m.type).bytes(m.cookie).bytes(m.capability);
  return writeTlvRestList(w, tlvs).finish();
}

/** The address a proposal asks the peer to connect to: the server-seen IPv4 first, then 0x0002, then 0x0003. */
export function proposalAddresses(m: RendezvousMessage): { ipv4: string[]; ipv6: string[] } {
  const seen = new Set<string>();
  const ipv4: string[] = [];
  // Through the proxy only 0x0002 (the proxy's address) counts; the others name the proposer.
  const candidates = m.viaProxy ? [m.address] : [m.verifiedAddress, m.address, m.clientAddress];
  for (const a of candidates) {
    if (!a) continue;
    const s = [...a].join('.');
    if (s === '0.0.0.0' || seen.has(s)) continue;
    seen.add(s);
    ipv4.push(s);
  }
  const ipv6 = m.address6 && !m.viaProxy ? [ipv6Text(m.address6)] : [];
  return { ipv4, ipv6 };
}

/** Text form of a 16-byte IPv6 address (not compressed; Node accepts it). */
export function ipv6Text(b: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return parts.join(':');
}

/** Send-file service data kinds (docs/protocol.md §8.1). */
export const SendFileKind = {
  OneFile: 1,
  Directory: 2,
} as const;

/** The send-file service data (TLV 0x2711 with the send-file capability). */
export interface SendFileServiceData {
  /** {@link SendFileKind}. */
  kind: number;
  /** Number of files. */
  fileCount: number;
  /** Total size in bytes (u32 on the wire: sizes above 4 GiB - 1 cannot be offered). */
  totalSize: number;
  /** The file name (one file) or the directory name. */
  name: string;
}

/** Longest name accepted in the service data (a hostile peer gets a WireError, not an allocation). */
export const MAX_SERVICE_NAME_BYTES = 1024;

/** Decodes send-file service data: u16 kind, u16 count, u32 total size, name bytes, then zero padding. */
export function decodeSendFileServiceData(b: Uint8Array): SendFileServiceData {
  const r = new ByteReader(b);
  const kind = r.u16('send-file kind');
  const fileCount = r.u16('file count');
  const totalSize = r.u32('total size');
  let rest = r.rest();
  const nul = rest.indexOf(0);
  if (nul >= 0) rest = rest.subarray(0, nul);
  if (rest.length > MAX_SERVICE_NAME_BYTES) throw new WireError('BAD_LENGTH', 8, `offered name of ${rest.length} bytes`);
  return { kind, fileCount, totalSize, name: decodeText(rest) };
}

/** Encodes send-file service data (the name is followed by zero bytes, as classic clients write it). */
export function encodeSendFileServiceData(d: SendFileServiceData): Uint8Array {
  const name = encodeText(d.name);
  if (d.totalSize > 0xffffffff || d.totalSize < 0) throw new RangeError('total size must fit in a u32');
  return new ByteWriter(8 + name.length + 46).u16(d.kind).u16(d.fileCount).u32(d.totalSize).bytes(name).bytes(new Uint8Array(46)).finish();
}
