/**
 * Waits on a peer stream with a deadline, for both kinds of peer exchange (OFT file transfer, oft-stream.ts and
 * oft-send.ts; Get File, getfile-reader.ts): the next chunk from the peer, or the peer reading what we sent (drain).
 * A peer that does neither within the deadline gets its stream destroyed and the wait fails with the caller's error,
 * so no transfer is held forever. The callers choose the errors (PeerError or ClientError, as their users expect).
 */
import type { Duplex } from 'node:stream';

/** `it.next()`, or `stalled()` (and the stream destroyed) when nothing comes within `ms`. */
export async function nextWithin<T>(it: AsyncIterator<T>, stream: Duplex, ms: number, stalled: () => Error): Promise<IteratorResult<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(stalled());
      stream.destroy();
    }, ms);
  });
  try {
    return await Promise.race([it.next(), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves at the stream's next `drain`; rejects with `closed()` if it closes first, or with `stalled()` (and the
 * stream destroyed) when no drain comes within `ms`.
 */
export function drainedWithin(stream: Duplex, ms: number, closed: () => Error, stalled: () => Error): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (e?: Error): void => {
      clearTimeout(timer);
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      if (e) reject(e);
      else resolve();
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(closed());
    const timer = setTimeout(() => {
      done(stalled());
      stream.destroy();
    }, ms);
    stream.on('drain', onDrain);
    stream.on('close', onClose);
  });
}
