/**
 * Sequential reads from a peer stream for the Get File exchange (docs/protocol.md §8.5): whole OFT2 headers, then
 * runs of raw bytes (a listing or a file). Reading pulls from the stream's async iterator, so a slow consumer (a disk
 * write) stops the socket instead of buffering: at most one chunk beyond what was asked for is held.
 * Every wait has a deadline; on expiry the stream is destroyed and the read fails with TIMEOUT.
 */
import type { Duplex } from 'node:stream';
import { WireError } from '../../wire/bytes.js';
import { decodeOftHeader, oftHeaderLength, type OftHeader } from '../../wire/oft.js';
import { ClientError } from '../errors.js';
import { drainedWithin, nextWithin } from './peer-wait.js';

/** Reads OFT2 headers and raw bytes from one stream, one read at a time. */
export class PeerReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer>;

  constructor(private readonly stream: Duplex, private readonly what: string) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  private async fill(timeoutMs: number): Promise<void> {
    try {
      const r = await nextWithin(this.it, this.stream, timeoutMs, () => new ClientError('TIMEOUT', `${this.what}: nothing received for ${Math.round(timeoutMs / 1000)} s`));
      if (r.done) throw new ClientError('CONNECTION_CLOSED', `${this.what}: the peer closed the connection`);
      this.buf = this.buf.length === 0 ? r.value : Buffer.concat([this.buf, r.value]);
    } catch (e) {
      if (ClientError.is(e)) throw e;
      throw new ClientError('CONNECTION_CLOSED', `${this.what}: ${(e as Error).message}`, { cause: e });
    }
  }

  private async atLeast(n: number, timeoutMs: number): Promise<void> {
    while (this.buf.length < n) await this.fill(timeoutMs);
  }

  /** Reads one OFT2 header. A framing error destroys the stream and fails with PROTOCOL. */
  async header(timeoutMs: number): Promise<OftHeader> {
    try {
      await this.atLeast(6, timeoutMs);
      const len = oftHeaderLength(this.buf.subarray(0, 6));
      await this.atLeast(len, timeoutMs);
      const h = decodeOftHeader(this.buf.subarray(0, len));
      const cookie = h.cookie.slice();
      this.buf = this.buf.subarray(len);
      return { ...h, cookie };
    } catch (e) {
      if (WireError.is(e)) {
        this.stream.destroy();
        throw new ClientError('PROTOCOL', `${this.what}: broken OFT2 framing (${e.message})`, { cause: e });
      }
      throw e;
    }
  }

  /** Passes the next `n` raw bytes to `sink` in chunks, awaiting each (backpressure). */
  async bytes(n: number, timeoutMs: number, sink: (chunk: Uint8Array) => void | Promise<void>): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0) await this.fill(timeoutMs);
      const take = Math.min(left, this.buf.length);
      const chunk = this.buf.subarray(0, take);
      this.buf = this.buf.subarray(take);
      left -= take;
      await sink(chunk);
    }
  }

  /** Reads exactly `n` bytes into one buffer (for a listing; the caller bounds `n`). */
  async exactly(n: number, timeoutMs: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let at = 0;
    await this.bytes(n, timeoutMs, (c) => {
      out.set(c, at);
      at += c.length;
    });
    return out;
  }
}

/**
 * Writes to the stream, waiting for drain when its buffer is full; fails if the stream is gone, or with TIMEOUT (the
 * stream destroyed) when the peer reads nothing of it for `timeoutMs`.
 */
export function writeAll(stream: Duplex, b: Uint8Array, timeoutMs: number, what: string): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return Promise.reject(new ClientError('CONNECTION_CLOSED', 'the peer connection is closed'));
  if (stream.write(b)) return Promise.resolve();
  return drainedWithin(
    stream, timeoutMs,
    () => new ClientError('CONNECTION_CLOSED', 'the peer connection closed while sending'),
    () => new ClientError('TIMEOUT', `${what}: the peer read nothing for ${Math.max(1, Math.round(timeoutMs / 1000))} s`),
  );
}
