/**
 * One client connection: read -> FlapDeframer (frame size limit) -> rate class check BEFORE dispatch -> route by
 * (family, subtype) -> write replies. It drives a {@link ConnectionStream} (stream.ts), so TCP, TLS and OSCAR over
 * WebSocket (docs/protocol.md §14) share this loop, its limits and its authentication unchanged.
 *
 * - Broken framing (bad start byte, oversize frame, data before hello) closes the connection.
 * - A malformed SNAC body gets SNAC error 0x0E, an unknown SNAC 0x01; handler faults 0x1C — never a crash.
 * - Output is corked and flushed once per I/O phase (setImmediate), measured 1.5x faster (docs/performance.md §2.2) than
 *   flushing per input chunk. Pending output above `maxPendingOutput` means a slow reader: it is disconnected,
 *   not buffered forever.
 * - Frames are processed in order; when too many wait (slow store), the socket is paused. The one overlap: SNACs a
 *   family declares pipelined (IMs) do not wait for the one before to finish, up to {@link MAX_PIPELINED}; their
 *   replies still go out in order, and any other SNAC waits for all of them.
 */
import { randomInt } from 'node:crypto';
import { WireError, viewOf } from '../../wire/bytes.js';
import { FlapChannel, FlapDeframer, FlapHelloTlv, SignOffReason, decodeFlapHello, encodeFlap, encodeFlapHello, encodeFlapSignOff, type FlapFrame } from '../../wire/flap.js';
import { OSERVICE_FAMILY, OServiceSubtype, RateChangeCode, encodeHostOnline, encodeRateChange } from '../../wire/families/oservice.js';
import { BUCP_FAMILY } from '../../wire/families/bucp.js';
import { RequestIdCounter, SNAC_HEADER_SIZE, SnacErrorCode, SnacFlag, decodeSnac, encodeSnacError, encodeSnacFrameOf } from '../../wire/snac.js';
import { handleAuthSnac, type AuthConnection } from '../auth/bucp-login.js';
import { DirectoryError } from '../cluster/directory.js';
import type { Engine } from '../engine.js';
import { LogEvent, errorText } from '../log.js';
import type { BosContext, Reply } from '../families/family.js';
import type { CompiledService } from '../services/service.js';
import { snacKey } from '../session/rate-classes.js';
import { RateLimiter, type RateState } from '../session/rate-limiter.js';
import type { Session, SessionLink, SnacSendOptions } from '../session/session.js';
import type { ConnectionStream, StreamHandlers, StreamKind } from './stream.js';

/**
 * At most this many pipelined SNACs (`BosFamily.pipelined` in family.ts) are started on one connection before it waits for
 * them all: enough to keep IMs to users on other nodes flowing at one round trip per batch instead of per IM, few
 * enough that a client cannot make the server hold an unbounded number of IMs in flight.
 */
export const MAX_PIPELINED = 32;

/** hello -> auth (login connection) | service (a cookie was redeemed: BOS or another service) -> closed. */
type ConnState = 'hello' | 'auth' | 'service' | 'closed';

/** Drives one client stream. */
export class OscarConnection implements SessionLink, StreamHandlers {
  /** True for TLS connections (and WebSocket, which runs over HTTPS). */
  readonly tls: boolean;
  /** {@inheritDoc SessionLink.kind} */
  readonly kind: StreamKind;
  /** Peer address as text ('unknown' when the socket has none). */
  readonly address: string;

  /** Peer IPv4 (4 bytes) or undefined; parsed when asked (only a rendezvous address rewrite asks), not kept per connection. */
  get remoteIpv4(): Uint8Array | undefined {
    return parseIpv4(this.address);
  }

