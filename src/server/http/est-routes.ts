/**
 * RFC 7030 (EST) over the HTTPS listener: authentication and rate limiting here, certificate logic in the PKI's
 * pure handlers (through {@link EstPort}).
 *
 * - `GET  /.well-known/est/cacerts`         anyone (clients need it to bootstrap trust; RFC 7030 §4.1).
 * - `POST /.well-known/est/simpleenroll`    HTTP Basic with the IM account's screen name and password (§3.2.3).
 *   Every check goes through the login throttle the OSCAR login uses (auth/login-throttle.ts: charged before the
 *   check, per address+account with exponential delay under account and address ceilings), so guessing over EST
 *   and over OSCAR draws on one budget; refused -> 429 + Retry-After (the wait) before any hashing, 503 +
 *   Retry-After when password checks are saturated. A request that also presents a valid client certificate for
 *   the same account is proven good and passes the ceilings.
 * - `POST /.well-known/est/simplereenroll`  the TLS client certificate (§3.3.2), checked with the PKI verifier
 *   (chains to our CA, valid now, not revoked); the screen name comes from the certificate.
 *
 * Issuance is rate-limited per account ({@link IssuanceLimiter}: 10 certificates per hour by default, i.e. five
 * key generations of two certificates each; one budget for every node of a cluster), so a briefly stolen password or certificate cannot mint certificates
 * in bulk; over the limit -> 429 + Retry-After. Each new certificate also supersedes (revokes) the account's
 * previous one of the same purpose (src/pki/est.ts), so the set of valid certificates stays bounded.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { LoginThrottle } from '../auth/login-throttle.js';
import { MemoryThrottleState, type ThrottleRecord, type ThrottleStatePort } from '../auth/throttle-state.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import type { EstResult, HttpPorts, PasswordCheck } from './http-ports.js';
import { HttpError, parseBasicAuth, readBody, send } from './request.js';
import { LogEvent, type Logger } from '../log.js';

/** EST path prefix (RFC 7030 §3.2.2). */
export const EST_PREFIX = '/.well-known/est/';

/** Counters the EST routes keep (exported on /metrics). */
export interface EstCounters {
  /** Certificates issued. */
  estEnrollments: number;
  /** Requests refused by the PKI (bad CSR, name mismatch, weak key...). */
  estRefusals: number;
  /** Wrong passwords / rejected client certificates. */
  estAuthFailures: number;
  /** 429 answers. */
  estRateLimited: number;
}

/** What the EST routes need. */
export interface EstRouteDeps {
  /** Ports to PKI and accounts. */
  ports: HttpPorts;
  /** Login throttle (shared with the OSCAR login when main.ts passes the engine's). */
  throttle: LoginThrottle;
  /** Body size limit. */
  maxBodyBytes: number;
  /** Counters to bump. */
  counters: EstCounters;
  /** Clock (ms). */
  now: () => number;
  /** Logging port (default silent). */
  log?: Logger;
  /** Per-account issuance limit (default: one {@link IssuanceLimiter} per set of deps). */
  issuance?: IssuanceLimiter;
}

/** A slot taken by {@link IssuanceLimiter.reserve}: `wait` 0 when taken, else the seconds to wait (nothing taken). */
export interface IssuanceTicket {
  /** 0 when a slot was taken; else seconds until one frees up. */
  wait: number;
  /** The record key of the slot taken (when `wait` is 0). */
  slot?: string;
  /** When it was taken, ms. */
  at: number;
}

/**
 * Per-account limit on issued certificates: at most `max` per sliding `windowMs`. A request takes a slot before
 * the enrollment starts (charge before checking: parallel enrollments cannot all pass one check) and gives it back
 * only when nothing was issued.
 *
 * The slots are `max` records per account (`e:<account>#<i>`, each live for `windowMs` after it was taken) in a
 * {@link ThrottleStatePort}: its atomic read-modify-write makes "find a free slot and take it" one step. In memory
 * by default (one process); main.ts passes the store's table on Postgres, so every node of a cluster draws on one
 * budget per account.
 */
export class IssuanceLimiter {
  /**
   * @param max certificates per window; @param windowMs the sliding window; @param state where the slots live
   * (default: this process's memory)
   */
  constructor(
    readonly max = 10,
    readonly windowMs = 3600_000,
    private readonly state: ThrottleStatePort = new MemoryThrottleState(),
  ) {}

