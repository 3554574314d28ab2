/**
 * TLS on a peer connection (docs/protocol.md §8.2, §8.6): both sides present their certim SIGNING certificate and
 * key (ARCHITECTURE.md "Peer connections": TLS authenticates with a signature, which only the signing key may
 * make), the listening (or proxy init-send) side is the TLS server and demands a client certificate, and each side
 * accepts the other only if the certificate it presents is byte for byte the buddy's current published signing
 * certificate — which the caller already checked against the pinned CA and the CRL (`buddyCerts`). Node's own CA
 * check is off on purpose: AIM peers advertise odd CA lists and our certificates carry no serverAuth EKU; the pin
 * is stricter than any CA check.
 */
import { KeyObject, timingSafeEqual, X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import type { IdentityPart } from '../identity.js';
import type { PrivateKeyInput } from '../../pki/cms/crypto.js';
import { certFingerprint, formatFingerprint } from '../trust.js';
import { PeerError } from './peer-error.js';

/** What {@link securePeerSocket} needs. */
export interface PeerTlsOptions {
  /** Our side of the handshake: the listener / init-send side is the server. */
  role: 'server' | 'client';
  /** The key pair we present (our signing pair). */
  credentials: IdentityPart;
  /** The buddy's current signing certificate (DER), already CA-verified and checked against the CRL. */
  expected: Uint8Array;
  /** The buddy's screen name, for messages. */
  peer: string;
  /** Handshake deadline. */
  timeoutMs: number;
}

function pem(der: Uint8Array): string {
  return new X509Certificate(der).toString();
}

/** The PEM of a Node private key (peer connections are Node-only: TCP and TLS sockets). */
function pemPrivateKey(k: PrivateKeyInput): string {
  if (!(k instanceof KeyObject)) throw new TypeError('peer connections need a Node KeyObject private key');
  return k.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** Constant-time equality of two DER certificates (lengths may differ). */
export function sameDer(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Runs TLS over `socket` (a connected TCP socket; bytes already read past a proxy handshake must have been
 * `unshift`ed back) and checks the peer's certificate against the pin. Resolves with the TLS socket; rejects with
 * PEER_CERT_MISMATCH / PEER_NO_CERT / PEER_TLS_FAILED / PEER_TIMEOUT and destroys the socket.
 */
export function securePeerSocket(socket: Socket, o: PeerTlsOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const common = { key: pemPrivateKey(o.credentials.privateKey), cert: pem(o.credentials.certDer), rejectUnauthorized: false, minVersion: 'TLSv1.2' as const };
    // The client side goes through tls.connect, which starts the handshake on an already connected socket.
    const tls = o.role === 'server'
      ? new TLSSocket(socket, { ...common, isServer: true, requestCert: true })
      : tlsConnect({ ...common, socket, checkServerIdentity: () => undefined });
    let done = false;
    const finish = (e: PeerError | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      tls.removeListener('error', onError);
      if (e) {
        tls.destroy();
        socket.destroy();
        reject(e);
      } else {
        resolve(tls);
      }
    };
    const onError = (e: Error): void => finish(new PeerError('PEER_TLS_FAILED', `TLS with ${o.peer} failed: ${e.message}`, { cause: e }));
    const timer = setTimeout(() => finish(new PeerError('PEER_TIMEOUT', `TLS handshake with ${o.peer} took longer than ${o.timeoutMs} ms`)), o.timeoutMs);
    timer.unref?.();
    tls.on('error', onError);
    tls.once('close', () => finish(new PeerError('PEER_TLS_FAILED', `${o.peer}'s connection closed during the TLS handshake`)));
    tls.once('secure', () => {
      const cert = tls.getPeerCertificate(false);
      const raw = cert && 'raw' in cert ? (cert.raw as Buffer | undefined) : undefined;
      if (!raw || raw.length === 0) {
        finish(new PeerError('PEER_NO_CERT', `the peer claiming to be ${o.peer} presented no certificate; connection refused`));
        return;
      }
      if (!sameDer(new Uint8Array(raw), o.expected)) {
        finish(new PeerError('PEER_CERT_MISMATCH', `the peer claiming to be ${o.peer} presented certificate ${formatFingerprint(certFingerprint(raw))}, not ${o.peer}'s current published certificate ${formatFingerprint(certFingerprint(o.expected))}; connection refused`));
        return;
      }
      finish(undefined);
    });
  });
}
