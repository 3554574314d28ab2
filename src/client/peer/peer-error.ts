/**
 * The peer layer's error type (peer connections and file transfer, docs/protocol.md §8). Callers match on `code`.
 */

/** Stable codes for peer-connection and file-transfer failures. */
export type PeerErrorCode =
  | 'PEER_CERT_MISMATCH' // the peer presented a certificate other than the buddy's current published one
  | 'PEER_NO_CERT' // the peer presented no certificate, or we have no valid one for the buddy
  | 'PEER_TLS_FAILED' // the TLS handshake failed (protocol version, bad record...)
  | 'PEER_CANCELLED' // the peer sent a rendezvous cancel (see `cancelReason`)
  | 'PEER_TIMEOUT' // no step of the rendezvous succeeded in time
  | 'PROXY_REFUSED' // the rendezvous proxy answered with an error packet (see `proxyError`)
  | 'PEER_PROTOCOL' // the peer broke the protocol (bad OFT header, unexpected message)
  | 'ABORTED' // we cancelled
  | 'OFFER_REFUSED' // an offered file name or size is not acceptable (path traversal, device name...)
  | 'CHECKSUM_MISMATCH' // the file's OFT checksum did not match at the end
  | 'TRANSFER_CLOSED' // the peer connection closed before the transfer finished
  | 'FILE_ERROR' // a local file could not be read or written
  | 'PEER_INSECURE' // the peer would connect without TLS (a classic client) and the user did not allow it
  | 'KEY_CHANGED'; // the buddy's key changed since the user personally verified it: nothing is connected until they decide

/** A typed peer failure. */
export class PeerError extends Error {
  /** Stable machine-readable code. */
  readonly code: PeerErrorCode;
  /** The rendezvous cancel reason (docs/protocol.md §8.1) for PEER_CANCELLED. */
  readonly cancelReason: number | undefined;
  /** The proxy's error code (docs/protocol.md §8.3) for PROXY_REFUSED. */
  readonly proxyError: number | undefined;

  constructor(code: PeerErrorCode, message: string, extra: { cancelReason?: number; proxyError?: number; cause?: unknown } = {}) {
    super(message, extra.cause !== undefined ? { cause: extra.cause } : undefined);
    this.name = 'PeerError';
    this.code = code;
    this.cancelReason = extra.cancelReason;
    this.proxyError = extra.proxyError;
  }

  /** True if `e` is a PeerError (optionally with the given code). */
  static is(e: unknown, code?: PeerErrorCode): e is PeerError {
    return e instanceof PeerError && (code === undefined || e.code === code);
  }
}