  /** Seconds until `account` may enroll again, or 0 when it may now. */
  async retryAfter(account: string, now: number): Promise<number> {
    return this.state.update(this.slots(account), now, (live) => ({ result: this.wait(live, now), writes: new Map() }));
  }

  /** Takes a slot for `account` now, atomically (any node); `wait` > 0 when every slot is taken. */
  reserve(account: string, now: number): Promise<IssuanceTicket> {
    const keys = this.slots(account);
    return this.state.update<IssuanceTicket>(keys, now, (live) => {
      const free = keys.find((k) => !live.has(k));
      if (free === undefined) return { result: { wait: this.wait(live, now), at: now }, writes: new Map() };
      const rec: ThrottleRecord = { count: 1, milliTokens: 0, until: 0, at: now, expiresAt: now + this.windowMs };
      return { result: { wait: 0, slot: free, at: now }, writes: new Map([[free, rec]]) };
    });
  }

  /** Gives back the slot of `ticket` (the request issued nothing); a slot taken again meanwhile is left alone. */
  async release(ticket: IssuanceTicket): Promise<void> {
    const slot = ticket.slot;
    if (slot === undefined) return;
    await this.state.update([slot], ticket.at, (live) => {
      const r = live.get(slot);
      return { result: undefined, writes: r && r.at === ticket.at ? new Map([[slot, null]]) : new Map() };
    });
  }

  private slots(account: string): string[] {
    return Array.from({ length: this.max }, (_, i) => `e:${account}#${i}`);
  }

  private wait(live: ReadonlyMap<string, ThrottleRecord>, now: number): number {
    if (live.size < this.max) return 0;
    let oldest = Infinity;
    for (const r of live.values()) oldest = Math.min(oldest, r.at);
    return Math.max(1, Math.ceil((oldest + this.windowMs - now) / 1000));
  }
}

const defaultLimiters = new WeakMap<EstRouteDeps, IssuanceLimiter>();

function limiterOf(deps: EstRouteDeps): IssuanceLimiter {
  if (deps.issuance) return deps.issuance;
  let l = defaultLimiters.get(deps);
  if (!l) {
    l = new IssuanceLimiter();
    defaultLimiters.set(deps, l);
  }
  return l;
}

/**
 * Runs one enrollment under the account's issuance budget: refuses with 429 when it is used up, else charges a slot
 * before `enroll` starts and refunds it when no certificate came out.
 */
async function withIssuance(account: string, deps: EstRouteDeps, enroll: () => Promise<EstResult>): Promise<EstResult> {
  const key = normalizeScreenName(account);
  const ticket = await limiterOf(deps).reserve(key, deps.now());
  if (ticket.wait > 0) {
    deps.counters.estRateLimited++;
    throw new HttpError(429, 'ENROLL_RATE_LIMITED', `too many certificates issued to this account recently; try again in ${ticket.wait} s`, { 'Retry-After': String(ticket.wait) });
  }
  let r: EstResult | undefined;
  try {
    r = await enroll();
    return r;
  } finally {
    if (!r || r.status < 200 || r.status >= 300) await limiterOf(deps).release(ticket);
  }
}

const BASIC_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="certim EST", charset="UTF-8"' };

/** Handles a request under {@link EST_PREFIX}; `op` is the path after the prefix. */
export async function handleEst(op: string, req: IncomingMessage, res: ServerResponse, deps: EstRouteDeps): Promise<void> {
  switch (op) {
    case 'cacerts':
      requireMethod(req, 'GET');
      return reply(res, await deps.ports.est.cacerts());
    case 'simpleenroll': {
      requireMethod(req, 'POST');
      const screenName = await authenticateBasic(req, deps);
      const r = await withIssuance(screenName, deps, async () =>
        deps.ports.est.simpleEnroll(screenName, await readBody(req, deps.maxBodyBytes), req.headers['content-type']));
      return reply(res, r, deps.counters);
    }
    case 'simplereenroll': {
      requireMethod(req, 'POST');
      const { screenName, der } = await authenticateClientCert(req, deps);
      const r = await withIssuance(screenName, deps, async () =>
        deps.ports.est.simpleReenroll(screenName, await readBody(req, deps.maxBodyBytes), req.headers['content-type'], der));
      return reply(res, r, deps.counters);
    }
    default:
      throw new HttpError(404, 'NOT_FOUND', `unknown EST operation '${op}' (supported: cacerts, simpleenroll, simplereenroll)`);
  }
}

function requireMethod(req: IncomingMessage, method: string): void {
  if (req.method !== method) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `use ${method} for this EST operation`, { Allow: method });
}

