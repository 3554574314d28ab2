/**
 * AOL's rendezvous proxy protocol (docs/protocol.md §8.3): the framing both peers speak to the proxy before it
 * splices their sockets, plus the few fields of a channel-2 rendezvous block (§8.1) the server remembers to
 * authorise a proxy session.
 *
 * Packet: u16 length of everything after this field, u16 version 0x044A, u16 command, u32 zero, u16 flags (client
 * 0x0000, server 0x0220), command data. Pure functions over Uint8Array; every decoder is bounds-checked and fails
 * only with `WireError`.
 */
import { ByteReader, ByteWriter, WireError, decodeText } from './bytes.js';
import { readTlvRestList, tlv, writeTlvRestList } from './tlv.js';

/** The only protocol version anyone spoke (`PEER_PROXY_PACKET_VERSION`, docs/protocol.md §8.3). */
export const RV_PROXY_VERSION = 0x044a;
/** Bytes of the fixed header: length, version, command, u32 zero, flags. */
export const RV_PROXY_HEADER_SIZE = 12;
/** Flags the proxy sets in its packets (docs/protocol.md §8.3). */
export const RV_PROXY_SERVER_FLAGS = 0x0220;
/**
 * Largest packet (header included) a decoder accepts. A client packet is a string08 screen name, u16, u64 and one
 * 20-byte TLV: under 300 bytes; the cap leaves room for extra TLVs and stops a hostile length before allocation.
 */
export const RV_PROXY_MAX_PACKET = 1024;

/** Proxy commands (docs/protocol.md §8.3). */
export const RvProxyCommand = {
  /** Proxy -> client: u16 error code. */
  Error: 0x0001,
  /** Proposer -> proxy: string08 SN, u64 cookie, TLV 0x0001 capability. */
  InitSend: 0x0002,
  /** Proxy -> proposer: u16 port, u32 IPv4. */
  Ack: 0x0003,
  /** Acceptor -> proxy: string08 SN, u16 port, u64 cookie, TLV 0x0001 capability. */
  InitRecv: 0x0004,
  /** Proxy -> both: the splice starts after this packet. */
  Ready: 0x0005,
} as const;

/**
 * Error codes of command 0x0001. AOL's meanings are known from clients only (libpurple `peer_proxy.c`: 0x000D bad
 * request, 0x0010 initial request timed out, 0x001A accept period timed out; docs/protocol.md §8.3, §9.6).
 */
export const RvProxyErrorCode = {
  /** Malformed packet, unknown command, or a request the proxy refuses (no such rendezvous, not signed on). */
  BadRequest: 0x000d,
  /** No init packet within the handshake time. */
  InitialRequestTimeout: 0x0010,
  /** The peer did not join within the pairing time. */
  AcceptTimeout: 0x001a,
} as const;

/** One proxy packet. */
export interface RvProxyPacket {
  /** Command ({@link RvProxyCommand}). */
  command: number;
  /** Flags (client 0x0000, server 0x0220). */
  flags: number;
  /** Command data (a view into the input). */
  data: Uint8Array;
}

/** The fixed header, decoded. */
export interface RvProxyHeader {
  /** Total packet size including the 2-byte length field. */
  packetSize: number;
  /** Command. */
  command: number;
  /** Flags. */
  flags: number;
}

/**
 * Decodes the 12-byte header (`buf` may be longer). Checks the version and the length against
 * {@link RV_PROXY_MAX_PACKET} before the caller allocates anything for the body.
 */
export function decodeRvProxyHeader(buf: Uint8Array, maxPacket = RV_PROXY_MAX_PACKET): RvProxyHeader {
  const r = new ByteReader(buf);
  const length = r.u16('proxy packet length');
  if (length < RV_PROXY_HEADER_SIZE - 2) throw new WireError('BAD_LENGTH', 0, `proxy packet length ${length} < ${RV_PROXY_HEADER_SIZE - 2}`);
  if (length + 2 > maxPacket) throw new WireError('FRAME_TOO_LARGE', 0, `proxy packet of ${length + 2} bytes > ${maxPacket}`);
  const version = r.u16('proxy version');
  if (version !== RV_PROXY_VERSION) throw new WireError('BAD_VALUE', 2, `proxy version 0x${version.toString(16)} (want 0x044a)`);
  const command = r.u16('proxy command');
  r.skip(4, 'proxy reserved u32');
  const flags = r.u16('proxy flags');
  return { packetSize: length + 2, command, flags };
}

