/**
 * The baseline for the server bench: a relay that does nothing but forward FLAP frames between loopback sockets,
 * i.e. the cost of moving the same bytes with no parsing, routing tables, sessions or storage. It uses the fastest
 * pattern measured on this machine (docs/performance.md §2): cork each destination and flush once per I/O phase.
 *
 * Routing without parsing: a client's first frame is FLAP channel 1 carrying u32 version + u32 client index;
 * after that every frame from client i goes, byte for byte, to client i ^ 1 (the load generator pairs clients the
 * same way when it talks to the real server).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { FlapSplitter } from './flap.js';

/** A running baseline relay. */
export interface BaselineRelay {
  /** Bound TCP port on 127.0.0.1. */
  readonly port: number;
  /** Frames forwarded so far. */
  readonly forwarded: () => number;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

/** Starts the relay on 127.0.0.1 (port 0 = any free port). */
export async function startBaselineRelay(port = 0): Promise<BaselineRelay> {
  const byIndex = new Map<number, Socket>();
  const sockets = new Set<Socket>();
  const corked = new Set<Socket>();
  let flushScheduled = false;
  let forwarded = 0;

  const flush = (): void => {
    flushScheduled = false;
    for (const s of corked) s.uncork();
    corked.clear();
  };

  const server: Server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    const splitter = new FlapSplitter();
    let index = -1;
    socket.on('data', (chunk: Buffer) => {
      try {
        splitter.push(chunk, (frame) => {
          if (index < 0) {
            // Registration frame: channel 1, u32 version, u32 index.
            index = frame.readUInt32BE(10);
            byIndex.set(index, socket);
            return;
          }
          const dest = byIndex.get(index ^ 1);
          if (!dest || dest.destroyed) return;
          if (!corked.has(dest)) {
            dest.cork();
            corked.add(dest);
          }
          dest.write(frame);
          forwarded++;
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
      if (index >= 0 && byIndex.get(index) === socket) byIndex.delete(index);
    });
  });
  server.maxConnections = 100_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('baseline relay: no address');
  return {
    port: addr.port,
    forwarded: () => forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
