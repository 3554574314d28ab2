/**
 * Node transports for the seam in ../transport.ts: OSCAR over TLS checked against the pinned CA (the default for
 * certim), or plain TCP for classic servers and test rigs that must see the FLAP bytes.
 *
 * Why the server is trusted: the CA is this server's own (pinned by fingerprint in the profile), so a chain to it
 * is the server's identity. The host name is checked too when the certificate carries one; otherwise the leaf must
 * at least be a TLS server certificate (EKU serverAuth), so a user certificate from the same CA cannot pose as the
 * server.
 */
import { X509Certificate } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { ClientError } from '../errors.js';
import type { Transport, TransportFactory, TransportHandlers, TransportTarget } from '../transport.js';

/** OID of the serverAuth extended key usage. */
const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/** Options for {@link nodeTransportFactory}. */
export interface NodeTransportOptions {
  /** PEM certificates of the pinned CA (root first, then issuing CAs). Required unless `plain`. */
  caPem?: string[];
  /** Use plain TCP (no TLS): classic servers and test proxies only. */
  plain?: boolean;
  /** Connect timeout in ms (default 10 s). */
  connectTimeoutMs?: number;
  /** Client certificate and key (PEM) for TLS client authentication (EST re-enroll). */
  clientCert?: { certPem: string; keyPem: string };
}

/** Builds the TLS options that trust exactly the pinned CA (shared with the EST client). */
export function pinnedTlsOptions(caPem: string[], host: string): tls.ConnectionOptions {
  return {
    ca: caPem,
    rejectUnauthorized: true,
    ...(net.isIP(host) ? {} : { servername: host }),
    checkServerIdentity: (hostname, cert) => {
      if (tls.checkServerIdentity(hostname, cert) === undefined) return undefined;
      try {
        const leaf = new X509Certificate(cert.raw);
        const eku = leaf.keyUsage ?? [];
        if (eku.includes(EKU_SERVER_AUTH)) return undefined;
      } catch {
        // fall through to the refusal
      }
      return new Error(`server certificate is neither for ${hostname} nor a TLS server certificate of the pinned CA`);
    },
  };
}

/** True when a socket error is a TLS handshake/verification failure (as opposed to a network one). */
export function isTlsTrustError(err: NodeJS.ErrnoException): boolean {
  return typeof err.code === 'string' && /CERT|SSL|TLS|SELF_SIGNED|VERIFY/i.test(err.code);
}

/** Creates a factory that opens Node TCP or TLS sockets. */
export function nodeTransportFactory(opts: NodeTransportOptions): TransportFactory {
  return (target, handlers) => openNodeTransport(target, handlers, opts);
}

function openNodeTransport(target: TransportTarget, handlers: TransportHandlers, opts: NodeTransportOptions): Promise<Transport> {
  const { host, port } = target;
  const peer = `${host}:${port}${opts.plain ? '' : ' (TLS)'}`;
  return new Promise((resolve, reject) => {
    let settled = false;
    let closed = false;
    let socket: net.Socket;
    if (opts.plain) {
      socket = net.connect({ host, port });
    } else {
      if (!opts.caPem || opts.caPem.length === 0) {
        reject(new ClientError('CA_UNKNOWN', 'no pinned CA: run `certim keys init` first'));
        return;
      }
      socket = tls.connect({
        host,
        port,
        ...pinnedTlsOptions(opts.caPem, host),
        ...(opts.clientCert ? { cert: opts.clientCert.certPem, key: opts.clientCert.keyPem } : {}),
      });
    }
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      fail(new ClientError('CONNECT_FAILED', `connecting to ${peer} timed out`));
      socket.destroy();
    }, opts.connectTimeoutMs ?? 10_000);

    const transport: Transport = {
      peer,
      write(bytes) {
        if (!closed) socket.write(bytes);
      },
      close() {
        if (!closed) socket.end();
        setTimeout(() => socket.destroy(), 1000).unref();
      },
    };
    function fail(err: Error): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    }
    socket.once(opts.plain ? 'connect' : 'secureConnect', () => {
      settled = true;
      clearTimeout(timer);
      resolve(transport);
    });
    socket.on('data', (chunk: Buffer) => {
      if (settled) handlers.onData(chunk);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!settled) {
        fail(isTlsTrustError(err)
          ? new ClientError('TLS_UNTRUSTED', `${peer}: the server's TLS certificate does not chain to the pinned CA (${err.message})`, { cause: err })
          : new ClientError('CONNECT_FAILED', `cannot connect to ${peer}: ${err.message}`, { cause: err }));
        return;
      }
      if (!closed) {
        closed = true;
        handlers.onClose(err);
      }
    });
    socket.on('close', () => {
      if (!settled) fail(new ClientError('CONNECT_FAILED', `${peer} closed the connection during connect`));
      if (!closed) {
        closed = true;
        handlers.onClose();
      }
    });
  });
}
