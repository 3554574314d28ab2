/**
 * One simulated IM user for the server bench. It signs on either to the real server (BUCP MD5 login on the plain
 * OSCAR port, cookie hand-off, BOS handshake — docs/protocol.md §2.1/§2.2) or to the baseline relay (one registration
 * frame), then sends ~300-byte ICBM channel-1 frames (04/06) to its partner and timestamps what it receives.
 *
 * The send time travels in the ICBM cookie (µs since this process started, shifted left 16 bits, plus a counter):
 * the server relays the cookie untouched in 04/07, and the baseline forwards the 04/06 frame itself, so in both
 * cases the receiver finds it at the same offset (SNAC body byte 0) without parsing anything else.
 */
import { connect, type Socket } from 'node:net';
import { ByteReader, ByteWriter } from '../../src/wire/bytes.js';
import { strongPasswordHash } from '../../src/wire/families/bucp.js';
import { flap, FlapSplitter, snac } from './flap.js';

/** Size of every IM frame on the wire (FLAP header included). */
export const IM_FRAME_BYTES = 300;

/** Where and how to sign on. */
export interface SignOnTarget {
  /** 'server' = real certim server (BUCP + BOS), 'baseline' = the do-nothing relay. */
  kind: 'server' | 'baseline';
  /** Host (loopback). */
  host: string;
  /** Plain OSCAR port. */
  port: number;
}

/** Called for each IM the client receives: latency in microseconds. */
export type DeliveryListener = (latencyMicros: number) => void;

function tlv(w: ByteWriter, type: number, value: Uint8Array): void {
  w.u16(type).u16(value.length).bytes(value);
}

function nowMicros(): bigint {
  return BigInt(Math.round(performance.now() * 1000));
}

/** A signed-on load client. */
export class LoadClient {
  private seq = 1;
  private counter = 0;
  private template: Buffer | undefined;
  private cookieOffset = 0;
  /** IMs received. */
  received = 0;
  /** IMs sent. */
  sent = 0;
  /** Set by the bench: called on each delivery. */
  onDelivery: DeliveryListener | undefined;

  private constructor(
    private readonly socket: Socket,
    /** The client's screen name. */
    readonly screenName: string,
  ) {}

  /** Signs on `screenName` (with `password` for the real server; `index` registers with the baseline relay). */
  static async signOn(target: SignOnTarget, screenName: string, password: string, index: number): Promise<LoadClient> {
    if (target.kind === 'baseline') {
      const socket = await open(target.host, target.port);
      const client = new LoadClient(socket, screenName);
      client.attach();
      const reg = new ByteWriter(8).u32(1).u32(index).finish();
      socket.write(flap(1, client.seq++, reg));
      return client;
    }
    const { cookie, bosPort } = await bucpLogin(target, screenName, password);
    const socket = await open(target.host, bosPort);
    const client = new LoadClient(socket, screenName);
    await client.bosHandshake(cookie);
    return client;
  }

  /** Prepares the IM frame sent by {@link sendIm} to `recipient`. */
  setPartner(recipient: string): void {
    const sn = Buffer.from(recipient, 'ascii');
    const fixed = 6 + 10 + 8 + 2 + 1 + sn.length + 4 + 5 + 4 + 4;
    const text = Buffer.alloc(Math.max(1, IM_FRAME_BYTES - fixed), 'x');
    const frags = new ByteWriter(64 + text.length);
    frags.u8(0x05).u8(0x01).u16(1).u8(0x01); // features: text
    frags.u8(0x01).u8(0x01).u16(4 + text.length).u16(0).u16(0).bytes(text); // message part, ASCII
    const body = new ByteWriter(IM_FRAME_BYTES);
    body.u64(0n).u16(1).string8(recipient);
    tlv(body, 0x0002, frags.finish());
    this.template = flap(2, 0, snac(0x0004, 0x0006, 0, body.finish()));
    this.cookieOffset = 16;
  }

  /** Sends one IM to the partner, stamped with the current time. Returns false when the socket is backed up. */
  sendIm(): boolean {
    const t = this.template;
    if (!t) throw new Error('setPartner first');
    const frame = Buffer.from(t);
    frame.writeUInt16BE(this.seq++ & 0xffff, 2);
    frame.writeBigUInt64BE((nowMicros() << 16n) | BigInt(this.counter++ & 0xffff), this.cookieOffset);
    this.sent++;
    return this.socket.write(frame);
  }

  /** Bytes queued in user space for this socket. */
  get backlog(): number {
    return this.socket.writableLength;
  }

  /** Closes the connection. */
  close(): void {
    this.socket.destroy();
  }

  private attach(handler?: (frame: Buffer) => void): void {
    const splitter = new FlapSplitter();
    this.socket.removeAllListeners('data');
    this.socket.on('data', (chunk: Buffer) => {
      splitter.push(chunk, (frame) => {
        if (handler) {
          handler(frame);
          return;
        }
        // 04/07 from the server, or a forwarded 04/06 from the baseline: the cookie is the first body field.
        if (frame[1] === 2 && frame.length >= 24 && frame.readUInt16BE(6) === 0x0004) {
          const sub = frame.readUInt16BE(8);
          if (sub === 0x0007 || sub === 0x0006) {
            const sentAt = frame.readBigUInt64BE(16) >> 16n;
            this.received++;
            this.onDelivery?.(Number(nowMicros() - sentAt));
          }
        }
      });
    });
  }

