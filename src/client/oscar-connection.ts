/**
 * One OSCAR connection over a {@link Transport}: FLAP framing in both directions, the channel-1 hello, and SNAC
 * request/reply correlation by request id (docs/protocol.md §1.1–1.2, §1.5).
 *
 * `request()` resolves with the first SNAC that echoes its request id, or rejects with a typed
 * {@link ClientError}: SNAC_ERROR for an error SNAC (subtype 0x0001 in any family), TIMEOUT, or
 * CONNECTION_CLOSED. SNACs nobody asked for (buddy arrivals, incoming IMs, server-originated notices) go to
 * `onSnac`. A framing error closes the connection: a stream that lost sync cannot be trusted.
 */
import { FlapChannel, FlapDeframer, decodeFlapHello, decodeFlapSignOff, encodeFlap, encodeFlapHello, type FlapSignOff } from '../wire/flap.js';
import { SNAC_ERROR_SUBTYPE, decodeSnac, decodeSnacError, encodeSnac, type Snac } from '../wire/snac.js';
import type { Tlv } from '../wire/tlv.js';
import { ClientError, snacErrorName } from './errors.js';
import type { Transport, TransportFactory, TransportTarget } from './transport.js';

/** Default time to wait for a SNAC reply. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

/** What the owner of a connection hears about. */
export interface OscarConnectionHandlers {
  /** An unsolicited SNAC (no pending request with its id). */
  onSnac?(snac: Snac): void;
  /** The server sent a channel-4 sign-off (e.g. signed on elsewhere). */
  onSignOff?(signOff: FlapSignOff): void;
  /** The connection ended; `err` says why when it was not a clean close by us. */
  onClose?(err?: Error): void;
}

interface Pending {
  resolve(snac: Snac): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
  what: string;
  /** Settled by the reply to a later request (see sendChecked). */
  barrier?: boolean;
}

/** A FLAP/SNAC connection with request-id correlation. Create with {@link OscarConnection.open}. */
export class OscarConnection {
  private readonly deframer = new FlapDeframer();
  private transport: Transport | undefined;
  private sequence = Math.floor(Math.random() * 0x8000);
  private nextRequestId = 1;
  private readonly pending = new Map<number, Pending>();
  private helloWaiter: { resolve(): void; reject(e: Error): void } | undefined;
  private gotHello = false;
  private closed = false;
  private closeError: Error | undefined;
  private keepAlive: ReturnType<typeof setInterval> | undefined;

  private constructor(private readonly handlers: OscarConnectionHandlers) {}

