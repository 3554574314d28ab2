/**
 * Two spliced proxy connections (docs/protocol.md §8.3). Each direction is a hand-written pipe: every chunk is
 * charged (budget, activity) and written on; once the writer holds `highWaterMark` bytes the reader is paused
 * until the writer drains. A FIN is passed on as a FIN (half-close); the splice is over when both sockets have
 * closed, or at once when one fails, the charge is refused (byte budget) or nothing moved for `idleTimeoutMs`.
 * Payload bytes are never inspected.
 */
import type { Socket } from 'node:net';
import type { Clock } from '../ports.js';
import type { ProxyTimers } from './proxy-config.js';

/** One side of a splice: its socket, and how to close it for good. */
export interface SpliceEnd {
  /** The socket (handshake listeners removed, paused). */
  readonly socket: Socket;
  /** Destroys the connection. */
  destroy(): void;
}

/** Why a splice was cut (undefined: it ended normally, or one side failed). */
export type SpliceCut = 'BYTE_BUDGET' | 'IDLE_TIMEOUT' | undefined;

/** What a splice needs. */
export interface SpliceOptions {
  /** Time (activity). */
  clock: Clock;
  /** Timers (idle check). */
  timers: ProxyTimers;
  /** Close after this long without a byte in either direction. */
  idleTimeoutMs: number;
  /** Writer backlog at which the reader is paused. */
  highWaterMark: number;
  /** Charges `n` relayed bytes; false cuts the splice ('BYTE_BUDGET'). */
  charge(n: number): boolean;
  /** Called once when the splice is over, before both ends are destroyed. */
  onEnd(cut: SpliceCut): void;
}

/** A running splice of two connections. */
export class Splice {
  private lastActivity: number;
  private closedSockets = 0;
  private timer: unknown;
  private done = false;

  /** @param a one end; @param b the other; @param o clock, timers, limits, charge and end callbacks */
  constructor(
    private readonly a: SpliceEnd,
    private readonly b: SpliceEnd,
    private readonly o: SpliceOptions,
  ) {
    this.lastActivity = o.clock.now();
  }

  /** Starts relaying both ways (resumes both sockets). */
  start(): void {
    const hwm = this.o.highWaterMark;
    for (const [from, to] of [[this.a, this.b], [this.b, this.a]] as const) {
      const src = from.socket;
      const dst = to.socket;
      src.on('data', (chunk: Buffer) => {
        if (this.done) return;
        this.lastActivity = this.o.clock.now();
        if (!this.o.charge(chunk.length)) return this.end('BYTE_BUDGET');
        dst.write(chunk);
        // write() returned false long before this (the socket's own mark is 16 KiB), so 'drain' will come.
        if (dst.writableLength >= hwm) src.pause();
      });
      dst.on('drain', () => {
        if (!this.done) src.resume();
      });
      src.on('end', () => {
        if (!this.done) dst.end();
      });
      src.on('close', (hadError: boolean) => {
        if (hadError) this.end(undefined);
        else if (++this.closedSockets === 2) this.end(undefined);
      });
      src.resume();
    }
    this.armIdle(this.o.idleTimeoutMs);
  }

  /** Bytes held in user space (both sockets' read and write buffers). */
  buffered(): number {
    return this.a.socket.writableLength + this.b.socket.writableLength + this.a.socket.readableLength + this.b.socket.readableLength;
  }

  /** Ends the splice and destroys both ends; idempotent. */
  end(cut: SpliceCut): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== undefined) this.o.timers.clear(this.timer);
    this.o.onEnd(cut);
    this.a.destroy();
    this.b.destroy();
  }

  private armIdle(ms: number): void {
    this.timer = this.o.timers.set(() => {
      if (this.done) return;
      const idle = this.o.clock.now() - this.lastActivity;
      if (idle >= this.o.idleTimeoutMs) this.end('IDLE_TIMEOUT');
      else this.armIdle(this.o.idleTimeoutMs - idle);
    }, ms);
  }
}