function reply(res: ServerResponse, r: EstResult, counters?: EstCounters): void {
  if (counters) {
    if (r.status >= 200 && r.status < 300) counters.estEnrollments++;
    else counters.estRefusals++;
  }
  send(res, r.status, r.contentType, r.body, r.headers);
}

async function authenticateBasic(req: IncomingMessage, deps: EstRouteDeps): Promise<string> {
  const creds = parseBasicAuth(req.headers.authorization);
  if (!creds) throw new HttpError(401, 'AUTH_REQUIRED', 'HTTP Basic authentication with your screen name and password is required', BASIC_CHALLENGE);
  const key = normalizeScreenName(creds.user);
  const address = req.socket.remoteAddress ?? 'unknown';
  const proven = await presentsCertificateFor(req, key, deps);
  const checked: { result: PasswordCheck } = { result: 'bad-credentials' };
  const outcome = await deps.throttle.attempt({ account: key, address, proven }, async () => {
    checked.result = await deps.ports.checkPassword(creds.user, creds.password);
    return checked.result !== 'bad-credentials';
  });
  const result = checked.result;
  const fields = { screenName: creds.user, address, tls: true, via: 'est' };
  if (outcome.status === 'throttled' || outcome.status === 'busy') {
    const seconds = String(Math.ceil(outcome.retryAfterMs / 1000));
    deps.counters.estRateLimited++;
    if (outcome.status === 'busy') {
      deps.log?.('warn', LogEvent.LOGIN_BUSY, { ...fields });
      throw new HttpError(503, 'BUSY', `password checks are saturated; try again in ${seconds} s`, { 'Retry-After': seconds });
    }
    deps.log?.('warn', LogEvent.LOGIN_THROTTLED, { ...fields, scope: outcome.scope, retryAfterSeconds: Number(seconds) });
    const why = outcome.scope === 'address' ? 'from this address' : outcome.scope === 'penalty' ? 'after a rate-limit disconnect' : 'for this account';
    throw new HttpError(429, 'RATE_LIMITED', `too many failed logins ${why}; try again in ${seconds} s`, { 'Retry-After': seconds });
  }
  if (outcome.status === 'ok' && result === 'ok') {
    deps.log?.('info', LogEvent.LOGIN_OK, { ...fields, method: 'password' });
    return creds.user;
  }
  deps.counters.estAuthFailures++;
  if (result === 'disabled') {
    deps.log?.('warn', LogEvent.LOGIN_DISABLED, { screenName: creds.user, address, via: 'est' });
    throw new HttpError(403, 'ACCOUNT_DISABLED', 'this account is disabled');
  }
  deps.log?.('warn', LogEvent.LOGIN_FAILED, { ...fields });
  throw new HttpError(401, 'BAD_CREDENTIALS', 'wrong screen name or password', BASIC_CHALLENGE);
}

/** True when the TLS connection carries a valid client certificate of this same account (a proven-good client). */
async function presentsCertificateFor(req: IncomingMessage, accountKey: string, deps: EstRouteDeps): Promise<boolean> {
  const raw = peerCertificateDer(req);
  if (!raw) return false;
  const check = await deps.ports.checkClientCertificate(raw);
  return check.ok && normalizeScreenName(check.screenName) === accountKey;
}

function peerCertificateDer(req: IncomingMessage): Uint8Array | undefined {
  const socket = req.socket as TLSSocket;
  const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate(false) : undefined;
  const raw = peer && 'raw' in peer ? (peer.raw as Buffer | undefined) : undefined;
  return raw && raw.length > 0 ? new Uint8Array(raw) : undefined;
}

async function authenticateClientCert(req: IncomingMessage, deps: EstRouteDeps): Promise<{ screenName: string; der: Uint8Array }> {
  const der = peerCertificateDer(req);
  if (!der) throw new HttpError(401, 'CLIENT_CERT_REQUIRED', 'simplereenroll needs TLS client authentication with your current certificate');
  const check = await deps.ports.checkClientCertificate(der);
  if (!check.ok) {
    deps.counters.estAuthFailures++;
    deps.log?.('warn', LogEvent.ENROLL_REFUSED, { op: 'simplereenroll', address: req.socket.remoteAddress, status: 403, code: 'CLIENT_CERT_REJECTED' });
    throw new HttpError(403, 'CLIENT_CERT_REJECTED', `client certificate refused: ${check.reason}`);
  }
  return { screenName: check.screenName, der };
}
