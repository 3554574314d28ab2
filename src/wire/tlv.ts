/**
 * TLVs and the three TLV list encodings (docs/protocol.md §1.3, `R:wire/tlv.go`, `JP/tlv/Tlv.java`):
 *
 *   TLV          = u16 type, u16 length, value
 *   rest-list    = TLVs until the end of the enclosing data (no prefix)
 *   counted block= u16 TLV count, then TLVs (user-info blocks, chat room info)
 *   length block = u16 byte length, then TLVs (feedbag items)
 *
 * A type may repeat; accessors that return one value use the LAST occurrence, as joscar does (`getLastTlv`).
 * Values are views into the decoded buffer (no copies), so decoding allocates one small object per TLV.
 */
import { ByteReader, ByteWriter, WireError, decodeText, encodeText } from './bytes.js';

/** One TLV. `value` is a view into the buffer it was decoded from. */
export interface Tlv {
  /** u16 type tag. */
  readonly type: number;
  /** The value bytes (length = the TLV's u16 length field). */
  readonly value: Uint8Array;
  /** Absolute offset of `value` in the decoded buffer (for error reporting); -1 for locally built TLVs. */
  readonly offset: number;
}

/** Default cap on TLVs in one list: more than a 64 KiB frame of empty TLVs (16383) could hold. */
export const DEFAULT_MAX_TLVS = 16384;

/** Builds a TLV from a type and raw value. */
export function tlv(type: number, value: Uint8Array = new Uint8Array(0)): Tlv {
  return { type, value, offset: -1 };
}

/** Builds a TLV holding a big-endian u8. */
export function tlvU8(type: number, v: number): Tlv {
  return tlv(type, new ByteWriter(1).u8(v).finish());
}

/** Builds a TLV holding a big-endian u16. */
export function tlvU16(type: number, v: number): Tlv {
  return tlv(type, new ByteWriter(2).u16(v).finish());
}

/** Builds a TLV holding a big-endian u32. */
export function tlvU32(type: number, v: number): Tlv {
  return tlv(type, new ByteWriter(4).u32(v).finish());
}

/** Builds a TLV holding UTF-8 text (no length prefix inside the value). */
export function tlvString(type: number, s: string): Tlv {
  return tlv(type, encodeText(s));
}

/**
 * An ordered, immutable list of TLVs with typed accessors. Accessors return `undefined` when the type is
 * absent and throw WireError BAD_LENGTH when the value has the wrong width for the requested integer.
 */
export class TlvList implements Iterable<Tlv> {
  /** The TLVs in wire order. */
  readonly items: readonly Tlv[];

  constructor(items: readonly Tlv[] = []) {
    this.items = items;
  }

  /** Number of TLVs (repeats counted). */
  get size(): number {
    return this.items.length;
  }

  [Symbol.iterator](): Iterator<Tlv> {
    return this.items[Symbol.iterator]();
  }

  /** True if at least one TLV of `type` is present. */
  has(type: number): boolean {
    return this.getLast(type) !== undefined;
  }

  /** First TLV of `type`. */
  get(type: number): Tlv | undefined {
    for (const t of this.items) if (t.type === type) return t;
    return undefined;
  }

  /** Last TLV of `type` (joscar semantics for repeated types). */
  getLast(type: number): Tlv | undefined {
    for (let i = this.items.length - 1; i >= 0; i--) {
      const t = this.items[i]!;
      if (t.type === type) return t;
    }
    return undefined;
  }

  /** All TLVs of `type`, in wire order. */
  getAll(type: number): Tlv[] {
    return this.items.filter((t) => t.type === type);
  }

  /** Value bytes of the last TLV of `type`. */
  bytes(type: number): Uint8Array | undefined {
    return this.getLast(type)?.value;
  }

  /** Last TLV of `type` as u8 (value must be exactly 1 byte). */
  u8(type: number): number | undefined {
    const t = this.getLast(type);
    if (t === undefined) return undefined;
    checkWidth(t, 1);
    return t.value[0]!;
  }

  /** Last TLV of `type` as big-endian u16 (value must be exactly 2 bytes). */
  u16(type: number): number | undefined {
    const t = this.getLast(type);
    if (t === undefined) return undefined;
    checkWidth(t, 2);
    return (t.value[0]! << 8) | t.value[1]!;
  }

  /** Last TLV of `type` as big-endian u32 (value must be exactly 4 bytes). */
  u32(type: number): number | undefined {
    const t = this.getLast(type);
    if (t === undefined) return undefined;
    checkWidth(t, 4);
    const v = t.value;
    return ((v[0]! << 24) >>> 0) + ((v[1]! << 16) | (v[2]! << 8) | v[3]!);
  }

  /** Last TLV of `type` as text (UTF-8, invalid bytes replaced; never throws). */
  string(type: number): string | undefined {
    const t = this.getLast(type);
    return t === undefined ? undefined : decodeText(t.value);
  }
}

