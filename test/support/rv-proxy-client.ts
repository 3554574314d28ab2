/**
 * Test side of the rendezvous proxy (docs/protocol.md §8.3): a raw proxy client (init-send / init-recv, then the
 * spliced stream) and the ICBM ch-2 proposal that names the proxy. Real sockets, src/wire codecs.
 */
import { connect, type Socket } from 'node:net';
import { ByteWriter } from '../../src/wire/bytes.js';
import { encodeIcbmChannelMsgToHost } from '../../src/wire/icbm-message.js';
import {
  RvProxyCommand, decodeRvProxyAck, decodeRvProxyError, encodeRvProxyInitRecv, encodeRvProxyInitSend, takeRvProxyPacket, type RvProxyPacket,
} from '../../src/wire/rv-proxy.js';
import { tlv, type Tlv } from '../../src/wire/tlv.js';

/** The send-file capability (docs/protocol.md §5). */
export const SEND_FILE_CAP = Buffer.from('094613434c7f11d18222444553540000', 'hex');

/** A raw connection to the proxy. */
export class ProxyClient {
  private buf: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  /** True once the socket closed. */
  closedFlag = false;
  /** Resolves on close. */
  readonly closed: Promise<void>;
  /** Bytes after ready (the spliced stream), when collecting. */
  received: Buffer[] = [];
  /** Total spliced bytes received. */
  receivedBytes = 0;
  private spliced = false;

  private constructor(readonly socket: Socket) {
    socket.on('error', () => {});
    this.closed = new Promise((r) => socket.once('close', () => {
      this.closedFlag = true;
      this.wake();
      r();
    }));
    socket.on('data', (d: Buffer) => {
      if (this.spliced) this.take(d);
      else this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
  }

  /** Connects (default host 127.0.0.1; optionally from a given local address). */
  static open(port: number, opts: { host?: string; localAddress?: string } = {}): Promise<ProxyClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: opts.host ?? '127.0.0.1', port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) }, () => resolve(new ProxyClient(s)));
      s.once('error', reject);
    });
  }

  private take(d: Buffer): void {
    this.received.push(d);
    this.receivedBytes += d.length;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `pred` holds (or the socket closed, or `ms` passed: then throws). */
  async until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (this.closedFlag) throw new Error(`proxy connection closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** The next proxy packet (handshake phase). After ready, further bytes are collected as the spliced stream. */
  async packet(ms = 5000): Promise<RvProxyPacket> {
    let got: { packet: RvProxyPacket; rest: Uint8Array } | undefined;
    const deadline = Date.now() + ms;
    for (;;) {
      got = takeRvProxyPacket(this.buf);
      if (got) break;
      if (this.closedFlag) throw new Error('proxy connection closed before a packet');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a proxy packet');
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    const packet = { ...got.packet, data: Buffer.from(got.packet.data) };
    const rest = Buffer.from(got.rest);
    this.buf = Buffer.alloc(0);
    if (packet.command === RvProxyCommand.Ready) {
      this.spliced = true;
      if (rest.length > 0) this.take(rest);
    } else {
      this.buf = rest;
    }
    return packet;
  }

  /** Sends init-send; resolves with the ack's port and address. */
  async initSend(screenName: string, cookie: Uint8Array): Promise<{ port: number; ipv4: Uint8Array }> {
    this.socket.write(encodeRvProxyInitSend({ screenName, cookie, capability: SEND_FILE_CAP }));
    const p = await this.packet();
    if (p.command !== RvProxyCommand.Ack) throw new Error(`expected ack, got command ${p.command} ${p.command === 1 ? decodeRvProxyError(p.data).toString(16) : ''}`);
    return decodeRvProxyAck(p.data);
  }

  /** Sends init-recv. */
  sendInitRecv(screenName: string, cookie: Uint8Array, port: number): void {
    this.socket.write(encodeRvProxyInitRecv({ screenName, cookie, port, capability: SEND_FILE_CAP }));
  }

  /** Waits for an error packet; returns its code. */
  async error(ms = 5000): Promise<number> {
    const p = await this.packet(ms);
    if (p.command !== RvProxyCommand.Error) throw new Error(`expected an error packet, got command ${p.command}`);
    return decodeRvProxyError(p.data);
  }

  /** Waits for ready. */
  async ready(): Promise<void> {
    const p = await this.packet();
    if (p.command !== RvProxyCommand.Ready) throw new Error(`expected ready, got command ${p.command} ${p.command === 1 ? decodeRvProxyError(p.data).toString(16) : ''}`);
  }

  /** Everything received after ready. */
  data(): Buffer {
    return Buffer.concat(this.received);
  }

  /** Closes. */
  close(): void {
    this.socket.destroy();
  }
}

/**
 * A 04/06 body: a ch-2 rendezvous proposal (send file) through the proxy at `ipv4:port` (TLVs 0x0002, 0x0005,
 * 0x0010), plus `extra` ICBM TLVs (e.g. 0x0003, host ack wanted).
 */
export function proxiedProposal(to: string, cookie: Uint8Array, port: number, ipv4: Uint8Array, extra: Tlv[] = []): Uint8Array {
  const type = 0;
  const rv = new ByteWriter().u16(type).bytes(cookie).bytes(SEND_FILE_CAP)
    .u16(0x000a).u16(2).u16(3)
    .u16(0x0002).u16(4).bytes(ipv4)
    .u16(0x0005).u16(2).u16(port)
    .u16(0x0010).u16(0)
    .finish();
  return encodeIcbmChannelMsgToHost({ cookie, channel: 2, screenName: to, tlvs: [tlv(0x0005, rv), ...extra] });
}
