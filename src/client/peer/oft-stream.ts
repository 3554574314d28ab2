/**
 * Reading OFT2 (docs/protocol.md §8.5) off a peer stream: whole headers (length checked on the first 6 bytes,
 * before the rest is buffered) and runs of raw file bytes of a known length, handed to the consumer chunk by chunk.
 * Reads are pulled (the stream's async iterator), so a slow consumer (a disk write) stops the reading and TCP
 * carries the backpressure to the sender; at most one read chunk is held in user space.
 */
import type { Duplex } from 'node:stream';
import { decodeOftHeader, encodeOftHeader, oftHeaderLength, type OftHeader } from '../../wire/oft.js';
import { PeerError } from './peer-error.js';

/** Pulls OFT headers and file bytes from a Duplex. */
export class OftStream {
  private readonly it: AsyncIterator<Buffer>;
  /** Bytes read but not consumed yet. */
  private pending: Buffer = Buffer.alloc(0);

  constructor(readonly socket: Duplex, private readonly peer: string) {
    this.it = (socket as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** The next chunk from the stream; TRANSFER_CLOSED at its end or on an error. */
  private async read(what: string): Promise<Buffer> {
    let r: IteratorResult<Buffer>;
    try {
      r = await this.it.next();
    } catch (e) {
      throw new PeerError('TRANSFER_CLOSED', `the connection with ${this.peer} failed while waiting for ${what}: ${(e as Error).message}`, { cause: e });
    }
    if (r.done) throw new PeerError('TRANSFER_CLOSED', `${this.peer} closed the connection while we waited for ${what}`);
    return r.value;
  }

  private async fill(n: number, what: string): Promise<void> {
    while (this.pending.length < n) {
      const c = await this.read(what);
      this.pending = this.pending.length === 0 ? c : Buffer.concat([this.pending, c]);
    }
  }

  /** The next header; PEER_PROTOCOL if it is not OFT2 or too long. */
  async header(what = 'an OFT header'): Promise<OftHeader> {
    await this.fill(6, what);
    let len: number;
    try {
      len = oftHeaderLength(this.pending.subarray(0, 6));
    } catch (e) {
      throw new PeerError('PEER_PROTOCOL', `${this.peer} sent something that is not an OFT2 header: ${(e as Error).message}`, { cause: e });
    }
    await this.fill(len, what);
    const raw = this.pending.subarray(0, len);
    this.pending = this.pending.subarray(len);
    try {
      return decodeOftHeader(raw);
    } catch (e) {
      throw new PeerError('PEER_PROTOCOL', `${this.peer} sent a malformed OFT2 header: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Hands exactly `n` raw bytes to `sink` in chunks, awaiting each result (a file write) before reading on. */
  async raw(n: number, sink: (chunk: Buffer) => Promise<void> | void): Promise<void> {
    let left = n;
    while (left > 0) {
      const c = this.pending.length > 0 ? this.pending : await this.read(`the rest of the file (${left} bytes)`);
      this.pending = Buffer.alloc(0);
      const k = Math.min(c.length, left);
      if (k < c.length) this.pending = c.subarray(k);
      left -= k;
      const r = sink(k === c.length ? c : c.subarray(0, k));
      if (r) await r;
    }
  }

  /** Writes a header. */
  send(h: OftHeader): void {
    this.socket.write(encodeOftHeader(h));
  }
}
