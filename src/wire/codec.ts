/**
 * A small typed codec over {@link ByteReader} / {@link ByteWriter}: one declaration of a wire shape yields its
 * encoder, its decoder and its TypeScript type (docs/protocol.md §1 for the primitives, §1.3 for TLV lists).
 *
 *   const X = record({ family: u16, tlvs: tlvRest() });
 *   type XValue = Infer<typeof X>;   // { family: number; tlvs: TlvList }
 *   X.encode(v); X.decode(bytes);    // decode rejects trailing bytes
 *
 * The decoder contract of the wire layer holds for every declaration: reads are bounds-checked, failures are
 * {@link WireError} with the stable codes, byte fields are views into the input (no copies), loops always advance,
 * and counts are capped. Encoders treat out-of-range values as programming errors (RangeError), like ByteWriter.
 */
import { ByteReader, ByteWriter, WireError, decodeText, encodeText } from './bytes.js';
import { DEFAULT_MAX_TLVS, TlvList, readTlvCountedBlock, readTlvRestList, writeTlvCountedBlock, writeTlvRestList, type CountedBlockMode, type Tlv } from './tlv.js';

/**
 * A field codec: reads one `T` at the reader's position, writes one `I` at the writer's end. `I` is what encoders
 * accept — `T` itself, except that arrays may be readonly.
 */
export interface Codec<T, I = T> {
  /** Reads the value; throws only WireError. */
  read(r: ByteReader): T;
  /** Writes the value. */
  write(w: ByteWriter, v: I): void;
  /** Exact encoded size when every value has the same size (u16: 2), else undefined. */
  readonly size?: number | undefined;
}

/** A codec for a whole body: `decode` requires the input to be consumed exactly (or, if declared so, leniently). */
export interface BodyCodec<T, I = T> extends Codec<T, I> {
  /** Encodes `v` into a fresh buffer (a view of exactly the bytes written). */
  encode(v: I): Uint8Array;
  /** Decodes a whole buffer; WireError TRAILING_BYTES when bytes are left over (unless declared `trailing: 'ignore'`). */
  decode(bytes: Uint8Array): T;
}

/** The value type a codec decodes to. */
export type Infer<C> = C extends Codec<infer T, any> ? T : never; // eslint-disable-line @typescript-eslint/no-explicit-any
/** The value type a codec's encoder accepts (arrays may be readonly). */
export type InferInput<C> = C extends Codec<any, infer I> ? I : never; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Options of {@link body} and {@link record}. */
export interface BodyOptions {
  /** 'reject' (default): decode throws TRAILING_BYTES on leftovers; 'ignore': leftovers are skipped. */
  trailing?: 'reject' | 'ignore';
  /** Initial writer capacity for `encode` (a hint; the writer grows). */
  capacity?: number;
}

/** Makes a whole-body codec of a field codec. */
export function body<T, I = T>(c: Codec<T, I>, opts: BodyOptions = {}): BodyCodec<T, I> {
  const reject = opts.trailing !== 'ignore';
  const capacity = opts.capacity ?? c.size ?? 64;
  return {
    read: c.read,
    write: c.write,
    size: c.size,
    encode(v: I): Uint8Array {
      const w = new ByteWriter(capacity);
      c.write(w, v);
      return w.finish();
    },
    decode(bytes: Uint8Array): T {
      const r = new ByteReader(bytes);
      const v = c.read(r);
      if (reject) r.expectEnd('body');
      return v;
    },
  };
}

/** Unsigned 8-bit integer. */
export const u8: Codec<number> = { read: (r) => r.u8(), write: (w, v) => void w.u8(v), size: 1 };
/** Unsigned big-endian 16-bit integer. */
export const u16: Codec<number> = { read: (r) => r.u16(), write: (w, v) => void w.u16(v), size: 2 };
/** Unsigned big-endian 32-bit integer. */
export const u32: Codec<number> = { read: (r) => r.u32(), write: (w, v) => void w.u32(v), size: 4 };
/** A u32 whose encoder wraps modulo 2^32 (`>>> 0`): Unix-seconds timestamps (docs/protocol.md §3.9). */
export const u32wrap: Codec<number> = { read: (r) => r.u32(), write: (w, v) => void w.u32(v >>> 0), size: 4 };
/** A u8 flag: nonzero reads as true, writes 1 or 0. */
export const bool8: Codec<boolean> = { read: (r) => r.u8() !== 0, write: (w, v) => void w.u8(v ? 1 : 0), size: 1 };

