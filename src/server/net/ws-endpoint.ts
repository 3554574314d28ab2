/**
 * OSCAR over WebSocket (docs/protocol.md §14): the browser's way into the same OSCAR engine as the TLS port. The
 * HTTPS listener hands every `upgrade` request here; a request for {@link OSCAR_WEBSOCKET_PATH} from the server's own
 * origin becomes a {@link ConnectionStream} that `OscarServer.attach` drives with the one connection loop
 * (connection.ts): same deframer and max frame size, rate classes, slow-reader limit, BUCP login, cookie hand-off.
 *
 * What an attacker can do with it, and what bounds it (§14.4):
 * - A cross-site page cannot open a user's socket: the `Origin` must be https, equal the `Host` the request was sent
 *   to, and name one of the server certificate's names. A missing `Origin` is refused (browsers always send one).
 * - The upgrade is cheap: no I/O before the 101, no compression (`perMessageDeflate: false`: compression next to
 *   secrets leaks them, CRIME-style, and inflating costs memory), one message at most 65,541 bytes, the largest
 *   FLAP frame (ws closes with 1009 before buffering more); the deframer then holds each frame to `maxFrameSize`.
 * - Control frames cannot be used to make us write: browsers never send pings, so more than
 *   {@link MAX_PINGS_PER_MINUTE} close the socket (1008) before the pongs could pile up behind a peer that does not read.
 * - Sockets that have not redeemed a cookie yet (login connections and idle upgrades) are capped in total and per
 *   address, and the connection loop closes them after `unauthenticatedTimeoutMs` like any OSCAR connection.
 */
import { LogEvent } from '../log.js';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { FLAP_MAX_FRAME } from '../../wire/flap.js';
import type { Engine } from '../engine.js';
import type { ConnectionTicket } from './connection-limits.js';
import type { ConnectionStream } from './stream.js';

/** The fixed path of the OSCAR WebSocket on the HTTPS port (docs/protocol.md §14.1). */
export const OSCAR_WEBSOCKET_PATH = '/oscar';

/** Pings a client may send per minute (the browser API cannot send any; non-browser clients need a few at most). */
export const MAX_PINGS_PER_MINUTE = 30;

/** Limits of the endpoint (the connection loop's own limits come from the engine config). */
export interface WebSocketLimits {
  /** WebSockets open at once that have not redeemed a cookie (login stage or idle). */
  maxUnauthenticated: number;
  /** The same, per remote address. */
  maxUnauthenticatedPerAddress: number;
}

/** Defaults: enough for a crowd signing on at once, small enough that one address cannot hold many idle sockets. */
export const DEFAULT_WEBSOCKET_LIMITS: Readonly<WebSocketLimits> = { maxUnauthenticated: 1000, maxUnauthenticatedPerAddress: 16 };

/**
 * Why an upgrade was refused (stable codes, first line of the HTTP refusal body): 404 wrong path, 403 origin not the
 * server's own, 503 too many unauthenticated sockets or the OSCAR server is full/closing.
 */
export type WebSocketRefusal = 'WS_NOT_FOUND' | 'WS_ORIGIN_REFUSED' | 'WS_BUSY';

/** Counters of the endpoint, for /metrics. */
export interface WebSocketCounters {
  /** Upgrades completed (101 sent). */
  wsUpgrades: number;
  /** Upgrades refused by this module (path, origin, caps). */
  wsRefused: number;
  /** Sockets closed for a message over the size limit (1009), a text message (1003) or a ping flood (1008). */
  wsBadMessages: number;
}

/** Options of {@link createWebSocketEndpoint}. */
export interface WebSocketEndpointOptions {
  /** The OSCAR server's engine (config, log, counters) and its `attach`. */
  oscar: { readonly engine: Engine; attach(stream: ConnectionStream): boolean };
  /** Host names and IP addresses the server answers to (the TLS certificate's names); the Origin must name one. */
  allowedHosts: readonly string[];
  /** Overrides of {@link DEFAULT_WEBSOCKET_LIMITS}. */
  limits?: Partial<WebSocketLimits>;
}

/** The endpoint, as the HTTPS listener uses it. */
export interface WebSocketEndpoint {
  /**
   * Handles one HTTP `upgrade` request (any path; others are refused here). `ticket`: the TLS connection's place in
   * the shared connection caps, marked authenticated when the OSCAR connection on it signs on (until then it counts
   * as unauthenticated for its address, as every connection does).
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ticket?: ConnectionTicket): void;
  /** Counters. */
  readonly counters: Readonly<WebSocketCounters>;
  /** Unauthenticated WebSockets open now. */
  readonly unauthenticated: number;
}

/**
 * True when `origin` (the request's `Origin` header) is this server's own: https, exactly the origin serialization,
 * the same host and port as the `Host` header, and a host name in `allowedHosts`. TLS makes the last two meaningful:
 * a browser reaches `Host` only if the server's certificate names it, so a rebinding name fails the handshake.
 */
export function isOwnOrigin(origin: string | undefined, host: string | undefined, allowedHosts: readonly string[]): boolean {
  if (!origin || !host) return false;
  let o: URL;
  let h: URL;
  try {
    o = new URL(origin);
    h = new URL(`https://${host}`);
  } catch {
    return false;
  }
  if (o.protocol !== 'https:' || o.origin !== origin.toLowerCase()) return false;
  if (h.username !== '' || h.password !== '' || h.pathname !== '/' || h.search !== '' || h.hash !== '') return false;
  if (o.host !== h.host) return false;
  const name = o.hostname.replace(/^\[(.*)\]$/, '$1');
  return allowedHosts.some((a) => a.toLowerCase() === name);
}

