/**
 * Why the rendezvous proxy refuses or cuts a connection, and the error code each reason puts on the wire
 * (docs/protocol.md §8.3: AOL's 0x000D / 0x0010 / 0x001A, and certim's 0x7C01–0x7C03).
 */
import { RvProxyErrorCode } from '../../wire/rv-proxy.js';

/**
 * Why the proxy refused or closed a connection (stable codes, for logs, metrics and tests). On the wire they map to
 * the proxy error codes of {@link proxyErrorCodeFor}.
 */
export type ProxyRefusal =
  | 'MALFORMED'
  | 'UNEXPECTED_COMMAND'
  | 'NOT_SIGNED_ON'
  | 'ADDRESS_MISMATCH'
  | 'NO_RENDEZVOUS'
  | 'USER_LIMIT'
  | 'SERVER_LIMIT'
  | 'ADDRESS_LIMIT'
  | 'BYTE_BUDGET'
  | 'HANDSHAKE_TIMEOUT'
  | 'PAIRING_TIMEOUT'
  | 'IDLE_TIMEOUT';

/**
 * certim's error codes beyond AOL's three (docs/protocol.md §8.3 **[certim]**): classic clients treat any code as
 * "proxy failed"; certim clients can say why.
 */
export const CertimProxyErrorCode = {
  /** The screen name has no ready session (on this node, from this address, for init-send). */
  NotSignedOn: 0x7c01,
  /** Too many proxy connections for this user, this address or this server. */
  Limit: 0x7c02,
  /** The user's bytes for this hour are used up. */
  ByteBudget: 0x7c03,
} as const;

/** The wire error code sent for a refusal. */
export function proxyErrorCodeFor(r: ProxyRefusal): number {
  switch (r) {
    case 'HANDSHAKE_TIMEOUT': return RvProxyErrorCode.InitialRequestTimeout;
    case 'PAIRING_TIMEOUT': return RvProxyErrorCode.AcceptTimeout;
    case 'NOT_SIGNED_ON':
    case 'ADDRESS_MISMATCH': return CertimProxyErrorCode.NotSignedOn;
    case 'USER_LIMIT':
    case 'ADDRESS_LIMIT':
    case 'SERVER_LIMIT': return CertimProxyErrorCode.Limit;
    case 'BYTE_BUDGET': return CertimProxyErrorCode.ByteBudget;
    default: return RvProxyErrorCode.BadRequest;
  }
}