/** Exactly `n` bytes (a view); encoding a value of another length is a RangeError. */
export function fixedBytes(n: number): Codec<Uint8Array> {
  return {
    read: (r) => r.bytes(n),
    write: (w, v) => {
      if (v.length !== n) throw new RangeError(`expected ${n} bytes, got ${v.length}`);
      w.bytes(v);
    },
    size: n,
  };
}

/** u8 length then bytes (a view). */
export const block08: Codec<Uint8Array> = { read: (r) => r.block8(), write: (w, v) => void w.block8(v) };
/** u16 length then bytes (a view). */
export const block16: Codec<Uint8Array> = { read: (r) => r.block16(), write: (w, v) => void w.block16(v) };
/** "string08": u8 length then UTF-8 text (invalid bytes replaced). */
export const string08: Codec<string> = { read: (r) => r.string8(), write: (w, v) => void w.string8(v) };
/** "string16": u16 length then UTF-8 text (invalid bytes replaced). */
export const string16: Codec<string> = { read: (r) => r.string16(), write: (w, v) => void w.string16(v) };
/** A string08 that must not be empty (WireError BAD_VALUE): a screen name a request is addressed to (docs/protocol.md §3.2, §3.4). */
export const nonEmptyString08: Codec<string> = {
  read: (r) => {
    const at = r.offset;
    const s = r.string8('screen name');
    if (s.length === 0) throw new WireError('BAD_VALUE', at, 'empty screen name');
    return s;
  },
  write: (w, v) => void w.string8(v),
};
/** Everything left in the window, as a view (last field of a body or of a TLV value). */
export const restBytes: Codec<Uint8Array> = { read: (r) => r.rest(), write: (w, v) => void w.bytes(v) };
/** Everything left in the window, as UTF-8 text (a TLV value holding a bare string). */
export const restString: Codec<string> = { read: (r) => decodeText(r.rest()), write: (w, v) => void w.bytes(encodeText(v)) };

/** A TLV rest-list (docs/protocol.md §1.3): TLVs to the end of the window, at most `maxTlvs`; encodes any iterable of TLVs. */
export function tlvRest(maxTlvs = DEFAULT_MAX_TLVS): Codec<TlvList, Iterable<Tlv>> {
  return { read: (r) => readTlvRestList(r, maxTlvs), write: (w, v) => void writeTlvRestList(w, v) };
}

/**
 * A counted TLV block (docs/protocol.md §1.3): u16 count, then TLVs. `exact` reads exactly `count` TLVs; `to-end` (the
 * block ends its field) reads to the end whatever the count says. Encodes the real count.
 */
export function tlvCounted(mode: CountedBlockMode = 'exact', maxTlvs = DEFAULT_MAX_TLVS): Codec<TlvList, readonly Tlv[]> {
  return { read: (r) => readTlvCountedBlock(r, mode, maxTlvs), write: (w, v) => void writeTlvCountedBlock(w, v) };
}

/** A trailing field that may be missing altogether: decodes to `empty()` when the window is already consumed. */
export function orEmptyAtEnd<T, I>(c: Codec<T, I>, empty: () => T): Codec<T, I> {
  return { read: (r) => (r.done ? empty() : c.read(r)), write: c.write };
}

/** Adds a validity check to a codec's decoder: `check` throws WireError (the offset is where the value started). */
export function checked<T, I>(c: Codec<T, I>, check: (v: T, offset: number) => void): Codec<T, I> {
  return {
    read: (r) => {
      const at = r.offset;
      const v = c.read(r);
      check(v, at);
      return v;
    },
    write: c.write,
    size: c.size,
  };
}

/** Marks a codec whose value is not part of the record's type (a reserved or version field). */
export interface Ignored extends Codec<undefined> {
  /** Brand: the field is dropped from the record type. */
  readonly ignored: true;
}

/** A field written as `value` and skipped on decode, whatever it holds (e.g. the u8 version of 13/06). */
export function reserved(c: Codec<number>, value: number): Ignored {
  return { read: (r) => void c.read(r), write: (w) => c.write(w, value), size: c.size, ignored: true };
}

