/**
 * A TCP relay for failure tests: forwards 127.0.0.1:<port> to a target (e.g. NATS) until cut — every connection
 * through it dropped and new ones refused, as a network failure would — and restored on the same port.
 */
import * as net from 'node:net';

/** A running relay. */
export interface CuttableRelay {
  /** Local port it listens on. */
  port: number;
  /** Drops every connection and stops listening. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  /** Stops for good. */
  close(): Promise<void>;
}

/** Starts a relay to `target` (`host:port`). */
export async function cuttableRelay(target: string): Promise<CuttableRelay> {
  const [host, port] = [target.split(':')[0]!, Number(target.split(':')[1] ?? 4222)];
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let listenPort = 0;
  const listen = () => new Promise<void>((resolve) => {
    server = net.createServer((client) => {
      const up = net.connect(port, host);
      for (const s of [client, up]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(up).pipe(client);
      client.on('close', () => up.destroy());
      up.on('close', () => client.destroy());
    });
    server.listen(listenPort, '127.0.0.1', () => {
      listenPort = (server!.address() as net.AddressInfo).port;
      resolve();
    });
  });
  const stop = () => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    if (server) server.close(() => resolve());
    else resolve();
    server = undefined;
  });
  await listen();
  return { port: listenPort, cut: stop, restore: listen, close: stop };
}
