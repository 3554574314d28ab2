/**
 * A small OSCAR client for end-to-end tests: real sockets, real FLAP/SNAC framing (src/wire), and the sign-on
 * sequences of a classic AIM client (BUCP MD5, weak or strong) and of a certim client (TLS password login).
 * Tests read like a conversation: `await alice.expectSnac(3, 0x0b)`.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ByteReader } from '../../src/wire/bytes.js';
import { FlapChannel, FlapDeframer, encodeFlap, encodeFlapHello, type FlapFrame } from '../../src/wire/flap.js';
import { decodeIcbmChannelMsgToClient, decodeImMessage, encodeIcbmChannelMsgToHost, encodeImMessage } from '../../src/wire/icbm-message.js';
import { decodeSnac, encodeSnac, type Snac } from '../../src/wire/snac.js';
import { tlv, type Tlv, type TlvList } from '../../src/wire/tlv.js';
import {
  decodeKeyResponse,
  decodeLoginResponse,
  encodeKeyRequest,
  encodeLoginRequest,
  strongPasswordHash,
  weakPasswordHash,
  type BucpLoginRequestFields,
} from '../../src/wire/families/bucp.js';
import { encodeScreenNameList } from '../../src/wire/families/buddy.js';
import { encodeClientOnline, encodeU16List, encodeVersions } from '../../src/wire/families/oservice.js';

/** How to reach the server. */
export interface Endpoint {
  /** Port. */
  port: number;
  /** Host (default 127.0.0.1). */
  host?: string;
  /** Connect with TLS trusting this CA (PEM). */
  tlsCa?: string | Buffer;
}

/** One FLAP connection with a frame inbox. */
export class TestConnection {
  private readonly deframer = new FlapDeframer();
  private readonly inbox: FlapFrame[] = [];
  private waiters: Array<() => void> = [];
  private seq = 1;
  private reqId = 1;
  /** Resolves when the socket closes. */
  readonly closed: Promise<void>;
  /** True once closed. */
  isClosed = false;

  private constructor(readonly socket: Socket) {
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.isClosed = true;
      this.wake();
      resolve();
    }));
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const f of this.deframer.push(chunk)) this.inbox.push({ ...f, payload: f.payload.slice() });
      } catch {
        socket.destroy();
      }
      this.wake();
    });
  }

  /** Opens a connection (plain or TLS). */
  static async open(ep: Endpoint): Promise<TestConnection> {
    const host = ep.host ?? '127.0.0.1';
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = ep.tlsCa !== undefined
        ? tlsConnect({ host, port: ep.port, ca: ep.tlsCa, servername: 'localhost' }, () => resolve(s))
        : tcpConnect({ host, port: ep.port }, () => resolve(s));
      s.once('error', reject);
    });
    return new TestConnection(socket);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits for the first frame matching `pred` (removing it from the inbox). */
  async nextFrame(pred: (f: FlapFrame) => boolean = () => true, timeoutMs = 3000): Promise<FlapFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex(pred);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!;
      if (this.isClosed) throw new Error('connection closed while waiting for a frame');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a frame');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for a SNAC of (family, subtype). */
  async expectSnac(family: number, subtype: number, timeoutMs = 3000): Promise<Snac> {
    const f = await this.nextFrame((fr) => fr.channel === FlapChannel.Data && matches(fr.payload, family, subtype), timeoutMs);
    return decodeSnac(f.payload);
  }

  /** Waits for a SNAC of (family, subtype) whose body satisfies `pred`. */
  async expectSnacWhere(family: number, subtype: number, pred: (s: Snac) => boolean, timeoutMs = 3000): Promise<Snac> {
    const f = await this.nextFrame((fr) => fr.channel === FlapChannel.Data && matches(fr.payload, family, subtype) && pred(decodeSnac(fr.payload)), timeoutMs);
    return decodeSnac(f.payload);
  }

  /** True when no SNAC of (family, subtype) arrives within `ms`. */
  async noSnac(family: number, subtype: number, ms = 300): Promise<boolean> {
    try {
      await this.expectSnac(family, subtype, ms);
      return false;
    } catch {
      return true;
    }
  }

  /** Sends one FLAP frame. */
  sendFrame(channel: number, payload: Uint8Array): void {
    this.socket.write(encodeFlap({ channel, sequence: this.seq++ & 0xffff, payload }));
  }

  /** Sends a SNAC; returns its request id. */
  sendSnac(family: number, subtype: number, body: Uint8Array = new Uint8Array(0)): number {
    const requestId = this.reqId++;
    this.sendFrame(FlapChannel.Data, encodeSnac({ family, subtype, flags: 0, requestId }, body));
    return requestId;
  }

  /** Raw bytes (for malformed-input tests). */
  writeRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Closes the socket. */
  close(): void {
    this.socket.destroy();
  }
}

function matches(payload: Uint8Array, family: number, subtype: number): boolean {
  return payload.length >= 4 && ((payload[0]! << 8) | payload[1]!) === family && ((payload[2]! << 8) | payload[3]!) === subtype;
}

/** How to log in. */
export type LoginMethod = 'md5-weak' | 'md5-strong' | 'tls-password';

/** Result of the auth step. */
export interface LoginResult {
  /** 17/03 TLVs. */
  ok: boolean;
  /** Error code (TLV 0x0008) on failure. */
  error?: number;
  /** BOS address on success. */
  bos?: string;
  /** Cookie on success. */
  cookie?: Uint8Array;
  /** Formatted SN from the server. */
  screenName?: string;
}