/** Options of the repeated-field combinators. */
export interface RepeatOptions<T = unknown> {
  /** At most this many (kept) elements; more is WireError TOO_MANY. */
  max?: number;
  /** Decode only: elements for which this is false are dropped and not counted (empty screen names, §3.3). */
  keep?: (v: T) => boolean;
}

/**
 * Elements repeated to the end of the window (no count on the wire). When the element has a fixed size, a window that
 * is not a multiple of it is WireError BAD_LENGTH; empty elements are not allowed (the loop must advance).
 */
export function repeat<T, I>(el: Codec<T, I>, opts: RepeatOptions<T> = {}): Codec<T[], readonly I[]> {
  const max = opts.max ?? Infinity;
  const keep = opts.keep;
  const size = el.size;
  return {
    read: (r) => {
      if (size !== undefined && size > 0 && r.remaining % size !== 0) throw new WireError('BAD_LENGTH', r.offset, `${r.remaining} bytes is not a whole number of ${size}-byte elements`);
      const out: T[] = [];
      while (!r.done) {
        if (out.length >= max) throw new WireError('TOO_MANY', r.offset, `more than ${max} elements`);
        const at = r.offset;
        const v = el.read(r);
        if (r.offset === at) throw new WireError('BAD_VALUE', at, 'empty element in a repeated field');
        if (keep === undefined || keep(v)) out.push(v);
      }
      return out;
    },
    write: (w, v) => {
      for (const x of v) el.write(w, x);
    },
  };
}

/** A u16 element count, then that many elements (at most `max`, else WireError TOO_MANY before reading any). */
export function array16<T, I>(el: Codec<T, I>, opts: Omit<RepeatOptions, 'keep'> = {}): Codec<T[], readonly I[]> {
  const max = opts.max ?? Infinity;
  return {
    read: (r) => {
      const at = r.offset;
      const n = r.u16('element count');
      if (n > max) throw new WireError('TOO_MANY', at, `${n} elements, at most ${max}`);
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(el.read(r));
      return out;
    },
    write: (w, v) => {
      w.u16(v.length);
      for (const x of v) el.write(w, x);
    },
  };
}

/** A record's field declarations, in wire order. */
export type Shape = Record<string, Codec<any, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The value type of a record: every declared field except {@link Ignored} ones. */
export type RecordValue<S extends Shape> = { [K in keyof S as S[K] extends Ignored ? never : K]: Infer<S[K]> };
/** What a record's encoder accepts: as {@link RecordValue}, with readonly arrays allowed. */
export type RecordInput<S extends Shape> = { [K in keyof S as S[K] extends Ignored ? never : K]: InferInput<S[K]> };

/** A sequence of fields in declaration (= wire) order; usable as a whole body and nested as a field. */
export function record<S extends Shape>(shape: S, opts: BodyOptions = {}): BodyCodec<RecordValue<S>, RecordInput<S>> {
  // Flat arrays, not entries: the decoder loop is the cost of a declaration over a hand-written reader.
  const keys = Object.keys(shape);
  const codecs = keys.map((k) => shape[k]!);
  const kept = codecs.map((f) => !(f as Partial<Ignored>).ignored);
  const n = keys.length;
  let size: number | undefined = 0;
  for (const f of codecs) size = size === undefined || f.size === undefined ? undefined : size + f.size;
  const c: Codec<RecordValue<S>, RecordInput<S>> = {
    read: (r) => {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const v: unknown = codecs[i]!.read(r);
        if (kept[i]) out[keys[i]!] = v;
      }
      return out as RecordValue<S>;
    },
    write: (w, v) => {
      const obj = v as Record<string, unknown>;
      for (let i = 0; i < n; i++) codecs[i]!.write(w, obj[keys[i]!]);
    },
    size,
  };
  return body(c, opts);
}

/** One field of a {@link tlvFields} declaration: a TLV type and the codec of its value. */
export interface TlvField<T, Req extends boolean, I = T> {
  /** The TLV type. */
  readonly type: number;
  /** Codec of the TLV's value (it must fill the value exactly). */
  readonly codec: Codec<T, I>;
  /** Whether decoding fails (WireError BAD_VALUE) when the TLV is absent. */
  readonly required: Req;
}

