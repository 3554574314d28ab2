/**
 * Reading OFT2 (docs/protocol.md §8.5) off a peer stream: whole headers (length checked on the first 6 bytes,
 * before the rest is buffered) and runs of raw file bytes of a known length, handed to the consumer chunk by chunk.
 * Reads are pulled (the stream's async iterator), so a slow consumer (a disk write) stops the reading and TCP
 * carries the backpressure to the sender; at most one read chunk is held in user space.
 *
 * Every wait for the peer has a stall limit ({@link OFT_STALL_MS}): a peer that goes silent, or stops reading what
 * we send, ends the transfer with PEER_TIMEOUT instead of holding it (its file handle, the CLI command) forever.
 */
import type { Duplex } from 'node:stream';
import { decodeOftHeader, encodeOftHeader, oftHeaderLength, type OftHeader } from '../../wire/oft.js';
import { PeerError } from './peer-error.js';
import { nextWithin } from './peer-wait.js';

/**
 * Longest a transfer waits for its peer: for the next bytes, or for the peer to read what we sent. It covers the
 * longest legitimate silence, a sender computing the OFT checksum of a file before its prompt (a file is at most
 * 4 GiB, the header's u32 size: about 80 s at 50 MB/s from a slow disk).
 */
export const OFT_STALL_MS = 180_000;

/** Pulls OFT headers and file bytes from a Duplex. */
export class OftStream {
  private readonly it: AsyncIterator<Buffer>;
  /** Bytes read but not consumed yet. */
  private pending: Buffer = Buffer.alloc(0);

  /** @param stallMs longest wait for the peer's next bytes (default {@link OFT_STALL_MS}) */
  constructor(readonly socket: Duplex, private readonly peer: string, readonly stallMs = OFT_STALL_MS) {
    this.it = (socket as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** The next chunk from the stream; TRANSFER_CLOSED at its end or on an error, PEER_TIMEOUT after a stall. */
  private async read(what: string): Promise<Buffer> {
    let r: IteratorResult<Buffer>;
    try {
      r = await nextWithin(this.it, this.socket, this.stallMs, () => stallError(this.peer, `sent nothing while we waited for ${what}`, this.stallMs));
    } catch (e) {
      if (PeerError.is(e, 'PEER_TIMEOUT')) throw e;
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

/** The PEER_TIMEOUT of a peer that `did` something for `ms` (how long, in the message, in whole seconds). */
export function stallError(peer: string, did: string, ms: number): PeerError {
  return new PeerError('PEER_TIMEOUT', `${peer} ${did} for ${Math.max(1, Math.round(ms / 1000))} s; the transfer was stopped`);
}