/** Runs the BUCP (or certim TLS) login on a fresh auth connection; `multiConn` = login TLV 0x004A (absent when undefined). */
export async function login(ep: Endpoint, screenName: string, password: string, method: LoginMethod, multiConn?: number): Promise<LoginResult> {
  const c = await TestConnection.open(ep);
  try {
    await c.nextFrame((f) => f.channel === FlapChannel.SignOn);
    c.sendFrame(FlapChannel.SignOn, encodeFlapHello());
    const req: BucpLoginRequestFields = { screenName, clientId: 'certim test client' };
    if (method === 'tls-password') {
      req.certimPassword = password;
    } else {
      c.sendSnac(0x0017, 0x0006, encodeKeyRequest({ screenName }));
      const key = decodeKeyResponse((await c.expectSnac(0x0017, 0x0007)).body);
      req.passwordHash = method === 'md5-strong' ? strongPasswordHash(key, password) : weakPasswordHash(key, password);
      req.strong = method === 'md5-strong';
    }
    // Absent by default, as AIM 5.x sends it: such a client gets classic takeover.
    if (multiConn !== undefined) req.multiConn = multiConn;
    c.sendSnac(0x0017, 0x0002, encodeLoginRequest(req));
    const resp = decodeLoginResponse((await c.expectSnac(0x0017, 0x0003)).body);
    if (!resp.ok) return { ok: false, error: resp.errorCode };
    return { ok: true, bos: resp.bosAddress, cookie: resp.cookie.slice(), screenName: resp.screenName };
  } finally {
    c.close();
  }
}

/** Options for the BOS handshake. */
export interface BosOptions {
  /** Client-side buddies to add (03/04) before client ready. */
  buddies?: string[];
  /** Login TLV 0x004A (absent when undefined: classic takeover). */
  multiConn?: number;
}

/** A signed-on BOS connection. */
export interface BosClient {
  /** The connection. */
  conn: TestConnection;
  /** Formatted screen name. */
  screenName: string;
}

/** Connects to the BOS address with the cookie and runs the AIM 5.x handshake up to client ready. */
export async function bosSignOn(ep: Endpoint, res: LoginResult, opts: BosOptions = {}): Promise<BosClient> {
  if (!res.ok || !res.bos || !res.cookie) throw new Error(`login failed: 0x${(res.error ?? 0).toString(16)}`);
  const port = Number(res.bos.split(':')[1]);
  const c = await TestConnection.open({ ...ep, port });
  await c.nextFrame((f) => f.channel === FlapChannel.SignOn);
  c.sendFrame(FlapChannel.SignOn, encodeFlapHello([tlv(0x0006, res.cookie)]));
  await c.expectSnac(0x0001, 0x0003);
  const versions = [[1, 4], [2, 1], [3, 1], [4, 1], [9, 1], [0x13, 4]] as const;
  c.sendSnac(0x0001, 0x0017, encodeVersions(versions.map(([family, version]) => ({ family, version }))));
  await c.expectSnac(0x0001, 0x0018);
  c.sendSnac(0x0001, 0x0006);
  const rates = await c.expectSnac(0x0001, 0x0007);
  const nClasses = new ByteReader(rates.body).u16();
  c.sendSnac(0x0001, 0x0008, encodeU16List(Array.from({ length: nClasses }, (_, i) => i + 1)));
  if (opts.buddies && opts.buddies.length > 0) c.sendSnac(0x0003, 0x0004, encodeScreenNameList(opts.buddies));
  const ready = [1, 2, 3, 4, 9, 0x13].map((family) => ({ family, version: 1, toolId: 0x0110, toolVersion: 0x0801 }));
  c.sendSnac(0x0001, 0x0002, encodeClientOnline(ready));
  // Round trip so the server has processed client ready before the test goes on.
  const q = c.sendSnac(0x0001, 0x000e);
  await c.expectSnacWhere(0x0001, 0x000f, (s) => s.requestId === q);
  return { conn: c, screenName: res.screenName! };
}

/** Login + BOS sign-on in one call. */
export async function signOn(ep: Endpoint, screenName: string, password: string, method: LoginMethod, opts: BosOptions = {}): Promise<BosClient> {
  return bosSignOn(ep, await login(ep, screenName, password, method, opts.multiConn), opts);
}

/** Builds a 04/06 channel-1 IM body: cookie, channel 1, SN, TLV 0x0002 (features 01, one message part), optional extra TLVs. */
export function imBody(to: string, text: string | Uint8Array, extra: Tlv[] = [], cookie = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])): Uint8Array {
  const msg = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const data = encodeImMessage({ features: Uint8Array.of(1), parts: [{ charset: 0, text: msg }] });
  return encodeIcbmChannelMsgToHost({ cookie, channel: 1, screenName: to, tlvs: [tlv(0x0002, data), ...extra] });
}

/** Parses a 04/07 body: cookie, channel, sender SN, the last message part's text, and the TLVs after the user-info block. */
export function parseIncomingIm(body: Uint8Array): { cookie: Uint8Array; channel: number; sender: string; text: Uint8Array | undefined; tlvs: TlvList } {
  const { cookie, channel, sender, tlvs } = decodeIcbmChannelMsgToClient(body);
  const data = tlvs.bytes(0x0002);
  const text = data ? decodeImMessage(data).parts.at(-1)?.text : undefined;
  return { cookie, channel, sender: sender.screenName, text, tlvs };
}

/** The screen name at the start of a user-info block (03/0B, 03/0C, 02/06 bodies). */
export function userInfoScreenName(body: Uint8Array): string {
  return new ByteReader(body).string8();
}
