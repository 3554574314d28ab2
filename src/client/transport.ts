/**
 * The transport seam (modelled on nats.js `core/src/transport.ts`): the OSCAR protocol core
 * only sees an ordered, reliable byte stream. Node uses TCP+TLS (node/tcp-transport.ts); the web client will
 * plug in a WebSocket carrying the same FLAP bytes, with no change to the protocol code.
 */

/** Callbacks a transport delivers to its owner. */
export interface TransportHandlers {
  /** Called with each chunk of bytes read, in order (any chunking). */
  onData(chunk: Uint8Array): void;
  /** Called exactly once when the stream ends, with the error that ended it if any. */
  onClose(err?: Error): void;
}

/** An open, ordered, reliable byte stream to one server endpoint. */
export interface Transport {
  /** Queues bytes for sending, in order. */
  write(bytes: Uint8Array): void;
  /** Closes the stream; `onClose` follows. Safe to call more than once. */
  close(): void;
  /** Human-readable peer description for logs and errors (e.g. "127.0.0.1:5191 (TLS)"). */
  readonly peer: string;
}

/** Where to connect: an OSCAR endpoint as "host:port" plus the handlers that receive the stream. */
export interface TransportTarget {
  /** Host name or address. */
  host: string;
  /** TCP port. */
  port: number;
}

/** Opens transports. Resolves once the stream is ready for `write` (TLS handshake done and checked). */
export type TransportFactory = (target: TransportTarget, handlers: TransportHandlers) => Promise<Transport>;

/** Splits "host:port" (BOS address TLV 0x0005, `--server`) into a target; `defaultPort` when no port is given. */
export function parseHostPort(s: string, defaultPort?: number): TransportTarget {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  const host = m?.[1];
  const port = m?.[2] !== undefined ? Number(m[2]) : defaultPort;
  if (!host || port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`not a host:port address: ${JSON.stringify(s)}`);
  }
  return { host, port };
}
