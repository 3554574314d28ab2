/**
 * Capability UUIDs (docs/protocol.md §5): 16 bytes, shown as GUID text in wire byte order. Carried in user-info
 * TLV 0x000D (N x 16), Locate `02/04` TLV 0x0005, and as rendezvous capability in ICBM channel 2.
 * AOL-style caps are `0946xxxx-4C7F-11D1-8222-444553540000`; TLV 0x0019 carries only the xxxx ("short caps").
 */
import { WireError } from './bytes.js';

/** Size of one capability UUID. */
export const CAPABILITY_SIZE = 16;


/**
 * Known capabilities as canonical (upper-case) GUID strings.
 * `CertimModernSecureIm` is certim's own: generated once at random (v4) on 2026-11-22 for certim clients to
 * announce the modern secure-IM profile alongside (not instead of) AIM's `SecureIm`. Never change it.
 * `CertimSecureRooms` is certim's second: generated once at random (v4) on 2026-11-30; a client announcing it reads
 * certim's secure-room profile (key epochs, rekeying, docs/protocol.md §16.1). Never change it either.
 */
export const Capability = {
  /** AIM Secure IM / encryption with personal certificates. */
  SecureIm: '09460001-4C7F-11D1-8222-444553540000',
  /** Short-caps marker / iChat. */
  ShortCaps: '09460000-4C7F-11D1-8222-444553540000',
  Video: '09460100-4C7F-11D1-8222-444553540000',
  LiveVideo: '09460101-4C7F-11D1-8222-444553540000',
  Camera: '09460102-4C7F-11D1-8222-444553540000',
  Microphone: '09460103-4C7F-11D1-8222-444553540000',
  Sms: '094601FF-4C7F-11D1-8222-444553540000',
  Hiptop: '09461323-4C7F-11D1-8222-444553540000',
  Voice: '09461341-4C7F-11D1-8222-444553540000',
  /** Send file (OFT). */
  SendFile: '09461343-4C7F-11D1-8222-444553540000',
  IcqDirect: '09461344-4C7F-11D1-8222-444553540000',
  /** Direct IM (ODC). */
  DirectIm: '09461345-4C7F-11D1-8222-444553540000',
  /** Buddy icon. */
  BuddyIcon: '09461346-4C7F-11D1-8222-444553540000',
  AddIns: '09461347-4C7F-11D1-8222-444553540000',
  /** Get file (shared-folder browse). */
  GetFile: '09461348-4C7F-11D1-8222-444553540000',
  IcqServerRelay: '09461349-4C7F-11D1-8222-444553540000',
  Games: '0946134A-4C7F-11D1-8222-444553540000',
  SendBuddyList: '0946134B-4C7F-11D1-8222-444553540000',
  Interop: '0946134D-4C7F-11D1-8222-444553540000',
  IcqUtf8: '0946134E-4C7F-11D1-8222-444553540000',
  /** Chat room invitations (rendezvous). */
  Chat: '748F2420-6287-11D1-8222-444553540000',
  IChatAv: '09460105-4C7F-11D1-8222-444545535400',
  /** Trillian SecureIM — an unrelated scheme, listed so it is never mistaken for AIM's. */
  TrillianSecureIm: 'F2E7C7F4-FEAD-4DFB-B235-36798BDF0000',
  /** certim's modern secure-IM profile (see above). */
  CertimModernSecureIm: '47F62DA0-5B24-47FA-8E2C-F5BC66061803',
  /** certim's secure-room profile (see above). */
  CertimSecureRooms: 'F84EBDF2-6228-49D5-93E6-B0A2336D25A2',
} as const;

/** Name of a known capability. */
export type CapabilityName = keyof typeof Capability;

const byString = new Map<string, CapabilityName>(
  (Object.keys(Capability) as CapabilityName[]).map((k) => [Capability[k], k]),
);

const GUID_RE = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