  /**
   * Connects, waits for the server's channel-1 hello and answers with ours (carrying `helloTlvs`, e.g. the BOS
   * cookie TLV 0x0006). Resolves when the connection is ready for SNACs.
   */
  static async open(
    factory: TransportFactory,
    target: TransportTarget,
    helloTlvs: Tlv[],
    handlers: OscarConnectionHandlers = {},
    opts: { timeoutMs?: number } = {},
  ): Promise<OscarConnection> {
    const conn = new OscarConnection(handlers);
    const helloSeen = new Promise<void>((resolve, reject) => {
      conn.helloWaiter = { resolve, reject };
    });
    helloSeen.catch(() => undefined); // observed below; avoid an unhandled rejection if the stream dies first
    conn.transport = await factory(target, {
      onData: (chunk) => conn.onData(chunk),
      onClose: (err) => conn.onTransportClose(err),
    });
    const timeoutMs = opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        helloSeen,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ClientError('TIMEOUT', `${conn.peer}: no FLAP hello within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (e) {
      conn.close();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    conn.writeFrame(FlapChannel.SignOn, encodeFlapHello(helloTlvs));
    // Keep NATs and idle timers from dropping a quiet session (channel 5 is ignored by servers).
    conn.keepAlive = setInterval(() => conn.writeFrame(FlapChannel.KeepAlive, new Uint8Array(0)), 60_000);
    conn.keepAlive.unref?.(); // a browser timer is a number: nothing to unref
    return conn;
  }

  /** Description of the peer for messages. */
  get peer(): string {
    return this.transport?.peer ?? 'server';
  }

  /** True once the connection has closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends a SNAC without waiting for a reply; returns the request id used. */
  send(family: number, subtype: number, body: Uint8Array, requestId?: number): number {
    if (this.closed) throw new ClientError('CONNECTION_CLOSED', `${this.peer}: connection is closed`, { cause: this.closeError });
    const id = requestId ?? this.allocateRequestId();
    this.writeFrame(FlapChannel.Data, encodeSnac({ family, subtype, flags: 0, requestId: id }, body));
    return id;
  }

  /** Sends a SNAC and resolves with the reply that echoes its request id (see the file comment). */
  request(family: number, subtype: number, body: Uint8Array, opts: { timeoutMs?: number } = {}): Promise<Snac> {
    const what = `SNAC ${hex(family)}/${hex(subtype)}`;
    if (this.closed) {
      return Promise.reject(new ClientError('CONNECTION_CLOSED', `${this.peer}: connection is closed`, { cause: this.closeError }));
    }
    const id = this.allocateRequestId();
    const timeoutMs = opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const p = new Promise<Snac>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ClientError('TIMEOUT', `${this.peer}: no reply to ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, what });
    });
    this.send(family, subtype, body, id);
    return p;
  }

  /**
   * Sends a SNAC that has no reply on success (e.g. Locate 02/04 set info) but may draw an error SNAC. The
   * promise rejects with SNAC_ERROR if one arrives, and resolves as soon as the reply to any LATER request
   * arrives: the server answers in order, so by then no error is coming. Follow it with a request.
   */
  sendChecked(family: number, subtype: number, body: Uint8Array): Promise<void> {
    const what = `SNAC ${hex(family)}/${hex(subtype)}`;
    const id = this.allocateRequestId();
    const p = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve();
      }, DEFAULT_REQUEST_TIMEOUT_MS * 2);
      this.pending.set(id, { resolve: () => resolve(), reject, timer, what, barrier: true });
    });
    this.send(family, subtype, body, id);
    return p;
  }

  /** Closes the connection (channel-4 sign-off, then the stream). Pending requests fail with CONNECTION_CLOSED. */
  close(): void {
    if (this.closed) return;
    try {
      this.writeFrame(FlapChannel.SignOff, new Uint8Array(0));
    } catch {
      // already gone
    }
    this.finish(undefined);
    this.transport?.close();
  }

  private releaseBarriers(answered: number): void {
    for (const [id, p] of this.pending) {
      if (p.barrier && id < answered) {
        this.pending.delete(id);
        clearTimeout(p.timer);
        p.resolve(undefined as unknown as Snac);
      }
    }
  }

  private allocateRequestId(): number {
    const id = this.nextRequestId;
    this.nextRequestId = id >= 0x7fffffff ? 1 : id + 1; // high bit is reserved for server-originated ids
    return id;
  }

  private writeFrame(channel: number, payload: Uint8Array): void {
    if (!this.transport) return;
    this.sequence = (this.sequence + 1) & 0xffff;
    this.transport.write(encodeFlap({ channel, sequence: this.sequence, payload }));
  }

  private onData(chunk: Uint8Array): void {
    if (this.closed) return;
    let frames;
    try {
      frames = this.deframer.push(chunk);
    } catch (e) {
      this.fail(new ClientError('PROTOCOL', `${this.peer}: bad FLAP stream: ${(e as Error).message}`, { cause: e }));
      return;
    }
    for (const f of frames) {
      try {
        this.onFrame(f.channel, f.payload);
      } catch (e) {
        this.fail(ClientError.is(e) ? e : new ClientError('PROTOCOL', `${this.peer}: ${(e as Error).message}`, { cause: e }));
        return;
      }
      if (this.closed) return;
    }
  }

  private onFrame(channel: number, payload: Uint8Array): void {
    switch (channel) {
      case FlapChannel.SignOn:
        decodeFlapHello(payload);
        if (!this.gotHello) {
          this.gotHello = true;
          this.helloWaiter?.resolve();
        }
        return;
      case FlapChannel.Data: {
        const snac = decodeSnac(payload);
        const p = this.pending.get(snac.requestId);
        if (p) {
          // Every request this client makes needs one reply; siblings flagged "more follow" (0x0001) would
          // arrive as unsolicited SNACs.
          this.pending.delete(snac.requestId);
          clearTimeout(p.timer);
          if (snac.subtype === SNAC_ERROR_SUBTYPE) {
            p.reject(snacErrorToClientError(p.what, snac.body));
          } else {
            p.resolve(snac);
          }
          this.releaseBarriers(snac.requestId);
          return;
        }
        this.handlers.onSnac?.(snac);
        return;
      }
      case FlapChannel.SignOff: {
        const so = decodeFlapSignOff(payload);
        this.handlers.onSignOff?.(so);
        this.fail(new ClientError('CONNECTION_CLOSED', `${this.peer} signed us off${so.reason !== undefined ? ` (reason ${so.reason})` : ''}`));
        return;
      }
      case FlapChannel.Error:
      case FlapChannel.KeepAlive:
        return;
      default:
        throw new ClientError('PROTOCOL', `unknown FLAP channel ${channel}`);
    }
  }

  private onTransportClose(err?: Error): void {
    this.finish(err ?? (this.closed ? undefined : new ClientError('CONNECTION_CLOSED', `${this.peer} closed the connection`)));
  }

  private fail(err: Error): void {
    this.finish(err);
    this.transport?.close();
  }

  private finish(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = err;
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.helloWaiter?.reject(err ?? new ClientError('CONNECTION_CLOSED', `${this.peer}: connection closed`));
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(new ClientError('CONNECTION_CLOSED', `${this.peer}: connection closed before the reply to ${p.what}`, { cause: err }));
    }
    this.handlers.onClose?.(err);
  }
}

/**
 * An error SNAC as a ClientError. certim's refusals carry a reject subcode (TLV 0x0008) and a reason text
 * (TLV 0x001B, docs/protocol.md §10.2); both are kept so callers can tell e.g. a revoked certificate apart.
 */
function snacErrorToClientError(what: string, body: Uint8Array): ClientError {
  let code = 0;
  let subcode: number | undefined;
  let text: string | undefined;
  try {
    const e = decodeSnacError(body);
    code = e.code;
    subcode = e.tlvs.u16(0x0008);
    const t = e.tlvs.bytes(0x001b);
    text = t ? new TextDecoder('utf-8').decode(t) : undefined;
  } catch {
    // A bare or short error body: the code (if any) is all there is.
  }
  return new ClientError('SNAC_ERROR', `${what} refused: ${snacErrorName(code)}${text ? ` (${text})` : ''}`, { snacError: code, ...(subcode !== undefined ? { subcode } : {}) });
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
