/**
 * A two-pass DER builder for the encoder hot path: build a light tree of tags and byte chunks (lengths are summed
 * as nodes are made), then write everything once into a single buffer. Compared with nesting `der.tlv` calls, which
 * allocate and copy the whole payload again at every level (a Secure IM is ~8 levels deep around ~2 KB), this
 * allocates once and copies each byte once. Shapes are fixed by the encoder; this is not a general ASN.1 library
 * (see ../asn1/der.ts for that).
 */

/** A DER element under construction: tag, children, and content length. */
export interface DerNode {
  readonly t: number;
  readonly c: readonly DerPart[];
  /** Content length in bytes. */
  readonly n: number;
}

/** Either pre-encoded bytes (whole elements, or raw content where the caller means it) or a node. */
export type DerPart = Uint8Array | DerNode;

function lenLen(n: number): number {
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x1000000 ? 4 : 5;
}

/** Encoded size of a part. */
export function sizeOf(p: DerPart): number {
  return p instanceof Uint8Array ? p.length : 1 + lenLen(p.n) + p.n;
}

/** An element with the given tag around the concatenation of `c`. */
export function node(t: number, ...c: DerPart[]): DerNode {
  let n = 0;
  for (const p of c) n += sizeOf(p);
  return { t, c, n };
}

function write(buf: Uint8Array, o: number, p: DerPart): number {
  if (p instanceof Uint8Array) {
    buf.set(p, o);
    return o + p.length;
  }
  buf[o++] = p.t;
  const n = p.n;
  if (n < 0x80) {
    buf[o++] = n;
  } else {
    const l = lenLen(n) - 1;
    buf[o++] = 0x80 | l;
    for (let i = l - 1; i >= 0; i--) buf[o++] = (n >>> (8 * i)) & 0xff;
  }
  for (const c of p.c) o = write(buf, o, c);
  return o;
}

/** Serializes parts back to back into one new buffer. */
export function encode(...parts: DerPart[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += sizeOf(p);
  const buf = new Uint8Array(size);
  let o = 0;
  for (const p of parts) o = write(buf, o, p);
  return buf;
}
