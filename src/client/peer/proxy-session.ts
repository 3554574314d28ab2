/**
 * The client side of the rendezvous proxy handshake (docs/protocol.md §8.3), in the clear: init-send -> ack ->
 * (the peer joins) -> ready for the proposer, init-recv -> ready for the acceptor. After ready the same TCP socket
 * carries the peer stream (certim starts TLS on it at once); bytes that arrived in the same read as ready are put
 * back on the socket so TLS sees them.
 */
import { connect, type Socket } from 'node:net';
import {
  RvProxyCommand, decodeRvProxyAck, decodeRvProxyError, encodeRvProxyInitRecv, encodeRvProxyInitSend, takeRvProxyPacket,
  type RvProxyPacket,
} from '../../wire/rv-proxy.js';
import { PeerError } from './peer-error.js';

/** A proxy connection during its handshake. */
export class ProxySession {
  private buf: Uint8Array = new Uint8Array(0);
  private waiter: { resolve(p: RvProxyPacket): void; reject(e: Error): void } | undefined;
  private failure: Error | undefined;
  private readonly onData = (d: Buffer): void => this.take(d);

  private constructor(readonly socket: Socket, private readonly what: string) {
    socket.on('data', this.onData);
    socket.on('error', (e) => this.fail(new PeerError('PROXY_REFUSED', `${what}: ${e.message}`, { cause: e })));
    socket.on('close', () => this.fail(new PeerError('PROXY_REFUSED', `${what}: the proxy closed the connection`)));
  }

  /** Connects to the proxy. */
  static open(host: string, port: number, timeoutMs: number): Promise<ProxySession> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port });
      const t = setTimeout(() => {
        s.destroy();
        reject(new PeerError('PEER_TIMEOUT', `could not reach the rendezvous proxy at ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(t);
        s.removeAllListeners('error');
        resolve(new ProxySession(s, `rendezvous proxy ${host}:${port}`));
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(new PeerError('PROXY_REFUSED', `could not reach the rendezvous proxy at ${host}:${port}: ${e.message}`, { cause: e }));
      });
    });
  }

  private take(d: Buffer): void {
    const joined = new Uint8Array(this.buf.length + d.length);
    joined.set(this.buf);
    joined.set(d, this.buf.length);
    this.buf = joined;
    this.pump();
  }

  private pump(): void {
    if (!this.waiter) return;
    let got;
    try {
      got = takeRvProxyPacket(this.buf);
    } catch (e) {
      this.fail(new PeerError('PEER_PROTOCOL', `${this.what} sent a malformed packet: ${(e as Error).message}`, { cause: e }));
      return;
    }
    if (!got) return;
    this.buf = got.rest;
    const w = this.waiter;
    this.waiter = undefined;
    if (got.packet.command === RvProxyCommand.Error) {
      const code = decodeRvProxyError(got.packet.data);
      w.reject(new PeerError('PROXY_REFUSED', `${this.what} refused: error 0x${code.toString(16).padStart(4, '0')}${code === 0x1a ? ' (the peer did not join in time)' : ''}`, { proxyError: code }));
      return;
    }
    w.resolve(got.packet);
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
  }

  private next(expect: number, timeoutMs: number): Promise<RvProxyPacket> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiter = undefined;
        reject(new PeerError('PEER_TIMEOUT', `${this.what}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      t.unref?.();
      this.waiter = {
        resolve: (p) => {
          clearTimeout(t);
          if (p.command !== expect) reject(new PeerError('PEER_PROTOCOL', `${this.what} sent command 0x${p.command.toString(16)} (expected 0x${expect.toString(16)})`));
          else resolve(p);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      };
      this.pump();
    });
  }

  /** Proposer: init-send; resolves with the ack's port (the PIN) and IPv4 (0.0.0.0: the host we reached). */
  async initSend(screenName: string, cookie: Uint8Array, capability: Uint8Array, timeoutMs: number): Promise<{ port: number; ipv4: Uint8Array }> {
    this.socket.write(encodeRvProxyInitSend({ screenName, cookie, capability }));
    const ack = decodeRvProxyAck((await this.next(RvProxyCommand.Ack, timeoutMs)).data);
    let ipv4 = ack.ipv4;
    if (ipv4.every((b) => b === 0)) {
      const m = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(this.socket.remoteAddress ?? '');
      if (m) ipv4 = new Uint8Array(m.slice(1, 5).map(Number));
    }
    return { port: ack.port, ipv4 };
  }

  /** Acceptor: init-recv. */
  initRecv(screenName: string, port: number, cookie: Uint8Array, capability: Uint8Array): void {
    this.socket.write(encodeRvProxyInitRecv({ screenName, port, cookie, capability }));
  }

  /** Waits for ready, then hands the socket over (listeners removed, any early peer bytes put back). */
  async ready(timeoutMs: number): Promise<Socket> {
    await this.next(RvProxyCommand.Ready, timeoutMs);
    this.socket.removeListener('data', this.onData);
    this.socket.removeAllListeners('error');
    this.socket.removeAllListeners('close');
    this.socket.pause();
    if (this.buf.length > 0) this.socket.unshift(Buffer.from(this.buf));
    this.buf = new Uint8Array(0);
    return this.socket;
  }

  /** Closes the proxy connection. */
  close(): void {
    this.socket.destroy();
  }
}