  private async bosHandshake(cookie: Uint8Array): Promise<void> {
    const q = new FrameQueue(this.socket);
    const hello = new ByteWriter(8 + cookie.length).u32(1);
    tlv(hello, 0x0006, cookie);
    this.socket.write(flap(1, this.seq++, hello.finish()));
    await q.snac(0x0001, 0x0003);
    const versions = new ByteWriter(32);
    for (const [f, v] of [[1, 4], [2, 1], [3, 1], [4, 1], [9, 1], [0x13, 4]] as const) versions.u16(f).u16(v);
    this.send(0x0001, 0x0017, versions.finish());
    await q.snac(0x0001, 0x0018);
    this.send(0x0001, 0x0006, new Uint8Array(0));
    const rates = await q.snac(0x0001, 0x0007);
    const r = new ByteReader(rates);
    const count = r.u16();
    const ack = new ByteWriter(2 * count);
    const recordSize = count > 0 && (rates.length - 2) >= count * 35 ? 35 : 30;
    for (let i = 0; i < count; i++) {
      ack.u16(r.u16());
      r.skip(recordSize - 2);
    }
    this.send(0x0001, 0x0008, ack.finish());
    const ready = new ByteWriter(64);
    for (const [f, v] of [[1, 4], [2, 1], [3, 1], [4, 1], [9, 1], [0x13, 4]] as const) ready.u16(f).u16(v).u16(0x0110).u16(0x0801);
    this.send(0x0001, 0x0002, ready.finish());
    q.detach();
    this.attach();
  }

  private send(family: number, subtype: number, body: Uint8Array): void {
    this.socket.write(flap(2, this.seq++, snac(family, subtype, this.seq, body)));
  }
}

/** Collects frames during sign-on so the handshake can wait for a given SNAC. */
class FrameQueue {
  private readonly frames: Buffer[] = [];
  private waiter: (() => void) | undefined;
  private failed: Error | undefined;
  private readonly splitter = new FlapSplitter();
  private readonly onData = (chunk: Buffer): void => {
    this.splitter.push(chunk, (f) => this.frames.push(Buffer.from(f)));
    this.waiter?.();
  };
  private readonly onClose = (): void => {
    this.failed = new Error('connection closed during sign-on');
    this.waiter?.();
  };

  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
  }

  /** Waits for a SNAC (family, subtype) and returns its body; fails on close, a ch-4 sign-off, or 10 s. */
  async snac(family: number, subtype: number): Promise<Buffer> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      while (this.frames.length > 0) {
        const f = this.frames.shift()!;
        if (f[1] === 4) throw new Error(`server closed the sign-on (channel 4) while waiting for ${family}/${subtype}`);
        if (f[1] === 2 && f.readUInt16BE(6) === family && f.readUInt16BE(8) === subtype) {
          let body = f.subarray(16);
          if ((f.readUInt16BE(10) & 0x8000) !== 0) body = body.subarray(2 + body.readUInt16BE(0));
          return body;
        }
      }
      if (this.failed) throw this.failed;
      if (Date.now() > deadline) throw new Error(`timed out waiting for SNAC ${family}/${subtype}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  /** Stops collecting. */
  detach(): void {
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onClose);
  }
}

function open(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, noDelay: true });
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => s.destroy());
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** BUCP "strong" MD5 login (docs/protocol.md §2.1); resolves to the BOS cookie and the BOS port from TLV 0x0005. */
async function bucpLogin(target: SignOnTarget, screenName: string, password: string): Promise<{ cookie: Uint8Array; bosPort: number }> {
  const socket = await open(target.host, target.port);
  const q = new FrameQueue(socket);
  let seq = 1;
  const send = (family: number, subtype: number, body: Uint8Array): void => {
    socket.write(flap(2, seq++, snac(family, subtype, seq, body)));
  };
  try {
    socket.write(flap(1, seq++, new ByteWriter(4).u32(1).finish()));
    const sn = Buffer.from(screenName, 'ascii');
    const keyReq = new ByteWriter(64);
    tlv(keyReq, 0x0001, sn);
    tlv(keyReq, 0x004b, new Uint8Array(0));
    tlv(keyReq, 0x005a, new Uint8Array(0));
    send(0x0017, 0x0006, keyReq.finish());
    const keyBody = await q.snac(0x0017, 0x0007);
    const key = new ByteReader(keyBody).block16();
    const login = new ByteWriter(256);
    tlv(login, 0x0001, sn);
    tlv(login, 0x0025, strongPasswordHash(key, password));
    tlv(login, 0x004c, new Uint8Array(0));
    tlv(login, 0x0003, Buffer.from('certim-bench', 'ascii'));
    tlv(login, 0x004a, Uint8Array.of(1));
    send(0x0017, 0x0002, login.finish());
    const resp = new ByteReader(await q.snac(0x0017, 0x0003));
    let cookie: Uint8Array | undefined;
    let error: number | undefined;
    let bosPort = target.port;
    while (!resp.done) {
      const type = resp.u16();
      const value = resp.block16();
      if (type === 0x0006) cookie = value;
      if (type === 0x0005) {
        const m = /:(\d+)$/.exec(Buffer.from(value).toString('ascii'));
        if (m) bosPort = Number(m[1]);
      }
      if (type === 0x0008 && value.length >= 2) error = (value[0]! << 8) | value[1]!;
    }
    if (!cookie) throw new Error(`login of ${screenName} refused (error 0x${(error ?? 0).toString(16)})`);
    return { cookie, bosPort };
  } finally {
    q.detach();
    socket.destroy();
  }
}
