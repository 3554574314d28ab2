/**
 * The client's one error type. Callers (CLI, chat UI, web client) match on `code`, never on the message
 * so every failure a user can meet has its own stable code here.
 */

/** Stable codes for client failures. */
export type ClientErrorCode =
  | 'CONNECT_FAILED' // TCP/TLS connection could not be opened
  | 'CONNECTION_CLOSED' // the connection closed while a request was pending
  | 'PROTOCOL' // the server sent something the client cannot parse or did not expect
  | 'TIMEOUT' // a request got no reply in time
  | 'SNAC_ERROR' // the server answered a request with an error SNAC (see `snacError`)
  | 'LOGIN_FAILED' // BUCP login refused (see `loginError`)
  | 'CA_CHANGED' // the server's CA is not the one pinned in the profile: refuse loudly
  | 'CA_UNKNOWN' // no CA pinned yet and none could be confirmed
  | 'TLS_UNTRUSTED' // the TLS peer did not chain to the pinned CA
  | 'PROFILE' // profile directory missing, unreadable or malformed
  | 'NO_KEYS' // the profile has no keys/certificates yet (run `certim keys init`)
  | 'BAD_PASSPHRASE' // private keys could not be decrypted with the given passphrase
  | 'ENROLL_FAILED' // EST enrollment refused or failed
  | 'NO_BUDDY_CERT' // the buddy has no (valid) certificate: a secure IM is impossible
  | 'BUDDY_OFFLINE' // the buddy is not signed on and the server would not store the IM
  | 'PLAINTEXT_REFUSED' // sending plaintext was not explicitly allowed for this conversation
  | 'SEND_FAILED' // the IM was refused by the server (see `snacError`)
  | 'KEY_CHANGED' // a personally verified buddy's certificate changed: re-verify or accept the new key first
  | 'BUDDY_REVOKED' // the buddy's certificate is on the CA's revocation list: nothing is sent to it
  | 'CRL_UNAVAILABLE' // no current revocation list (past nextUpdate + grace): fail closed
  | 'CRL_INVALID' // the server offered a revocation list that is unreadable, unsigned by the CA, or a rollback
  | 'OWN_CERT_REVOKED' // our own certificate was revoked: no secure IMs until new keys are enrolled
  | 'OWN_CERT_REFUSED' // the server refused to publish our certificate (expired, wrong name...)
  | 'IDENTITY_EXISTS' // `keys init` would overwrite an existing identity (needs --force)
  | 'DUPLICATE_DROPPED' // a repeated delivery of an IM was dropped (a note, never silent)
  | 'DOWNGRADE' // a buddy pinned to the modern profile no longer announces it (a warning; modern is used)
  | 'NO_SUCH_USER' // the server knows no such user (or the user does not accept IMs from us)
  | 'BLOCKED' // we block the recipient (unblock first)
  | 'QUEUE_FULL' // the recipient's offline queue is full
  | 'RATE_LIMITED' // the server refused the IM for sending too fast
  | 'MESSAGE_TOO_LONG' // more text than fits in the most parts one message may have
  | 'EMPTY_MESSAGE' // nothing to send
  | 'SIGNED_OFF' // the client was closed
  | 'BAD_ARGUMENT' // a caller passed an invalid value
  | 'CLASSIC_CLIENT'; // the buddy has only a classic (aim-legacy) client and this codec speaks the modern profile only (the browser)

/** A typed client failure. */
export class ClientError extends Error {
  /** Stable machine-readable code. */
  readonly code: ClientErrorCode;
  /** The SNAC error code (docs/protocol.md §1.5) when `code` is SNAC_ERROR or SEND_FAILED. */
  readonly snacError: number | undefined;
  /** The BUCP login error code (docs/protocol.md §2.1) when `code` is LOGIN_FAILED. */
  readonly loginError: number | undefined;
  /** certim's reject subcode (error TLV 0x0008, docs/protocol.md §10.2) when the server sent one. */
  readonly subcode: number | undefined;

  constructor(code: ClientErrorCode, message: string, extra: { snacError?: number; loginError?: number; subcode?: number; cause?: unknown } = {}) {
    super(message, extra.cause !== undefined ? { cause: extra.cause } : undefined);
    this.name = 'ClientError';
    this.code = code;
    this.snacError = extra.snacError;
    this.loginError = extra.loginError;
    this.subcode = extra.subcode;
  }

  /** True if `e` is a ClientError (optionally with the given code). */
  static is(e: unknown, code?: ClientErrorCode): e is ClientError {
    return e instanceof ClientError && (code === undefined || e.code === code);
  }
}

/** Human-readable names for SNAC error codes (docs/protocol.md §1.5), for messages shown to users. */
export function snacErrorName(code: number): string {
  const names: Record<number, string> = {
    0x01: 'invalid SNAC', 0x02: 'rate limit (to host)', 0x03: 'rate limit (to client)', 0x04: 'recipient not logged on',
    0x05: 'service unavailable', 0x06: 'service not defined', 0x07: 'obsolete SNAC', 0x08: 'not supported by host',
    0x09: 'not supported by client', 0x0a: 'refused by client', 0x0b: 'reply too big', 0x0c: 'responses lost',
    0x0d: 'request denied', 0x0e: 'malformed payload', 0x0f: 'insufficient rights', 0x10: 'blocked by you',
    0x11: 'sender too evil', 0x12: 'receiver too evil', 0x13: 'temporarily unavailable', 0x14: 'no match',
    0x15: 'list overflow', 0x16: 'ambiguous', 0x17: 'queue full', 0x1a: 'timeout', 0x1c: 'general failure',
  };
  return names[code] ?? `error 0x${code.toString(16).padStart(4, '0')}`;
}
