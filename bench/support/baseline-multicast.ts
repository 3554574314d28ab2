/**
 * The baseline for the rooms bench: a do-nothing multicast relay. A client's first frame is FLAP channel 1 (any
 * payload); after that every frame a client sends is written, byte for byte, to every other connected client —
 * a room with no parsing, no membership lookups, no user-info blocks and no rate limits. Same write pattern as
 * the server and the pair relay (cork each destination, flush once per I/O phase).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { FlapSplitter } from './flap.js';

/** A running multicast relay. */
export interface MulticastRelay {
  /** Bound TCP port on 127.0.0.1. */
  readonly port: number;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

/** Starts the relay on 127.0.0.1 (port 0 = any free port). */
export async function startMulticastRelay(port = 0): Promise<MulticastRelay> {
  const members = new Set<Socket>();
  const sockets = new Set<Socket>();
  const corked = new Set<Socket>();
  let flushScheduled = false;
  const flush = (): void => {
    flushScheduled = false;
    for (const s of corked) s.uncork();
    corked.clear();
  };
  const server: Server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    const splitter = new FlapSplitter();
    socket.on('data', (chunk: Buffer) => {
      try {
        splitter.push(chunk, (frame) => {
          if (!members.has(socket)) {
            members.add(socket);
            return;
          }
          for (const dest of members) {
            if (dest === socket || dest.destroyed) continue;
            if (!corked.has(dest)) {
              dest.cork();
              corked.add(dest);
            }
            dest.write(frame);
          }
        });
      } catch {
        socket.destroy();
      }
      if (!flushScheduled && corked.size > 0) {
        flushScheduled = true;
        setImmediate(flush);
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      sockets.delete(socket);
      members.delete(socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('multicast relay: no address');
  return {
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