/** Parses GUID text into 16 wire bytes. Throws WireError BAD_VALUE on malformed text. */
export function capabilityFromString(s: string): Uint8Array {
  if (!GUID_RE.test(s)) throw new WireError('BAD_VALUE', 0, `not a GUID: ${JSON.stringify(s.slice(0, 40))}`);
  const hex = s.replace(/-/g, '');
  const out = new Uint8Array(CAPABILITY_SIZE);
  for (let i = 0; i < CAPABILITY_SIZE; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** `09460000-4C7F-11D1-8222-444553540000`: AOL-style caps differ only in bytes 2-3. */
const AOL_TEMPLATE = capabilityFromString(Capability.ShortCaps);

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0').toUpperCase());

/** Formats 16 bytes as canonical upper-case GUID text. Throws WireError BAD_LENGTH unless 16 bytes. */
export function capabilityToString(b: Uint8Array): string {
  if (b.length !== CAPABILITY_SIZE) throw new WireError('BAD_LENGTH', 0, `capability must be 16 bytes, is ${b.length}`);
  let h = '';
  for (const x of b) h += HEX[x]!;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Wire bytes of a known capability. */
export function capabilityBytes(name: CapabilityName): Uint8Array {
  return capabilityFromString(Capability[name]);
}

/** Name of a capability, or undefined if unknown. */
export function capabilityName(b: Uint8Array): CapabilityName | undefined {
  return b.length === CAPABILITY_SIZE ? byString.get(capabilityToString(b)) : undefined;
}

/** Byte equality of two capabilities. */
export function capabilityEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True if `caps` contains `cap`. */
export function hasCapability(caps: readonly Uint8Array[], cap: Uint8Array | CapabilityName): boolean {
  const c = typeof cap === 'string' ? capabilityBytes(cap) : cap;
  return caps.some((x) => capabilityEquals(x, c));
}

/** Decodes a capability block (N x 16 bytes). Returns views. Throws BAD_LENGTH unless a multiple of 16. */
export function decodeCapabilityBlock(buf: Uint8Array): Uint8Array[] {
  if (buf.length % CAPABILITY_SIZE !== 0) {
    throw new WireError('BAD_LENGTH', buf.length - (buf.length % CAPABILITY_SIZE), `capability block length ${buf.length} is not a multiple of 16`);
  }
  const out: Uint8Array[] = [];
  for (let o = 0; o < buf.length; o += CAPABILITY_SIZE) out.push(buf.subarray(o, o + CAPABILITY_SIZE));
  return out;
}

/** Encodes capabilities (bytes or known names) as a capability block. */
export function encodeCapabilityBlock(caps: readonly (Uint8Array | CapabilityName)[]): Uint8Array {
  const out = new Uint8Array(caps.length * CAPABILITY_SIZE);
  caps.forEach((c, i) => {
    const b = typeof c === 'string' ? capabilityBytes(c) : c;
    if (b.length !== CAPABILITY_SIZE) throw new RangeError(`capability must be 16 bytes, is ${b.length}`);
    out.set(b, i * CAPABILITY_SIZE);
  });
  return out;
}

/** Decodes a short-capability block (TLV 0x0019: N x u16). Throws BAD_LENGTH on an odd length. */
export function decodeShortCapabilities(buf: Uint8Array): number[] {
  if (buf.length % 2 !== 0) throw new WireError('BAD_LENGTH', buf.length - 1, `short capability block length ${buf.length} is odd`);
  const out: number[] = [];
  for (let o = 0; o < buf.length; o += 2) out.push((buf[o]! << 8) | buf[o + 1]!);
  return out;
}

/** Encodes short capabilities (u16 each). */
export function encodeShortCapabilities(shorts: readonly number[]): Uint8Array {
  const out = new Uint8Array(shorts.length * 2);
  shorts.forEach((s, i) => {
    if (!Number.isInteger(s) || s < 0 || s > 0xffff) throw new RangeError(`short capability out of range: ${s}`);
    out[i * 2] = s >> 8;
    out[i * 2 + 1] = s & 0xff;
  });
  return out;
}

/** Expands a short capability xxxx to the full `0946xxxx-4C7F-11D1-8222-444553540000` UUID. */
export function expandShortCapability(short: number): Uint8Array {
  const b = new Uint8Array(AOL_TEMPLATE);
  b[2] = (short >> 8) & 0xff;
  b[3] = short & 0xff;
  return b;
}

/** The short form of an AOL-style capability, or undefined if `cap` is not of the 0946xxxx family. */
export function shortCapabilityOf(cap: Uint8Array): number | undefined {
  if (cap.length !== CAPABILITY_SIZE || cap[0] !== 0x09 || cap[1] !== 0x46) return undefined;
  const probe = expandShortCapability((cap[2]! << 8) | cap[3]!);
  return capabilityEquals(probe, cap) ? (cap[2]! << 8) | cap[3]! : undefined;
}