/** Decodes exactly one packet (no trailing bytes). */
export function decodeRvProxyPacket(buf: Uint8Array, maxPacket = RV_PROXY_MAX_PACKET): RvProxyPacket {
  const h = decodeRvProxyHeader(buf, maxPacket);
  if (buf.length < h.packetSize) throw new WireError('TRUNCATED', buf.length, `proxy packet needs ${h.packetSize} bytes, have ${buf.length}`);
  if (buf.length > h.packetSize) throw new WireError('TRAILING_BYTES', h.packetSize, `${buf.length - h.packetSize} bytes after the proxy packet`);
  return { command: h.command, flags: h.flags, data: buf.subarray(RV_PROXY_HEADER_SIZE, h.packetSize) };
}

/** Encodes one packet. */
export function encodeRvProxyPacket(command: number, data: Uint8Array = new Uint8Array(0), flags = 0): Uint8Array {
  const size = RV_PROXY_HEADER_SIZE + data.length;
  if (size > 0xffff + 2) throw new RangeError('proxy packet too long');
  return new ByteWriter(size).u16(size - 2).u16(RV_PROXY_VERSION).u16(command).u32(0).u16(flags).bytes(data).finish();
}

/**
 * Splits the first packet off a byte stream: returns it and the bytes after it, or undefined while incomplete.
 * Throws (WireError) as soon as the header is bad, before the body has arrived.
 */
export function takeRvProxyPacket(buf: Uint8Array, maxPacket = RV_PROXY_MAX_PACKET): { packet: RvProxyPacket; rest: Uint8Array } | undefined {
  if (buf.length < RV_PROXY_HEADER_SIZE) {
    // A length field already over the cap fails early (a 2-byte prefix is enough to know).
    if (buf.length >= 2) {
      const length = (buf[0]! << 8) | buf[1]!;
      if (length + 2 > maxPacket) throw new WireError('FRAME_TOO_LARGE', 0, `proxy packet of ${length + 2} bytes > ${maxPacket}`);
    }
    return undefined;
  }
  const h = decodeRvProxyHeader(buf, maxPacket);
  if (buf.length < h.packetSize) return undefined;
  return { packet: { command: h.command, flags: h.flags, data: buf.subarray(RV_PROXY_HEADER_SIZE, h.packetSize) }, rest: buf.subarray(h.packetSize) };
}

/** Init-send (0x0002) data. */
export interface RvProxyInitSend {
  /** The sender's own screen name (as typed; not normalized). */
  screenName: string;
  /** The 8-byte rendezvous cookie. */
  cookie: Uint8Array;
  /** The 16-byte capability of TLV 0x0001, when present. */
  capability: Uint8Array | undefined;
}

/** Init-recv (0x0004) data. */
export interface RvProxyInitRecv extends RvProxyInitSend {
  /** The port from the proposal's TLV 0x0005 (the proxy's ack port). */
  port: number;
}

/** Screen names in proxy packets: 1..97 bytes (docs/protocol.md §1.4 allows no more). */
const MAX_SN = 97;

function readSn(r: ByteReader): string {
  const at = r.offset;
  const sn = r.block8('screen name');
  if (sn.length === 0 || sn.length > MAX_SN) throw new WireError('BAD_VALUE', at, `screen name of ${sn.length} bytes`);
  return decodeText(sn);
}

function readCapability(r: ByteReader): Uint8Array | undefined {
  const at = r.offset;
  const tlvs = readTlvRestList(r, 16);
  const cap = tlvs.bytes(0x0001);
  if (cap !== undefined && cap.length !== 16) throw new WireError('BAD_LENGTH', at, `capability TLV of ${cap.length} bytes`);
  return cap;
}

/** Decodes init-send data. */
export function decodeRvProxyInitSend(data: Uint8Array): RvProxyInitSend {
  const r = new ByteReader(data);
  const screenName = readSn(r);
  const cookie = r.bytes(8, 'rendezvous cookie');
  return { screenName, cookie, capability: readCapability(r) };
}

/** Decodes init-recv data. */
export function decodeRvProxyInitRecv(data: Uint8Array): RvProxyInitRecv {
  const r = new ByteReader(data);
  const screenName = readSn(r);
  const port = r.u16('port');
  const cookie = r.bytes(8, 'rendezvous cookie');
  return { screenName, port, cookie, capability: readCapability(r) };
}

function checkCookie(cookie: Uint8Array): void {
  if (cookie.length !== 8) throw new RangeError('rendezvous cookie must be 8 bytes');
}