  /** {@inheritDoc SessionLink.remoteAddress} */
  get remoteAddress(): string {
    return this.address;
  }
  private state: ConnState = 'hello';
  private readonly deframer: FlapDeframer;
  private seq = randomInt(0, 0x8000);
  private readonly reqIds = new RequestIdCounter(true);
  private readonly rates: RateLimiter;
  private readonly queue: FlapFrame[] = [];
  private processing = false;
  /** Set while drainAfter waits on pipelined SNACs and would start another: called when a frame arrives. */
  private arrived: (() => void) | undefined;
  private paused = false;
  private corked = false;
  private session: Session | undefined;
  /** The service whose cookie this connection redeemed; its family table routes every SNAC. */
  private service: CompiledService | undefined;
  /** What every handler of this connection gets (set once its session has started). */
  private ctx: BosContext | undefined;
  private authTimer: NodeJS.Timeout | undefined;
  /** Why the connection ended (first reason wins), for the sign-off log line. */
  private closeReason: string | undefined;
  /** The client id string from the login cookie (sign-on log line, admin sessions). */
  clientId: string | undefined;
  /** BUCP state of an auth connection (its single-use challenge key); dropped once a cookie is redeemed. */
  private auth: AuthConnection | undefined;

  /** @param engine shared state; @param socket the accepted stream (TCP, TLS or WebSocket); @param onClosed called once at close */
  constructor(
    private readonly engine: Engine,
    private readonly socket: ConnectionStream,
    private readonly onClosed: (c: OscarConnection) => void,
    /** Called once when a BOS cookie was redeemed (the connection is authenticated; connection-limits.ts). */
    private readonly onAuthenticated: () => void = () => {},
  ) {
    this.kind = socket.kind;
    this.tls = socket.kind !== 'tcp';
    this.address = socket.remoteAddress;
    this.auth = { tls: this.tls, kind: this.kind, address: this.address };
    this.deframer = new FlapDeframer({ maxFrameSize: engine.config.maxFrameSize });
    this.rates = new RateLimiter(engine.config.rateClasses, engine.clock.now());
    // The connection is its own stream handler: no per-connection closures for the stream's events.
    socket.start(this);
    this.authTimer = setTimeout(() => {
      if (this.state === 'hello' || this.state === 'auth') this.close('unauthenticated timeout');
    }, engine.config.unauthenticatedTimeoutMs);
    this.authTimer.unref();
    this.writeFrame(FlapChannel.SignOn, encodeFlapHello());
  }

  /** {@inheritDoc SessionLink.sendSnac} */
  sendSnac(family: number, subtype: number, body: Uint8Array, options: SnacSendOptions = {}): boolean {
    if (this.state === 'closed') return false;
    let frame: Uint8Array;
    try {
      frame = encodeSnacFrameOf(this.nextSeq(), family, subtype, options.flags ?? 0, options.requestId ?? this.reqIds.next(), body);
    } catch (e) {
      this.engine.log('error', LogEvent.SNAC_TOO_LARGE, { family, subtype, length: body.length, error: errorText(e) });
      return false;
    }
    this.engine.counters.snacsOut++;
    this.write(frame);
    return (this.state as ConnState) !== 'closed';
  }

  /** {@inheritDoc SessionLink.pendingOutput} */
  get pendingOutput(): number {
    return this.socket.destroyed ? 0 : this.socket.pendingBytes;
  }

  /** {@inheritDoc SessionLink.closed} */
  get closed(): boolean {
    return this.state === 'closed';
  }

  /** {@inheritDoc SessionLink.signOff} */
  signOff(reason?: number): void {
    if (this.state === 'closed') return;
    this.closeReason ??= reason === SignOffReason.SignedOnElsewhere ? 'signed on elsewhere' : 'signed off by server';
    this.writeFrame(FlapChannel.SignOff, encodeFlapSignOff(reason === undefined ? {} : { reason }));
    this.close('signed off');
  }

  /** Closes the connection (flushing what is queued), idempotent. */
  close(why: string): void {
    if (this.state === 'closed') return;
    this.closeReason ??= why;
    this.engine.log('debug', LogEvent.CONN_CLOSED, { address: this.address, why });
    this.state = 'closed';
    this.queue.length = 0;
    this.socket.end();
    // A peer that never reads would keep the socket half-open: destroy after a grace period.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  private nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) & 0xffff;
    return s;
  }

  private writeFrame(channel: number, payload: Uint8Array): void {
    this.write(encodeFlap({ channel, sequence: this.nextSeq(), payload }));
  }

