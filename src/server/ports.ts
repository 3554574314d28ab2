/**
 * The small interfaces the OSCAR server engine consumes (consumers own their interfaces; one doc line per method, easy to fake).
 * The shapes are a subset of src/store's, so `store.accounts`, `store.userInfo`, `store.feedbag`,
 * `store.permitDeny` and `store.offline` satisfy them as they are; `passwords` is server/auth/password.ts and
 * `certificates` is an adapter over the PKI verifier (main.ts wires both). Unit tests pass tiny fakes.
 * Screen names passed in are as the client sent them; implementations compare them normalized.
 */
import type { FeedbagItemWire } from '../wire/families/feedbag.js';

/** The classic BUCP MD5 login secret of an account (docs/protocol.md §2.1): MD5(password), password-equivalent. */
export interface LegacyVerifierRecord {
  /** MD5(password), 16 bytes. */
  md5Password: Uint8Array;
}

/** An account as the server needs it. */
export interface AccountRecord {
  /** Screen name as the owner formatted it ("Bob Smith"). */
  screenName: string;
  /** Memory-hard (scrypt) password hash string. */
  passwordHash: string;
  /** Whether classic MD5 login is allowed. */
  legacyLoginEnabled: boolean;
  /** The MD5 verifier; null when legacy login is disabled. */
  legacyVerifier: LegacyVerifierRecord | null;
  /** Disabled accounts must not sign on. */
  disabled: boolean;
}

/** Account lookup (store.accounts). */
export interface AccountPort {
  /** The account for this screen name, or null. */
  get(screenName: string): Promise<AccountRecord | null>;
}

/** Password checks (server/auth/password.ts). */
export interface PasswordPort {
  /** True when `password` matches the scrypt hash string; constant-time. */
  verifyPassword(password: string, hash: string): Promise<boolean>;
  /** True when a 17/02 MD5 response answers challenge `key` for this verifier (strong form only); constant-time. */
  checkLegacyLogin(verifier: LegacyVerifierRecord, key: string, response: Uint8Array, strong: boolean): boolean;
}

/** The Locate data the server persists (store.userInfo). */
export interface UserInfoPort {
  /** The stored certificate-info block and its MD5 (both null when none). */
  get(screenName: string): Promise<{ certBlock: Uint8Array | null; certHash: Uint8Array | null }>;
  /** Stores (or with null clears) the block verbatim; resolves to its MD5 (null when cleared). */
  setCertBlock(screenName: string, block: Uint8Array | null): Promise<Uint8Array | null>;
}

/** One feedbag (SSI) item (docs/protocol.md §3.9): the wire declaration, reused (`attributes` are the raw attribute TLV bytes). */
export type FeedbagItemRecord = FeedbagItemWire;

/** Durable server-stored buddy lists (store.feedbag). */
export interface FeedbagPort {
  /** All items and the last-modified time (ms since the epoch; 0 when never written). */
  get(screenName: string): Promise<{ items: FeedbagItemRecord[]; lastModified: number }>;
  /** Applies 13/08-09-0A changes in order; one 13/0E status code per change. */
  apply(
    screenName: string,
    changes: ReadonlyArray<{ op: 'insert' | 'update' | 'delete'; item: FeedbagItemRecord }>,
    limits: { maxItems: number; maxPerClass?: Readonly<Record<number, number>>; maxBytes?: number },
  ): Promise<number[]>;
}

/** Permit/deny lists of non-feedbag clients (store.permitDeny); names normalized. */
export interface PermitDenyPort {
  /** Mode (1..5) and both lists. */
  get(screenName: string): Promise<{ mode: number; permit: string[]; deny: string[] }>;
  /** Sets the mode. */
  setMode(screenName: string, mode: 1 | 2 | 3 | 4 | 5): Promise<void>;
  /** Adds names to a list (fails with code STORE_LIMIT past `max`). */
  add(screenName: string, list: 'permit' | 'deny', names: readonly string[], max: number): Promise<void>;
  /** Removes names from a list. */
  remove(screenName: string, list: 'permit' | 'deny', names: readonly string[]): Promise<number>;
}

/** An IM held for an offline user. */
export interface OfflineMessageRecord {
  /** Store-assigned id for ack(). */
  id: number;
  /** Sender screen name as displayed. */
  sender: string;
  /** ICBM channel. */
  channel: number;
  /** 8-byte ICBM cookie. */
  cookie: Uint8Array;
  /** The sender's 04/06 TLV bytes, verbatim. */
  payload: Uint8Array;
  /** Acceptance time, ms since the epoch. */
  sentAt: number;
}

/** Durable offline IMs (store.offline). */
export interface OfflinePort {
  /** Stores durably (resolves after commit); fails with code STORE_LIMIT / STORE_NOT_FOUND. */
  enqueue(
    message: { recipient: string; sender: string; channel: number; cookie: Uint8Array; payload: Uint8Array; sentAt: number },
    maxPerRecipient: number,
  ): Promise<unknown>;
  /** Oldest first, at most `limit`, not removed. */
  fetch(recipient: string, limit: number): Promise<OfflineMessageRecord[]>;
  /** Removes delivered messages. */
  ack(recipient: string, ids: readonly number[]): Promise<number>;
}

/** Result of a certificate check. `code` is the verifier's stable rejection code (e.g. REVOKED, EXPIRED). */
export type CertificateCheck = { ok: true } | { ok: false; code: string; reason: string };

/** The role a certificate plays in a cert-info block (docs/protocol.md §6.1): one common cert, or separate ones. */
export type CertificateRole = 'common' | 'encrypt' | 'sign';

/** Checks a user-uploaded certificate (server/certificate-checker.ts adapts the PKI verifier). */
export interface CertificateChecker {
  /**
   * Verifies chain to a trusted CA, name binding to `screenName`, validity at `now`, revocation, and key usage for
   * `role` (the block's slot: its one common cert, or the encryption / signing cert).
   */
  checkCertificate(screenName: string, der: Uint8Array, now: Date, role?: CertificateRole): Promise<CertificateCheck>;
}

/** The clock, injected so tests control time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** Where the ICBM relay reports rendezvous blocks it relayed, for the rendezvous proxy (docs/protocol.md §8.3). */
export interface RendezvousObserver {
  /** A ch-2 rendezvous block (TLV 0x0005 value) from `from` to `to` (normalized) was relayed. Must not throw. */
  observe(from: string, to: string, rv: Uint8Array): void;
}

/** Everything the engine needs from outside. */
export interface ServerPorts {
  /** Account lookup. */
  accounts: AccountPort;
  /** Password checks. */
  passwords: PasswordPort;
  /** Certificate-info blocks. */
  userInfo: UserInfoPort;
  /** Feedbag items. */
  feedbag: FeedbagPort;
  /** PermitDeny (family 0x0009) lists. */
  permitDeny: PermitDenyPort;
  /** Offline IMs. */
  offline: OfflinePort;
  /** Certificate upload checks. */
  certificates: CertificateChecker;
}