/** Encodes an init-send packet (client side). */
export function encodeRvProxyInitSend(m: RvProxyInitSend): Uint8Array {
  checkCookie(m.cookie);
  const w = new ByteWriter(64).string8(m.screenName).bytes(m.cookie);
  return encodeRvProxyPacket(RvProxyCommand.InitSend, writeTlvRestList(w, m.capability ? [tlv(1, m.capability)] : []).finish());
}

/** Encodes an init-recv packet (client side). */
export function encodeRvProxyInitRecv(m: RvProxyInitRecv): Uint8Array {
  checkCookie(m.cookie);
  const w = new ByteWriter(64).string8(m.screenName).u16(m.port).bytes(m.cookie);
  return encodeRvProxyPacket(RvProxyCommand.InitRecv, writeTlvRestList(w, m.capability ? [tlv(1, m.capability)] : []).finish());
}

/** Ack (0x0003) data. */
export interface RvProxyAck {
  /** The port the proposer puts in its proposal (TLV 0x0005); the acceptor echoes it in init-recv. */
  port: number;
  /** The proxy's IPv4 address (4 bytes; 0.0.0.0 when the proxy has none to offer: use the host you reached). */
  ipv4: Uint8Array;
}

/** Encodes an ack packet (proxy side). */
export function encodeRvProxyAck(port: number, ipv4: Uint8Array): Uint8Array {
  if (ipv4.length !== 4) throw new RangeError('IPv4 address must be 4 bytes');
  return encodeRvProxyPacket(RvProxyCommand.Ack, new ByteWriter(6).u16(port).bytes(ipv4).finish(), RV_PROXY_SERVER_FLAGS);
}

/** Decodes ack data. */
export function decodeRvProxyAck(data: Uint8Array): RvProxyAck {
  const r = new ByteReader(data);
  const ack = { port: r.u16('port'), ipv4: r.bytes(4, 'IPv4 address') };
  r.expectEnd('proxy ack');
  return ack;
}

/** Encodes an error packet (proxy side). */
export function encodeRvProxyError(code: number): Uint8Array {
  return encodeRvProxyPacket(RvProxyCommand.Error, new ByteWriter(2).u16(code).finish(), RV_PROXY_SERVER_FLAGS);
}

/** Decodes error data: the u16 code (extra bytes ignored, as libpurple does). */
export function decodeRvProxyError(data: Uint8Array): number {
  return new ByteReader(data).u16('proxy error code');
}

/** Encodes the ready packet (proxy side). */
export function encodeRvProxyReady(): Uint8Array {
  return encodeRvProxyPacket(RvProxyCommand.Ready, new Uint8Array(0), RV_PROXY_SERVER_FLAGS);
}

/** Rendezvous message types: the u16 at the start of ICBM ch-2 TLV 0x0005 (docs/protocol.md §3.4, §8.1). */
export const RendezvousType = {
  /** A proposal (request). */
  Propose: 0,
  /** Cancel. */
  Cancel: 1,
  /** Accept. */
  Accept: 2,
} as const;

/** What the server remembers of a rendezvous block (ICBM ch-2 TLV 0x0005, docs/protocol.md §8.1). */
export interface RendezvousSummary {
  /** {@link RendezvousType}. */
  type: number;
  /** The 8-byte rendezvous cookie. */
  cookie: Uint8Array;
  /** The 16-byte capability. */
  capability: Uint8Array;
  /** TLV 0x0005 port, when present. */
  port: number | undefined;
  /** TLV 0x0010 present: the proposal points at a rendezvous proxy. */
  viaProxy: boolean;
}

/** Reads the routing fields of a rendezvous block (u16 type, u64 cookie, 16-byte capability, TLVs). */
export function decodeRendezvousSummary(rv: Uint8Array): RendezvousSummary {
  const r = new ByteReader(rv);
  const type = r.u16('rendezvous type');
  const cookie = r.bytes(8, 'rendezvous cookie');
  const capability = r.bytes(16, 'rendezvous capability');
  const at = r.offset;
  const tlvs = readTlvRestList(r);
  const portTlv = tlvs.bytes(0x0005);
  if (portTlv !== undefined && portTlv.length !== 2) throw new WireError('BAD_LENGTH', at, `port TLV of ${portTlv.length} bytes`);
  return { type, cookie, capability, port: portTlv ? (portTlv[0]! << 8) | portTlv[1]! : undefined, viaProxy: tlvs.has(0x0010) };
}