function checkWidth(t: Tlv, n: number): void {
  if (t.value.length !== n) {
    throw new WireError('BAD_LENGTH', Math.max(0, t.offset), `TLV 0x${hex4(t.type)} must be ${n} bytes, is ${t.value.length}`);
  }
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

/** Reads one TLV at the reader's position. */
export function readTlv(r: ByteReader): Tlv {
  const type = r.u16('TLV type');
  const len = r.u16('TLV length');
  const offset = r.offset;
  return { type, value: r.bytes(len, `TLV 0x${hex4(type)} value`), offset };
}

/**
 * Decodes TLVs from buf[start, end) until `end` (or until `count` TLVs when given) — the hot path, written
 * over raw indices to avoid a reader object per TLV. Returns the TLVs and the offset after the last one.
 */
function scanTlvs(buf: Uint8Array, start: number, end: number, count: number, maxTlvs: number): { items: Tlv[]; next: number } {
  const items: Tlv[] = [];
  let o = start;
  while (items.length < count && o < end) {
    if (o + 4 > end) throw new WireError('TRUNCATED', o, `TLV header needs 4 bytes, ${end - o} left`);
    if (items.length >= maxTlvs) throw new WireError('TOO_MANY', o, `more than ${maxTlvs} TLVs`);
    const type = (buf[o]! << 8) | buf[o + 1]!;
    const len = (buf[o + 2]! << 8) | buf[o + 3]!;
    const v = o + 4;
    if (v + len > end) throw new WireError('TRUNCATED', v, `TLV 0x${hex4(type)} value needs ${len} bytes, ${end - v} left`);
    items.push({ type, value: buf.subarray(v, v + len), offset: v });
    o = v + len;
  }
  return { items, next: o };
}

/** Reads a TLV rest-list: TLVs until the end of the reader's window. */
export function readTlvRestList(r: ByteReader, maxTlvs = DEFAULT_MAX_TLVS): TlvList {
  const { items, next } = scanTlvs(r.buf, r.offset, r.end, Infinity, maxTlvs);
  r.offset = next;
  return new TlvList(items);
}

/** Decodes a whole buffer as a TLV rest-list. */
export function decodeTlvRestList(buf: Uint8Array, maxTlvs = DEFAULT_MAX_TLVS): TlvList {
  return new TlvList(scanTlvs(buf, 0, buf.length, Infinity, maxTlvs).items);
}

/**
 * How a counted block treats its u16 count (docs/protocol.md §1.3 robustness rule):
 * - `exact`: read exactly `count` TLVs — required when more data follows the block (user info inside `04/07`);
 * - `to-end`: the block is the last thing in its enclosing field, so parse TLVs to the end and ignore a
 *   count that disagrees (joscar writes 0 as the count in chat-room create, §3.6).
 */
export type CountedBlockMode = 'exact' | 'to-end';

/** Reads a counted TLV block: u16 count, then TLVs. */
export function readTlvCountedBlock(r: ByteReader, mode: CountedBlockMode = 'exact', maxTlvs = DEFAULT_MAX_TLVS): TlvList {
  const count = r.u16('TLV count');
  const limit = mode === 'exact' ? count : Infinity;
  const { items, next } = scanTlvs(r.buf, r.offset, r.end, limit, maxTlvs);
  if (mode === 'exact' && items.length < count) {
    throw new WireError('TRUNCATED', next, `TLV block announces ${count} TLVs, only ${items.length} present`);
  }
  r.offset = next;
  return new TlvList(items);
}

/** Reads a length block: u16 byte length, then a TLV rest-list filling exactly that many bytes. */
export function readTlvLengthBlock(r: ByteReader, maxTlvs = DEFAULT_MAX_TLVS): TlvList {
  const len = r.u16('TLV block length');
  r.need(len, 'TLV block');
  const { items, next } = scanTlvs(r.buf, r.offset, r.offset + len, Infinity, maxTlvs);
  r.offset = next;
  return new TlvList(items);
}

/** Writes one TLV. */
export function writeTlv(w: ByteWriter, t: Tlv): ByteWriter {
  if (t.value.length > 0xffff) throw new RangeError(`TLV 0x${hex4(t.type)} value too long: ${t.value.length}`);
  return w.u16(t.type).u16(t.value.length).bytes(t.value);
}

/** Writes TLVs with no prefix (rest-list). */
export function writeTlvRestList(w: ByteWriter, tlvs: Iterable<Tlv>): ByteWriter {
  for (const t of tlvs) writeTlv(w, t);
  return w;
}

/** Writes a counted block: u16 count, then the TLVs. */
export function writeTlvCountedBlock(w: ByteWriter, tlvs: readonly Tlv[] | TlvList): ByteWriter {
  const items = tlvs instanceof TlvList ? tlvs.items : tlvs;
  w.u16(items.length);
  return writeTlvRestList(w, items);
}

/** Writes a length block: u16 byte length, then the TLVs. */
export function writeTlvLengthBlock(w: ByteWriter, tlvs: Iterable<Tlv>): ByteWriter {
  const done = w.lengthPrefix16();
  writeTlvRestList(w, tlvs);
  return done();
}

/** Encodes TLVs as a rest-list into a fresh buffer. */
export function encodeTlvRestList(tlvs: Iterable<Tlv>): Uint8Array {
  return writeTlvRestList(new ByteWriter(), tlvs).finish();
}
