/**
 * Minimal FLAP framing for the load generator and the baseline relay (docs/protocol.md §1.1): encode a frame, and split
 * a byte stream into frames incrementally without copying more than needed. Bench-only code: the server's own
 * codec lives in src/wire; this one exists so the baseline relay measures "forward frames, parse nothing".
 */
import { ByteWriter } from '../../src/wire/bytes.js';

/** FLAP header length: 0x2A, channel, u16 sequence, u16 payload length. */
export const FLAP_HEADER = 6;

/** Encodes one FLAP frame. */
export function flap(channel: number, seq: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FLAP_HEADER + payload.length);
  out[0] = 0x2a;
  out[1] = channel;
  out.writeUInt16BE(seq & 0xffff, 2);
  out.writeUInt16BE(payload.length, 4);
  out.set(payload, FLAP_HEADER);
  return out;
}

/** Encodes a SNAC (header + body) as a FLAP channel-2 payload. */
export function snac(family: number, subtype: number, requestId: number, body: Uint8Array): Uint8Array {
  const w = new ByteWriter(10 + body.length);
  w.u16(family).u16(subtype).u16(0).u32(requestId >>> 0).bytes(body);
  return w.finish();
}

/**
 * Splits a TCP byte stream into whole FLAP frames (header included). Holds at most one partial frame; a frame
 * never exceeds 6 + 65535 bytes, so memory per connection is bounded.
 */
export class FlapSplitter {
  private pending: Buffer | undefined;

  /** Feeds a chunk; calls `onFrame` for each complete frame (a view into the chunk where possible). */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let off = 0;
    while (buf.length - off >= FLAP_HEADER) {
      if (buf[off] !== 0x2a) throw new Error(`bad FLAP start byte 0x${(buf[off] ?? 0).toString(16)}`);
      const len = FLAP_HEADER + buf.readUInt16BE(off + 4);
      if (buf.length - off < len) break;
      onFrame(buf.subarray(off, off + len));
      off += len;
    }
    if (off < buf.length) {
      // Copy the tail: keeping a view would pin the whole chunk.
      this.pending = Buffer.from(buf.subarray(off));
    }
    buf = Buffer.alloc(0);
  }
}
