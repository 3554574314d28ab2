/**
 * The TCP front of a TLS listener. A TLS socket costs tens of kilobytes of OpenSSL state from the moment Node's
 * `tls.Server` accepts it, and a client can open thousands and never speak (5,000 such sockets took a server from
 * 199 to 483 MB of RSS, which glibc never returned). So the listening socket is a plain `net.Server`; each
 * connection is first admitted by the {@link ConnectionLimiter} (per-address and global caps), then waits as a bare
 * TCP socket (a few kilobytes) until its first bytes — the ClientHello — arrive, and only then is handed to the TLS
 * server. At most `maxHandshakes` handshakes run at once (each holds ~18 KB of OpenSSL state); further ClientHellos
 * wait, still as bare sockets, for a free slot. A connection that is not handed over within the handshake timeout is
 * closed; one that starts a handshake is bounded by the TLS server's own `handshakeTimeout`.
 *
 * Measured (5,000 connections from 500 loopback addresses to the OSCAR-TLS port, `node /tmp/pending.mjs`): silent
 * sockets +71 MB RSS at peak and +265 MB after they closed with a plain `tls.Server`, +26 / +40 MB with the front.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import type { ConnectionLimiter, ConnectionRefusal, ConnectionTicket } from './connection-limits.js';

/** Options of {@link createTlsFront}. */
export interface TlsFrontOptions {
  /** Caps shared with the server's other listeners. */
  limiter: ConnectionLimiter;
  /** Time a new connection has until its handshake starts (first byte, then a free handshake slot), ms. */
  firstByteTimeoutMs: number;
  /** Handshakes in progress at once (default 512). */
  maxHandshakes?: number;
  /** Called for every refused connection (for logs and metrics). */
  onRefused?: (address: string, reason: ConnectionRefusal) => void;
}

/** A front: the listening server, and the limiter ticket of each connection it admitted. */
export interface TlsFront {
  /** The TCP server to `listen` on. */
  readonly server: Server;
  /** The ticket of an admitted connection, found by the TCP or TLS socket on top of it (same peer address/port). */
  ticketOf(socket: Socket): ConnectionTicket | undefined;
  /** Destroys every connection whose TLS handshake has not completed (shutdown); established ones are the server's. */
  destroyPending(): void;
  /** Handshakes in progress now. */
  readonly handshaking: number;
}

const peerKey = (s: Socket): string => `${s.remoteAddress ?? ''}|${s.remotePort ?? ''}`;

/** Creates the front for `tls` (which must not listen itself). */
export function createTlsFront(tls: TlsServer, o: TlsFrontOptions): TlsFront {
  const tickets = new Map<string, ConnectionTicket>();
  /** Admitted sockets whose TLS handshake has not completed yet. */
  const pending = new Set<Socket>();
  const maxHandshakes = o.maxHandshakes ?? 512;
  /** Sockets whose handshake runs, by peer. */
  const handshaking = new Map<string, Socket>();
  /** Sockets whose ClientHello arrived, waiting for a handshake slot. */
  const waiting: Array<{ socket: Socket; timer: NodeJS.Timeout }> = [];
  const server = createServer({ noDelay: true }, (socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const ticket = o.limiter.admit(address);
    if (typeof ticket === 'string') {
      o.onRefused?.(address, ticket);
      socket.destroy();
      return;
    }
    const key = peerKey(socket);
    tickets.set(key, ticket);
    pending.add(socket);
    socket.once('close', () => {
      ticket.release();
      tickets.delete(key);
      pending.delete(socket);
    });
    socket.on('error', () => socket.destroy());
    const timer = setTimeout(() => socket.destroy(), o.firstByteTimeoutMs);
    timer.unref();
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      // The TLS socket reads what is buffered on the TCP socket first, so the ClientHello is not lost.
      socket.unshift(chunk);
      waiting.push({ socket, timer });
      pump();
    });
  });
  tls.on('secureConnection', (s: Socket) => finished(handshaking.get(peerKey(s))));
  tls.on('tlsClientError', (_e: Error, s: Socket) => finished(handshaking.get(peerKey(s))));

  function finished(raw: Socket | undefined): void {
    if (!raw) return;
    pending.delete(raw);
    if (handshaking.delete(peerKey(raw))) pump();
  }

  function pump(): void {
    while (handshaking.size < maxHandshakes && waiting.length > 0) {
      const { socket, timer } = waiting.shift()!;
      clearTimeout(timer);
      if (socket.destroyed) continue;
      const key = peerKey(socket);
      handshaking.set(key, socket);
      socket.once('close', () => finished(socket));
      tls.emit('connection', socket);
    }
  }
  return {
    server,
    ticketOf: (s) => tickets.get(peerKey(s)),
    destroyPending: () => {
      for (const s of pending) s.destroy();
    },
    get handshaking() {
      return handshaking.size;
    },
  };
}