/** The path of a request target, or undefined when it does not parse (the HTTP parser lets odd targets through). */
function requestPath(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? '/', 'https://localhost').pathname;
  } catch {
    return undefined;
  }
}

/** Creates the endpoint (no listener of its own: the HTTPS listener's `upgrade` event calls it). */
export function createWebSocketEndpoint(o: WebSocketEndpointOptions): WebSocketEndpoint {
  const { engine } = o.oscar;
  const limits: WebSocketLimits = { ...DEFAULT_WEBSOCKET_LIMITS, ...o.limits };
  const counters: WebSocketCounters = { wsUpgrades: 0, wsRefused: 0, wsBadMessages: 0 };
  const perAddress = new Map<string, number>();
  let unauthenticated = 0;
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    // A message is at most the largest FLAP frame (§14.2); larger ones close with 1009 unbuffered.
    maxPayload: FLAP_MAX_FRAME,
  });

  const release = (address: string): void => {
    unauthenticated--;
    const n = (perAddress.get(address) ?? 1) - 1;
    if (n <= 0) perAddress.delete(address);
    else perAddress.set(address, n);
  };

  const refuse = (socket: Duplex, status: number, code: WebSocketRefusal, fields: Record<string, unknown>): void => {
    counters.wsRefused++;
    // A foreign Origin is worth an admin's eye; wrong paths and busy refusals would only flood the log.
    engine.log(code === 'WS_ORIGIN_REFUSED' ? 'info' : 'debug', LogEvent.WS_REFUSED, { code, ...fields });
    const body = `${code}\n`;
    const extra = status === 503 ? 'Retry-After: 5\r\n' : '';
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain\r\n${extra}` +
      `Content-Length: ${body.length}\r\n\r\n${body}`,
    );
  };

  return {
    counters,
    get unauthenticated() {
      return unauthenticated;
    },
    handleUpgrade(req, socket, head, ticket) {
      socket.on('error', () => {});
      const address = req.socket.remoteAddress ?? 'unknown';
      if (requestPath(req.url) !== OSCAR_WEBSOCKET_PATH) return refuse(socket, 404, 'WS_NOT_FOUND', { address });
      if (!isOwnOrigin(req.headers.origin, req.headers.host, o.allowedHosts)) {
        return refuse(socket, 403, 'WS_ORIGIN_REFUSED', { address });
      }
      if (unauthenticated >= limits.maxUnauthenticated || (perAddress.get(address) ?? 0) >= limits.maxUnauthenticatedPerAddress) {
        return refuse(socket, 503, 'WS_BUSY', { address, unauthenticated });
      }
      // ws answers malformed handshakes (version, key, headers) itself with 400 and never calls back.
      wss.handleUpgrade(req, socket, head, (ws) => {
        counters.wsUpgrades++;
        unauthenticated++;
        perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
        let counted = true;
        const uncount = (): void => {
          if (!counted) return;
          counted = false;
          release(address);
        };
        ws.once('close', uncount);
        o.oscar.attach(webSocketStream(ws, address, () => engine.clock.now(), {
          authenticated: () => {
            uncount();
            ticket?.authenticated();
          },
          badMessage: (why) => {
            counters.wsBadMessages++;
            engine.counters.limitDisconnects++;
            engine.log('warn', LogEvent.WS_BAD_MESSAGE, { address, why });
          },
        }));
      });
    },
  };
}

/** Hooks of {@link webSocketStream}. */
interface WebSocketStreamHooks {
  /** The connection redeemed a cookie. */
  authenticated(): void;
  /** The peer sent a message we refuse (too large, text); the socket is closing. */
  badMessage(why: string): void;
}

/**
 * Adapts a server-side `ws` socket to the connection loop's stream: binary messages in, the FLAP byte stream out.
 * Writes between two flushes go out as one binary message (one WebSocket header and one TLS record per I/O phase,
 * like the corked TCP path).
 */
function webSocketStream(ws: WebSocket, address: string, now: () => number, hooks: WebSocketStreamHooks): ConnectionStream {
  let queued: Uint8Array[] = [];
  let queuedBytes = 0;
  let pingWindowStart = now();
  let pings = 0;
  return {
    kind: 'ws',
    remoteAddress: address,
    get destroyed() {
      return ws.readyState !== ws.OPEN;
    },
    get pendingBytes() {
      return queuedBytes + ws.bufferedAmount;
    },
    start(handlers) {
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary) {
          // §14.2: FLAP is binary; a text message means a confused or hostile client.
          hooks.badMessage('text message');
          ws.close(1003, 'binary messages only');
          return;
        }
        handlers.onData(data);
      });
      ws.on('ping', () => {
        const t = now();
        if (t - pingWindowStart >= 60_000) {
          pingWindowStart = t;
          pings = 0;
        }
        if (++pings > MAX_PINGS_PER_MINUTE) {
          hooks.badMessage('ping flood');
          ws.close(1008, 'too many pings');
        }
      });
      ws.on('error', (e: Error & { code?: string }) => {
        // ws has already started closing (1009 for WS_ERR_UNSUPPORTED_MESSAGE_LENGTH, 1002 for protocol errors).
        hooks.badMessage(e.code ?? 'websocket error');
      });
      ws.once('close', () => handlers.onClose());
    },
    write(bytes) {
      queued.push(bytes);
      queuedBytes += bytes.length;
    },
    flush() {
      if (queued.length === 0) return;
      const parts = queued;
      const size = queuedBytes;
      queued = [];
      queuedBytes = 0;
      if (ws.readyState !== ws.OPEN) return;
      ws.send(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size), { binary: true });
    },
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    end() {
      this.flush();
      ws.close(1000);
    },
    destroy() {
      queued = [];
      queuedBytes = 0;
      ws.terminate();
    },
    authenticated: () => hooks.authenticated(),
  };
}