/** An optional TLV field: absent on the wire <-> `undefined` in the value. */
export function tlvOpt<T, I>(type: number, codec: Codec<T, I>): TlvField<T, false, I> {
  return { type, codec, required: false };
}

/** A required TLV field: decoding fails with WireError BAD_VALUE when it is absent. */
export function tlvReq<T, I>(type: number, codec: Codec<T, I>): TlvField<T, true, I> {
  return { type, codec, required: true };
}

/** A {@link tlvFields} declaration. */
export type TlvShape = Record<string, TlvField<any, boolean, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any

type Flatten<T> = { [K in keyof T]: T[K] };

/** The value type of a TLV-fields declaration: required fields required, optional fields optional. */
export type TlvFieldsValue<S extends TlvShape> = Flatten<
  { [K in keyof S as S[K] extends TlvField<unknown, true> ? K : never]: S[K] extends TlvField<infer T, boolean> ? T : never } & {
    [K in keyof S as S[K] extends TlvField<unknown, true> ? never : K]?: S[K] extends TlvField<infer T, boolean> ? T : never;
  }
>;

/** What a TLV-fields encoder accepts: as {@link TlvFieldsValue}, with readonly arrays allowed. */
export type TlvFieldsInput<S extends TlvShape> = Flatten<
  { [K in keyof S as S[K] extends TlvField<unknown, true> ? K : never]: S[K] extends TlvField<unknown, boolean, infer I> ? I : never } & {
    [K in keyof S as S[K] extends TlvField<unknown, true> ? never : K]?: S[K] extends TlvField<unknown, boolean, infer I> ? I : never;
  }
>;

/** Options of {@link tlvFields}. */
export interface TlvFieldsOptions extends BodyOptions {
  /** At most this many TLVs in the list (WireError TOO_MANY). */
  maxTlvs?: number;
}

/**
 * A TLV rest-list read as named fields (docs/protocol.md §1.3): each field takes the LAST TLV of its type (joscar's
 * `getLastTlv`), unknown types are skipped, a value codec that reads `undefined` leaves the field absent, and a value of the wrong width for a fixed-size codec is WireError
 * BAD_LENGTH (as `TlvList.u16` etc.). Encodes the present fields in declaration order.
 */
export function tlvFields<S extends TlvShape>(shape: S, opts: TlvFieldsOptions = {}): BodyCodec<TlvFieldsValue<S>, TlvFieldsInput<S>> {
  const fields = Object.entries(shape);
  const maxTlvs = opts.maxTlvs ?? DEFAULT_MAX_TLVS;
  const c: Codec<TlvFieldsValue<S>, TlvFieldsInput<S>> = {
    read: (r) => {
      const at = r.offset;
      const list = readTlvRestList(r, maxTlvs);
      const out: Record<string, unknown> = {};
      for (const [k, f] of fields) {
        const t = list.getLast(f.type);
        if (t === undefined) {
          if (f.required) throw new WireError('BAD_VALUE', at, `TLV 0x${f.type.toString(16).padStart(4, '0')} missing`);
          continue;
        }
        const v: unknown = readTlvValue(t, f.codec);
        if (v !== undefined) out[k] = v;
      }
      return out as TlvFieldsValue<S>;
    },
    write: (w, v) => {
      const obj = v as Record<string, unknown>;
      for (const [k, f] of fields) {
        const x = obj[k];
        if (x === undefined) {
          if (f.required) throw new RangeError(`required TLV field ${k} missing`);
          continue;
        }
        w.u16(f.type);
        const done = w.lengthPrefix16();
        f.codec.write(w, x);
        done();
      }
    },
  };
  return body(c, opts);
}

/** Decodes one TLV's value with `codec`; the value must be consumed exactly. */
export function readTlvValue<T, I>(t: Tlv, codec: Codec<T, I>): T {
  const at = Math.max(0, t.offset);
  if (codec.size !== undefined && t.value.length !== codec.size) {
    throw new WireError('BAD_LENGTH', at, `TLV 0x${t.type.toString(16).padStart(4, '0')} must be ${codec.size} bytes, is ${t.value.length}`);
  }
  const r = new ByteReader(t.value);
  const v = codec.read(r);
  r.expectEnd(`TLV 0x${t.type.toString(16).padStart(4, '0')} value`);
  return v;
}
