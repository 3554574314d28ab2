/**
 * The local admin control channel of a running server: a Unix socket at `<data>/admin/control.sock`, speaking
 * JSON lines — one request object per line, one response per request, in order. `certim admin` uses it when a
 * server runs on the data directory and falls back to the database when none does.
 *
 *   -> {"id":1,"cmd":"sessions"}
 *   <- {"id":1,"ok":true,"result":[{"screenName":"alice","address":"127.0.0.1","tls":true,...}]}
 *   -> {"id":2,"cmd":"cert.revoke","serial":"4f2a...","reason":"keyCompromise"}
 *   <- {"id":2,"ok":false,"error":{"code":"UNKNOWN_SERIAL","message":"..."}}
 *
 * Who may connect is decided by the file system alone: the socket lives in a directory of mode 0700 owned by the
 * server's user (checked at start), and the socket itself is 0600, so other local users cannot reach it.
 */
import { join } from 'node:path';

/** Directory (inside the data directory) that holds the socket; mode 0700. */
export const ADMIN_DIR = 'admin';
/** Socket file name inside {@link ADMIN_DIR}. */
export const ADMIN_SOCKET = 'control.sock';
/** Longest request line accepted, in bytes; a longer one closes the connection. */
export const MAX_ADMIN_LINE = 16 * 1024;

/** Path of the admin socket for a data directory. */
export function adminSocketPath(dataDir: string): string {
  return join(dataDir, ADMIN_DIR, ADMIN_SOCKET);
}

/** Requests, by `cmd`. */
export type AdminRequest =
  | { id?: number; cmd: 'ping' }
  | { id?: number; cmd: 'sessions' }
  | { id?: number; cmd: 'throttle.list' }
  | { id?: number; cmd: 'user.unlock'; screenName: string }
  | { id?: number; cmd: 'cert.revoke'; serial: string; reason: string };

/** The command names. */
export type AdminCommandName = AdminRequest['cmd'];

/** Stable error codes of the channel (besides the PKI's, e.g. UNKNOWN_SERIAL). */
export type AdminErrorCode = 'BAD_REQUEST' | 'UNKNOWN_COMMAND' | 'INTERNAL' | string;

/** One response line. */
export type AdminResponse =
  | { id?: number; ok: true; result: unknown }
  | { id?: number; ok: false; error: { code: AdminErrorCode; message: string } };

/** `ping` result. */
export interface PingResult {
  /** Server process id. */
  pid: number;
  /** Absolute data directory. */
  dataDir: string;
  /** Seconds since start. */
  uptimeSeconds: number;
}

/** One online session in a `sessions` result. */
export interface SessionSummary {
  /** Screen name as formatted. */
  screenName: string;
  /** Peer address. */
  address: string | null;
  /** Over TLS. */
  tls: boolean;
  /** Client id string from the login (17/02 TLV 0x0003), encoded for display. */
  clientId: string | null;
  /** Sign-on time, ISO. */
  signedOnAt: string;
  /** Idle minutes, 0 when active. */
  idleMinutes: number;
  /** Away message set. */
  away: boolean;
  /** Publishes a certificate-info block (has a 0x001B hash). */
  certificates: boolean;
  /** The cluster node holding the session (cluster nodes only; absent on a single server). */
  node?: string;
}

/** One throttled key in a `throttle.list` result. */
export interface ThrottleSummary {
  /** What the key is: `account` (normalized screen name), `address`, or another scope the throttle keeps. */
  kind: string;
  /** The key. */
  key: string;
  /** Failures counted in the current window. */
  failures: number;
  /** True when logins for this key are refused now. */
  locked: boolean;
  /** Seconds until the oldest counted failure leaves the window. */
  retryAfterSeconds: number;
}

/** `cert.revoke` result. */
export interface RevokeResult {
  /** Serial, normalized hex. */
  serial: string;
  /** Owner (normalized screen name). */
  screenName: string;
  /** Whether their published block was withdrawn from Locate. */
  withdrawn: boolean;
}

/** A typed error for a refused request. */
export class AdminError extends Error {
  /** @param code stable code; @param message for the admin */
  constructor(
    readonly code: AdminErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}
