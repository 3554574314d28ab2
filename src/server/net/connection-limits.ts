/**
 * Connection caps shared by every listener of the server (OSCAR plain, OSCAR over TLS, HTTPS). A socket is admitted
 * before anything is allocated for it (no TLS state, no parser): per client address, unauthenticated connections
 * (login connections, pending TLS handshakes, HTTPS requests) have a small cap and all connections a larger one;
 * globally, unauthenticated connections may fill only part of the total, and the total stays below the process's
 * file-descriptor limit so that accepting never starts failing for the database, the logs or the CA files.
 */
import { readFileSync } from 'node:fs';
import { addressKey } from '../auth/login-throttle.js';

/** Limits of {@link ConnectionLimiter}. */
export interface ConnectionLimits {
  /** Unauthenticated connections per address (IPv6 per /64). */
  perAddressUnauthenticated: number;
  /** All connections per address (one NAT can hide many users). */
  perAddressTotal: number;
  /** All connections, every listener together (capped further by the descriptor limit). */
  maxTotal: number;
  /** Share of `maxTotal` unauthenticated connections may take, 0..1. */
  unauthenticatedShare: number;
  /** Descriptors kept free for everything else the process opens. */
  reservedDescriptors: number;
}

/** Defaults. */
export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = {
  perAddressUnauthenticated: 16,
  perAddressTotal: 256,
  maxTotal: 20_000,
  unauthenticatedShare: 0.75,
  reservedDescriptors: 128,
};

/** The soft RLIMIT_NOFILE of this process (Linux /proc), or undefined where it cannot be read. */
export function descriptorLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** One admitted connection; call `authenticated()` once it has signed on, `release()` when it closes. */
export interface ConnectionTicket {
  /** Moves the connection from the unauthenticated to the authenticated count (idempotent). */
  authenticated(): void;
  /** Frees its slots (idempotent). */
  release(): void;
}

/** Why a connection was refused. */
export type ConnectionRefusal = 'address-unauthenticated' | 'address-total' | 'global-unauthenticated' | 'global-total';

/** Counts connections per address and globally; refuses past the caps. */
export class ConnectionLimiter {
  /** Effective limits (maxTotal already reduced to fit the descriptor limit). */
  readonly limits: ConnectionLimits;
  readonly #perAddress = new Map<string, Counts>();
  /** Global counts; tickets decrement them directly. */
  readonly #all: Counts = { unauth: 0, total: 0 };
  /** Refusals so far by reason (metrics). */
  readonly refused: Record<ConnectionRefusal, number> = { 'address-unauthenticated': 0, 'address-total': 0, 'global-unauthenticated': 0, 'global-total': 0 };

  /** @param limits overrides; @param fdLimit the descriptor limit (default: read from the process) */
  constructor(limits: Partial<ConnectionLimits> = {}, fdLimit: number | undefined = descriptorLimit()) {
    const l = { ...DEFAULT_CONNECTION_LIMITS, ...limits };
    if (fdLimit !== undefined) l.maxTotal = Math.max(1, Math.min(l.maxTotal, fdLimit - l.reservedDescriptors));
    this.limits = l;
  }

  /** Open connections (all / unauthenticated). */
  get open(): { total: number; unauthenticated: number } {
    return { total: this.#all.total, unauthenticated: this.#all.unauth };
  }

  /** Admits a new (unauthenticated) connection from `address`, or says why not. */
  admit(address: string): ConnectionTicket | ConnectionRefusal {
    const key = addressKey(address);
    const a = this.#perAddress.get(key) ?? { unauth: 0, total: 0 };
    const l = this.limits;
    let refusal: ConnectionRefusal | undefined;
    if (this.#all.total >= l.maxTotal) refusal = 'global-total';
    else if (this.#all.unauth >= Math.ceil(l.maxTotal * l.unauthenticatedShare)) refusal = 'global-unauthenticated';
    else if (a.total >= l.perAddressTotal) refusal = 'address-total';
    else if (a.unauth >= l.perAddressUnauthenticated) refusal = 'address-unauthenticated';
    if (refusal) {
      this.refused[refusal]++;
      return refusal;
    }
    a.unauth++;
    a.total++;
    this.#perAddress.set(key, a);
    this.#all.unauth++;
    this.#all.total++;
    return new Ticket(this.#all, a, this.#perAddress, key);
  }
}

/** Connections counted together (one address, or all). */
interface Counts {
  unauth: number;
  total: number;
}

/**
 * The ticket of one admitted connection. A class rather than a pair of closures: every open connection holds one
 * for its lifetime, and prototype methods cost nothing per connection.
 */
class Ticket implements ConnectionTicket {
  private authed = false;
  private released = false;

  constructor(
    private readonly all: Counts,
    private readonly address: Counts,
    private readonly perAddress: Map<string, Counts>,
    private readonly key: string,
  ) {}

  authenticated(): void {
    if (this.authed || this.released) return;
    this.authed = true;
    this.address.unauth--;
    this.all.unauth--;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (!this.authed) {
      this.address.unauth--;
      this.all.unauth--;
    }
    this.address.total--;
    this.all.total--;
    if (this.address.total === 0) this.perAddress.delete(this.key);
  }
}