  private write(frame: Uint8Array): void {
    const sock = this.socket;
    if (sock.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      scheduleFlush(this);
    }
    sock.write(frame);
    if (sock.pendingBytes > this.engine.config.maxPendingOutput) {
      // Slow reader: never buffer without bound. Dropping the socket loses only this client's backlog.
      this.engine.counters.limitDisconnects++;
      this.closeReason ??= 'slow reader';
      this.engine.log('warn', LogEvent.SLOW_READER_DISCONNECT, { address: this.address, kind: this.kind, screenName: this.session?.screenName, pending: sock.pendingBytes });
      this.state = 'closed';
      sock.destroy();
    }
  }

  /** Sends what this I/O phase queued (called once per phase by the shared flush). */
  flushOutput(): void {
    this.corked = false;
    this.socket.flush();
  }

  /** {@inheritDoc StreamHandlers.onData} */
  onData(chunk: Uint8Array): void {
    if (this.state === 'closed') return;
    // The chunk's frames go straight onto the queue (no array per read), then through the rate policy in place.
    const q = this.queue;
    const first = q.length;
    try {
      this.deframer.pushTo(chunk, q);
    } catch (e) {
      q.length = first;
      this.engine.counters.malformedFrames++;
      this.engine.log('debug', LogEvent.BAD_FRAMING, { address: this.address, code: WireError.is(e) ? e.code : errorText(e) });
      this.close(`bad framing: ${WireError.is(e) ? e.code : String(e)}`);
      return;
    }
    const now = this.engine.clock.now();
    let kept = first;
    for (let i = first; i < q.length; i++) {
      if ((this.state as ConnState) === 'closed') break;
      const f = q[i]!;
      if (f.channel === FlapChannel.Data && !this.admit(f, now)) continue;
      q[kept++] = f;
    }
    if ((this.state as ConnState) === 'closed') {
      q.length = 0;
      return;
    }
    if (kept !== q.length) q.length = kept; // (setting the length is a runtime call: only when a frame was dropped)
    if (this.queue.length > this.engine.config.maxQueuedFrames && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    if (!this.processing) this.drain();
    else if (this.arrived !== undefined && this.queue.length > 0) this.arrived();
  }

  /** Rate policy before dispatch: false when the SNAC is dropped or the connection closed. */
  private admit(f: FlapFrame, now: number): boolean {
    const p = f.payload;
    if (p.length < 10) return true; // answered as malformed in dispatch
    // Family and subtype read in place (no header object per SNAC); onSnac decodes the header once more.
    const cls = this.engine.config.rateClassMap.get(snacKey((p[0]! << 8) | p[1]!, (p[2]! << 8) | p[3]!)) ?? 1;
    const r = this.rates.check(cls, now);
    if (r.verdict === 'disconnect') {
      this.engine.counters.limitDisconnects++;
      this.closeReason ??= 'rate limit';
      this.engine.log('warn', LogEvent.RATE_LIMIT_DISCONNECT, { address: this.address, screenName: this.session?.screenName, class: cls });
      // A flooder must not sign straight back on (docs/protocol.md §2.1): the account's next login waits a bit.
      const account = this.session?.key;
      if (account !== undefined) {
        this.engine.throttle.penalize(account).then(
          (ms) => this.engine.log('info', LogEvent.LOGIN_PENALTY, { screenName: this.session?.screenName, seconds: Math.ceil(ms / 1000) }),
          (e: unknown) => this.engine.log('error', LogEvent.STORE_ERROR, { operation: 'throttle.penalize', error: errorText(e) }),
        );
      }
      this.notifyRate(RateChangeCode.LIMITED, r.state);
      this.signOff(0x0002);
      return false;
    }
    if (r.notice) this.notifyRate(r.notice === 'alert' ? RateChangeCode.WARNING : r.notice === 'limited' ? RateChangeCode.LIMITED : RateChangeCode.CLEAR, r.state);
    if (r.verdict === 'drop') {
      this.engine.counters.rateDropped++;
      return false;
    }
    return true;
  }

  private notifyRate(code: number, st: RateState): void {
    if (this.state !== 'service') return;
    const v2 = (this.session?.oserviceVersion ?? 1) >= 2;
    const rec = { ...st.cls, current: st.current, lastTime: Math.max(0, this.engine.clock.now() - st.last), dropping: st.limited };
    this.sendSnac(OSERVICE_FAMILY, OServiceSubtype.RATE_PARAMS_CHANGE, encodeRateChange(code, rec, v2));
  }

  /**
   * Handles the queued frames in order. Most SNACs complete synchronously, and while they do this runs as a plain
   * loop (no promise per chunk); the first that returns a promise (the store, the directory) hands the rest of the
   * queue to {@link drainAfter}, which awaits it and every later one that is asynchronous (pipelined SNACs overlap).
   */
  private drain(): void {
    this.processing = true;
    let pending: Promise<void> | void = undefined;
    let frame: FlapFrame | undefined;
    try {
      while (this.queue.length > 0 && this.state !== 'closed') {
        frame = this.queue.shift()!;
        pending = this.handleFrame(frame);
        if (pending) break;
      }
    } finally {
      if (!pending) this.drained();
    }
    if (pending) void this.drainAfter(pending, this.pipelines(frame!));
  }

  /**
   * Handles the rest of the queue once `first` allows. While every unfinished SNAC is a pipelined one, the next
   * pipelined SNAC starts at once, its reply chained after the previous one's (so an IM to a user on another node
   * costs this connection one round trip per batch, not per IM); anything else waits until all have finished.
   */
  private async drainAfter(first: Promise<void>, firstPipelined: boolean): Promise<void> {
    try {
      let pending: Promise<void> | undefined = first;
      // How many more pipelined SNACs may start before `pending` settles (0 when what is pending is not one).
      let room = firstPipelined ? MAX_PIPELINED - 1 : 0;
      for (;;) {
        while (this.queue.length > 0 && this.state !== 'closed') {
          if (pending !== undefined && (room === 0 || !this.pipelines(this.queue[0]!))) {
            await pending;
            pending = undefined;
            continue;
          }
          const f = this.queue.shift()!;
          if (pending !== undefined) {
            // (Nothing returned: the session ended and nothing is answered; what was pending still is.)
            pending = this.onSnac(f.payload, pending) ?? pending;
            room--;
          } else {
            pending = this.handleFrame(f) ?? undefined;
            room = pending !== undefined && this.pipelines(f) ? MAX_PIPELINED - 1 : 0;
          }
        }
        if (pending === undefined || this.state === 'closed') break;
        // Room for another pipelined SNAC: wait for what is pending or for the next frame, whichever comes first.
        if (room > 0 && !(await this.settledOrArrived(pending))) continue;
        await pending;
        pending = undefined;
      }
    } finally {
      this.arrived = undefined;
      this.drained();
    }
  }

  /** Waits until `pending` settles (true) or a frame arrives (false). */
  private settledOrArrived(pending: Promise<void>): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      this.arrived = () => resolve(false);
      const settled = (): void => resolve(true);
      pending.then(settled, settled); // (a rejection is acted on by the await that follows)
    }).finally(() => {
      this.arrived = undefined;
    });
  }

  /** True for a SNAC of the service's pipelined set (`BosFamily.pipelined` in family.ts) on a connection past sign-on. */
  private pipelines(f: FlapFrame): boolean {
    const p = f.payload;
    return this.state === 'service' && f.channel === FlapChannel.Data && p.length >= SNAC_HEADER_SIZE &&
      this.service!.pipelined.has(snacKey((p[0]! << 8) | p[1]!, (p[2]! << 8) | p[3]!));
  }

  private drained(): void {
    this.processing = false;
    if (this.paused && this.state !== 'closed') {
      this.paused = false;
      this.socket.resume();
    }
  }

  private handleFrame(f: FlapFrame): Promise<void> | void {
    switch (f.channel) {
      case FlapChannel.SignOn:
        return this.onHello(f.payload);
      case FlapChannel.Data:
        if (this.state === 'hello') return this.close('SNAC before hello');
        return this.onSnac(f.payload);
      case FlapChannel.SignOff:
        return this.close('client signed off');
      case FlapChannel.KeepAlive:
      case FlapChannel.Error:
        return;
      default:
        this.engine.counters.malformedFrames++;
        return this.close(`unknown FLAP channel ${f.channel}`);
    }
  }

  private async onHello(payload: Uint8Array): Promise<void> {
    if (this.state !== 'hello') return this.close('second hello');
    let cookie: Uint8Array | undefined;
    try {
      const hello = decodeFlapHello(payload);
      if (hello.tlvs.has(FlapHelloTlv.ScreenName)) return this.close('old-style channel-1 login not supported');
      cookie = hello.tlvs.bytes(FlapHelloTlv.AuthCookie);
    } catch {
      this.engine.counters.malformedFrames++;
      return this.close('malformed hello');
    }
    if (cookie === undefined) {
      this.state = 'auth';
      return;
    }
    const claims = this.engine.cookies.redeem(cookie, this.engine.clock.now());
    const service = claims && this.engine.services.get(claims.service);
    if (!claims || !service) return this.signOff();
    // In a cluster the cookie is single-use everywhere, not just here (docs/protocol.md §2.1): claim its nonce;
    // a replay, or a claim that cannot be decided, is refused (fail closed).
    if (this.engine.cookieClaims) {
      let first: boolean;
      try {
        first = await this.engine.cookieClaims.claim(claims.nonce);
      } catch (e) {
        this.engine.log('warn', LogEvent.COOKIE_REFUSED, { address: this.address, screenName: claims.screenName, reason: 'claim failed', error: errorText(e) });
        return this.signOff();
      }
      if (!first) {
        this.engine.log('warn', LogEvent.COOKIE_REFUSED, { address: this.address, screenName: claims.screenName, reason: 'replayed' });
        return this.signOff();
      }
      if (this.state !== 'hello') return;
    }
    this.clientId = claims.clientId;
    this.state = 'service';
    this.auth = undefined;
    this.service = service;
    this.onAuthenticated();
    clearTimeout(this.authTimer);
    this.authTimer = undefined; // a signed-on connection keeps no timer object
    this.socket.authenticated?.();
    try {
      this.session = await service.service.start(this.engine, claims, this);
    } catch (e) {
      // A full account (its login raced other sign-ons past the login's own check) is the client's doing, not ours.
      const level = DirectoryError.is(e, 'DIRECTORY_SESSION_LIMIT') ? 'warn' : 'error';
      this.engine.log(level, LogEvent.SESSION_START_FAILED, { screenName: claims.screenName, service: claims.service, error: errorText(e) });
      return this.signOff();
    }
    if (this.state !== 'service') {
      service.service.end(this.engine, this.session);
      return;
    }
    this.ctx = { engine: this.engine, session: this.session, service: service.service };
    this.engine.log('info', LogEvent.SIGN_ON, {
      screenName: this.session.screenName, address: this.address, tls: this.tls, clientId: this.clientId, service: service.service.id,
    });
    this.sendSnac(OSERVICE_FAMILY, OServiceSubtype.HOST_ONLINE, encodeHostOnline(service.familyIds));
  }

  /**
   * Routes one SNAC to its handler and sends the replies. With `after` (an earlier pipelined SNAC's unfinished
   * reply), the replies wait for it, so they go out in the order the client sent.
   */
  private onSnac(payload: Uint8Array, after?: Promise<void>): Promise<void> | void {
    this.engine.counters.snacsIn++;
    if (payload.length < 10) {
      this.engine.counters.malformedFrames++;
      return this.close('short SNAC header');
    }
    // The header read in place: no header object per SNAC.
    const p = payload;
    const family = (p[0]! << 8) | p[1]!;
    const subtype = (p[2]! << 8) | p[3]!;
    const requestId = ((p[6]! << 24) >>> 0) + ((p[7]! << 16) | (p[8]! << 8) | p[9]!);
    try {
      // Without a family-version prefix the body is simply the rest (what decodeSnac returns, minus its object).
      const body = (((p[4]! << 8) | p[5]!) & SnacFlag.FamilyVersionPrefix) === 0 ? viewOf(p, SNAC_HEADER_SIZE, p.length - SNAC_HEADER_SIZE) : decodeSnac(p).body;
      if (this.state === 'auth') {
        if (family !== BUCP_FAMILY || this.auth === undefined) return this.fail(family, requestId, SnacErrorCode.InvalidSnac);
        return handleAuthSnac(this.engine, this.auth, subtype, body).then(
          (replies) => (replies === undefined ? this.fail(family, requestId, SnacErrorCode.InvalidSnac) : this.answer(requestId, replies)),
          (e: unknown) => this.handlerFailed(family, subtype, requestId, e),
        );
      }
      const ctx = this.ctx;
      if (!ctx || ctx.session.closed) return;
      const handler = this.service!.handlers.get((family << 16) | subtype);
      if (!handler) return this.fail(family, requestId, SnacErrorCode.InvalidSnac);
      const result = handler(ctx, body);
      if (after) return this.answerAfter(after, family, subtype, requestId, result);
      if (result instanceof Promise) return result.then((r) => this.answer(requestId, r), (e: unknown) => this.handlerFailed(family, subtype, requestId, e));
      if (result) this.answer(requestId, result);
    } catch (e) {
      if (after) return after.then(() => this.handlerFailed(family, subtype, requestId, e));
      this.handlerFailed(family, subtype, requestId, e);
    }
  }

  /** Sends a handler's replies (or its failure) once `after` has settled. */
  private answerAfter(after: Promise<void>, family: number, subtype: number, requestId: number, result: Reply[] | void | Promise<Reply[] | void>): Promise<void> {
    if (!(result instanceof Promise)) return after.then(() => this.answer(requestId, result));
    // Both settled before either is acted on; `result` has its handler from now (a rejection is never unhandled).
    return Promise.allSettled([after, result]).then(([, r]) => {
      if (r.status === 'fulfilled') this.answer(requestId, r.value);
      else this.handlerFailed(family, subtype, requestId, r.reason);
    });
  }

  private answer(requestId: number, replies: Reply[] | void | undefined): void {
    if (!replies) return;
    for (const r of replies) this.sendSnac(r.family, r.subtype, r.body, { flags: r.flags ?? 0, requestId: r.requestId ?? requestId });
  }

  private fail(family: number, requestId: number, code: number): void {
    this.sendSnac(family, 0x0001, encodeSnacError(code), { requestId });
  }

  /** Malformed bodies get 0x0E; anything else is a server fault: logged, answered 0x1C, connection kept. */
  private handlerFailed(family: number, subtype: number, requestId: number, e: unknown): void {
    if (WireError.is(e)) {
      this.engine.counters.malformedSnacs++;
      return this.fail(family, requestId, SnacErrorCode.MalformedPayload);
    }
    this.engine.log('error', LogEvent.HANDLER_FAILED, { family, subtype, error: e instanceof Error ? e.stack ?? e.message : String(e) });
    this.fail(family, requestId, SnacErrorCode.GeneralFailure);
  }

  /** {@inheritDoc StreamHandlers.onClose} */
  onClose(): void {
    clearTimeout(this.authTimer);
    this.state = 'closed';
    this.queue.length = 0;
    if (this.session) {
      const s = this.session;
      this.engine.log('info', LogEvent.SIGN_OFF, {
        screenName: s.screenName, address: this.address, tls: this.tls, reason: this.closeReason ?? 'connection closed',
        seconds: Math.max(0, Math.round(this.engine.clock.now() / 1000) - s.signedOnAt), service: this.service?.service.id,
      });
      this.service?.service.end(this.engine, s);
    }
    this.onClosed(this);
  }
}

/**
 * Connections written to in this I/O phase, flushed together by one `setImmediate` (as the baseline relay does):
 * one timer per phase for the whole server instead of one timer and closure per connection and phase.
 */
let toFlush: OscarConnection[] = [];
let flushScheduled = false;

function scheduleFlush(c: OscarConnection): void {
  toFlush.push(c);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushAll);
  }
}

function flushAll(): void {
  const list = toFlush;
  toFlush = [];
  flushScheduled = false;
  for (const c of list) c.flushOutput();
}

/** The 4 bytes of an IPv4 (or IPv4-mapped IPv6) address string; undefined otherwise. */
export function parseIpv4(address: string): Uint8Array | undefined {
  const m = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/i.exec(address);
  if (!m) return undefined;
  const parts = m.slice(1, 5).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return new Uint8Array(parts);
}
