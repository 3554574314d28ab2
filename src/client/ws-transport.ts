/**
 * A {@link TransportFactory} over WebSocket (docs/protocol.md §14): the FLAP byte stream carried in binary messages
 * to `wss://<host:port>/oscar` on the server's HTTPS port. It uses only the standard `WebSocket` API shape, passed
 * in as a constructor, so this module runs unchanged in a browser (the global `WebSocket`) and in Node (the `ws`
 * package's class, with the CA and `Origin` bound in): no `node:` import, no Buffer.
 *
 * Trust: in a browser the page's own TLS connection and the browser's certificate store decide; the server checks
 * the page's `Origin` (§14.4). A BOS address from `17/03` is a `host:port` naming the HTTPS listener (§14.3).
 */
import { FLAP_MAX_FRAME } from '../wire/flap.js';
import { ClientError } from './errors.js';
import type { Transport, TransportFactory, TransportHandlers, TransportTarget } from './transport.js';

/** The path of the OSCAR WebSocket on the HTTPS port (docs/protocol.md §14.1). */
export const OSCAR_WEBSOCKET_PATH = '/oscar';

/** The event shapes this transport reads (a subset of the DOM's). */
interface MessageEventLike {
  readonly data: unknown;
}

/**
 * An event handler slot. Declared through a method so its parameter is checked bivariantly: the DOM's
 * `(this: WebSocket, ev: MessageEvent) => any` and `ws`'s handler types both fit, so `globalThis.WebSocket` can be
 * passed as is.
 */
type Handler<E> = { bivarianceHack(ev: E): void }['bivarianceHack'];

/** The subset of the standard `WebSocket` interface this transport uses (browsers and `ws` both provide it). */
export interface WebSocketLike {
  /** Set to `'arraybuffer'` so binary messages arrive as ArrayBuffer. */
  binaryType: string;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Sends one binary message. */
  send(data: Uint8Array): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Open handler. */
  onopen: Handler<unknown> | null;
  /** Message handler. */
  onmessage: Handler<MessageEventLike> | null;
  /** Close handler. */
  onclose: Handler<unknown> | null;
  /** Error handler (always followed by close). */
  onerror: Handler<unknown> | null;
}

/** A `WebSocket` constructor: `globalThis.WebSocket` in a browser, a `ws` subclass in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Options of {@link webSocketTransportFactory}. */
export interface WebSocketTransportOptions {
  /** The WebSocket class to use. */
  WebSocket: WebSocketConstructor;
  /**
   * URL for a target (default `wss://host:port/oscar`). A page served by the server passes
   * `pageOriginUrl(location.href)`: its own origin, the only one the server and the page's CSP accept.
   */
  url?: (target: TransportTarget) => string;
  /** Connect timeout in ms (default 10 s). */
  connectTimeoutMs?: number;
}

/** `wss://host:port/oscar`, with IPv6 literals bracketed. */
export function oscarWebSocketUrl(target: TransportTarget): string {
  const host = target.host.includes(':') && !target.host.startsWith('[') ? `[${target.host}]` : target.host;
  return `wss://${host}:${target.port}${OSCAR_WEBSOCKET_PATH}`;
}

/**
 * For a page served by the certim server: `wss://<the page's own host:port>/oscar` whatever the target, because
 * the server accepts only the page's own origin (docs/protocol.md §14.3, §14.4). Pass it as `url`.
 */
export function pageOriginUrl(pageHref: string): () => string {
  const u = new URL(OSCAR_WEBSOCKET_PATH, pageHref);
  u.protocol = 'wss:';
  u.search = '';
  u.hash = '';
  const url = u.href;
  return () => url;
}

/** Creates a factory that opens OSCAR WebSockets. */
export function webSocketTransportFactory(opts: WebSocketTransportOptions): TransportFactory {
  return (target, handlers) => openWebSocketTransport(target, handlers, opts);
}

const OPEN = 1;

function openWebSocketTransport(target: TransportTarget, handlers: TransportHandlers, opts: WebSocketTransportOptions): Promise<Transport> {
  const url = (opts.url ?? oscarWebSocketUrl)(target);
  const peer = `${url} (WebSocket)`;
  return new Promise((resolve, reject) => {
    let settled = false;
    let closed = false;
    let ws: WebSocketLike;
    try {
      ws = new opts.WebSocket(url);
    } catch (e) {
      reject(new ClientError('CONNECT_FAILED', `cannot connect to ${peer}: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
      return;
    }
    ws.binaryType = 'arraybuffer';
    const timer = setTimeout(() => {
      fail(new ClientError('CONNECT_FAILED', `connecting to ${peer} timed out`));
      ws.close();
    }, opts.connectTimeoutMs ?? 10_000);
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    };
    const finish = (err?: Error): void => {
      if (closed) return;
      closed = true;
      handlers.onClose(err);
    };

    // Writes made in one task go out as one binary message (the server reads messages as one byte stream, §14.2):
    // fewer WebSocket frames to mask here and to parse there when a burst of SNACs leaves at once.
    let queued: Uint8Array[] = [];
    let queuedBytes = 0;
    const flush = (): void => {
      const parts = queued;
      const size = queuedBytes;
      queued = [];
      queuedBytes = 0;
      if (closed || ws.readyState !== OPEN || parts.length === 0) return;
      if (parts.length === 1) {
        ws.send(parts[0]!);
        return;
      }
      const out = new Uint8Array(size);
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      ws.send(out);
    };
    const transport: Transport = {
      peer,
      write(bytes) {
        if (closed) return;
        // A message may not exceed the largest FLAP frame (§14.2): send what is queued before it would.
        if (queuedBytes + bytes.length > FLAP_MAX_FRAME) flush();
        if (queued.length === 0) queueMicrotask(flush);
        queued.push(bytes);
        queuedBytes += bytes.length;
      },
      close() {
        flush();
        if (ws.readyState <= OPEN) ws.close(1000);
        finish();
      },
    };

    ws.onopen = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(transport);
    };
    ws.onmessage = (ev) => {
      if (!settled || closed) return;
      if (ev.data instanceof ArrayBuffer) {
        handlers.onData(new Uint8Array(ev.data));
        return;
      }
      // A text message is not OSCAR (§14.2): the stream cannot be trusted any more.
      ws.close(1003);
      finish(new ClientError('PROTOCOL', `${peer} sent a text message`));
    };
    ws.onerror = () => {
      // The standard API gives no detail here; the close event follows.
      if (!settled) fail(new ClientError('CONNECT_FAILED', `cannot connect to ${peer} (refused, untrusted certificate, or wrong origin)`));
    };
    ws.onclose = () => {
      if (!settled) fail(new ClientError('CONNECT_FAILED', `${peer} closed the connection during connect`));
      finish();
    };
  });
}
