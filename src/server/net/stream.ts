/**
 * The byte-stream seam of the per-connection loop (connection.ts): everything the loop needs from a transport, so
 * plain TCP, TLS and OSCAR over WebSocket (docs/protocol.md §14) run the same deframing, limits, rate classes and
 * routing with no copy of that code. A stream carries the FLAP byte stream in both directions in any chunking.
 */
import type { Socket } from 'node:net';
import type { LinkKind } from '../session/session.js';

/**
 * Which listener a connection came in on. It decides where `17/03` and `01/05` redirects point (same kind again,
 * docs/protocol.md §10.1 and §14.3) and whether the certim password login is allowed (TLS and WebSocket-over-HTTPS).
 */
export type StreamKind = LinkKind;

/** What a stream delivers to the connection loop. */
export interface StreamHandlers {
  /** Bytes read, in order, in any chunking (the deframer reassembles frames). */
  onData(chunk: Uint8Array): void;
  /** The stream is gone (peer closed, error, or our own `end`/`destroy`); called exactly once. */
  onClose(): void;
}

/** One accepted client transport, as the connection loop drives it. */
export interface ConnectionStream {
  /** Listener kind. */
  readonly kind: StreamKind;
  /** Peer address as the server saw it (IPv4, IPv6, or "unknown"). */
  readonly remoteAddress: string;
  /** True once the stream can no longer write. */
  readonly destroyed: boolean;
  /** Bytes accepted by `write` that have not reached the kernel yet (the slow-reader measure). */
  readonly pendingBytes: number;
  /** Starts delivering events to `handlers` (called once, by the connection). */
  start(handlers: StreamHandlers): void;
  /** Queues bytes; they leave at the next `flush` (the loop flushes once per I/O phase). */
  write(bytes: Uint8Array): void;
  /** Sends what `write` queued since the last flush. */
  flush(): void;
  /** Stops reading (the loop has too many frames waiting). */
  pause(): void;
  /** Reads again. */
  resume(): void;
  /** Flushes and closes gracefully. */
  end(): void;
  /** Closes at once, dropping unsent output. */
  destroy(): void;
  /** Called once when the connection redeemed a cookie and serves a service (the end of its unauthenticated stage). */
  authenticated?(): void;
}

/** Wraps an accepted TCP or TLS socket: writes are corked and `flush` uncorks (one syscall per I/O phase). */
export function socketStream(socket: Socket, kind: 'tcp' | 'tls'): ConnectionStream {
  socket.setNoDelay(true);
  return new SocketStream(socket, kind);
}

/** Every open connection holds one of these: a class, so its methods live on the prototype, not in per-connection closures. */
class SocketStream implements ConnectionStream {
  readonly remoteAddress: string;
  private corked = false;

  constructor(
    private readonly socket: Socket,
    readonly kind: 'tcp' | 'tls',
  ) {
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  get pendingBytes(): number {
    return this.socket.writableLength;
  }

  start(handlers: StreamHandlers): void {
    this.socket.on('data', (chunk: Buffer) => handlers.onData(chunk));
    this.socket.on('error', ignoreError);
    this.socket.on('close', () => handlers.onClose());
  }

  write(bytes: Uint8Array): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
    }
    this.socket.write(bytes);
  }

  flush(): void {
    if (!this.corked) return;
    this.corked = false;
    if (!this.socket.destroyed) this.socket.uncork();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    this.flush();
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function ignoreError(): void {}
