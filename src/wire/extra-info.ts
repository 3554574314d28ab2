/**
 * ExtraInfoBlock, a.k.a. BART ID (docs/protocol.md §4.1 TLV 0x001D, §6.1, §6.4, §3.10):
 *
 *   u16 type · u8 flags · u8 length · data
 *
 * Used for buddy-icon hashes (type 1), available messages (type 2) and the certificate BART hashes
 * (types 0x0402 / 0x0403, flags 0x01, 16-byte MD5).
 */
import { ByteReader, ByteWriter } from './bytes.js';

/** One ExtraInfoBlock / BART ID. `data` is a view into the decoded buffer. */
export interface ExtraInfoBlock {
  /** u16 BART type. */
  readonly type: number;
  /** u8 flags. */
  readonly flags: number;
  /** Data (at most 255 bytes). */
  readonly data: Uint8Array;
}

/** Known BART types. */
export const BartType = {
  /** Buddy icon hash. */
  BuddyIcon: 0x0001,
  /** Available (status) message, flags 0x04: u16 len + UTF-8 text + u16 0. */
  StatusText: 0x0002,
  /** Certificate hash A (Secure IM, §6.1). */
  CertHashA: 0x0402,
  /** Certificate hash B (Secure IM, §6.1). */
  CertHashB: 0x0403,
} as const;

/** Reads one ExtraInfoBlock at the reader's position. */
export function readExtraInfoBlock(r: ByteReader): ExtraInfoBlock {
  const type = r.u16('BART type');
  const flags = r.u8('BART flags');
  const data = r.block8('BART data');
  return { type, flags, data };
}

/** Decodes exactly one ExtraInfoBlock filling all of `buf`. */
export function decodeExtraInfoBlock(buf: Uint8Array): ExtraInfoBlock {
  const r = new ByteReader(buf);
  const b = readExtraInfoBlock(r);
  r.expectEnd('ExtraInfoBlock');
  return b;
}

/** Decodes ExtraInfoBlocks back to back until the end of `buf` (e.g. user-info TLV 0x001D). */
export function decodeExtraInfoBlocks(buf: Uint8Array): ExtraInfoBlock[] {
  const r = new ByteReader(buf);
  const out: ExtraInfoBlock[] = [];
  while (!r.done) out.push(readExtraInfoBlock(r));
  return out;
}

/** Writes one ExtraInfoBlock. Throws RangeError if data exceeds 255 bytes. */
export function writeExtraInfoBlock(w: ByteWriter, b: ExtraInfoBlock): ByteWriter {
  return w.u16(b.type).u8(b.flags).block8(b.data);
}

/** Encodes one ExtraInfoBlock. */
export function encodeExtraInfoBlock(b: ExtraInfoBlock): Uint8Array {
  return writeExtraInfoBlock(new ByteWriter(4 + b.data.length), b).finish();
}

/** Encodes ExtraInfoBlocks back to back. */
export function encodeExtraInfoBlocks(bs: readonly ExtraInfoBlock[]): Uint8Array {
  const w = new ByteWriter(64);
  for (const b of bs) writeExtraInfoBlock(w, b);
  return w.finish();
}
