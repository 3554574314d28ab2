/**
 * Writes a received file in batches of up to 1 MiB through two buffers allocated once per file and reused: one
 * fills while the other's write is in flight. A receiver that concatenated each batch into a fresh Buffer
 * allocated as much off-heap memory as it received, on top of the socket's own read Buffers; V8 counts that memory
 * against its next full GC, so halving it halves the heap scans a transfer sets off (ARCHITECTURE.md, Peer
 * connections).
 *
 * At most one write is in flight: a full buffer waits for the previous write before its own starts, and `add`
 * then returns a promise, so the caller stops reading the peer and TCP carries the backpressure.
 */
import type { FileHandle } from 'node:fs/promises';

/** The largest batch written at once. */
export const WRITE_BATCH_BYTES = 1 << 20;

/** Batches bytes into a file from a start position. */
export class BatchedFileWriter {
  private readonly bufs: [Buffer, Buffer];
  private cur = 0;
  private filled = 0;
  private inflight: Promise<void> | undefined;

  /** @param fh the open file; @param at where the first byte goes; @param expected bytes to come (sizes the buffers) */
  constructor(
    private readonly fh: FileHandle,
    private at: number,
    expected: number,
  ) {
    const n = Math.max(1, Math.min(WRITE_BATCH_BYTES, expected));
    this.bufs = [Buffer.allocUnsafe(n), Buffer.allocUnsafe(n)];
  }

  /** Copies `chunk` in. Returns a promise only when a full batch had to wait for the previous write: await it. */
  add(chunk: Uint8Array): Promise<void> | undefined {
    const buf = this.bufs[this.cur]!;
    const k = Math.min(chunk.length, buf.length - this.filled);
    buf.set(k === chunk.length ? chunk : chunk.subarray(0, k), this.filled);
    this.filled += k;
    if (this.filled < buf.length) return undefined;
    return this.rotate(chunk.subarray(k));
  }

  /** Writes what is buffered and waits for every write; a failed write throws here (or from an earlier `add`). */
  async close(): Promise<void> {
    await this.flush();
    await this.inflight;
    this.inflight = undefined;
  }

  private async rotate(rest: Uint8Array): Promise<void> {
    await this.flush();
    if (rest.length > 0) await this.add(rest);
  }

  /** Waits for the write in flight, starts writing the current buffer and switches to the other (now free) one. */
  private async flush(): Promise<void> {
    if (this.inflight) await this.inflight;
    this.inflight = undefined;
    if (this.filled === 0) return;
    const data = this.bufs[this.cur]!.subarray(0, this.filled);
    const write = this.writeAll(data, this.at);
    write.catch(() => undefined); // awaited (and its error thrown) by the next flush or by close
    this.inflight = write;
    this.at += this.filled;
    this.cur ^= 1;
    this.filled = 0;
  }

  private async writeAll(data: Buffer, pos: number): Promise<void> {
    for (let done = 0; done < data.length;) done += (await this.fh.write(data, done, data.length - done, pos + done)).bytesWritten;
  }
}
