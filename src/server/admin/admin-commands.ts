/**
 * What the admin control channel can do on a running server (admin-protocol.ts): list sessions, list and clear
 * login throttles, revoke a certificate with immediate effect. Pure request -> result functions over small
 * ports; the socket is admin-server.ts.
 */
import { normalizeSerial } from '../../pki/ca.js';
import { isRevocationReason } from '../../pki/crl.js';
import { PkiError } from '../../pki/errors.js';
import type { CertificateLedger, RevocationReason } from '../../pki/ledger.js';
import { normalizeScreenName } from '../../pki/screen-name.js';
import type { Engine } from '../engine.js';
import { encodeLogString } from '../log-encode.js';
import { LogEvent } from '../log.js';
import { AdminError, type AdminRequest, type PingResult, type RevokeResult, type SessionSummary, type ThrottleSummary } from './admin-protocol.js';
import { onCertificateRevoked } from './cert-withdrawal.js';

/**
 * The login throttle as the admin channel sees it (server/auth/login-throttle.ts implements it). Either method may
 * be asynchronous, for a throttle that keeps its state in the store.
 */
export interface ThrottleAdmin {
  /** Every key (account, address, ...) with failures counted at `now`. */
  entries(now: number): ThrottleSummary[] | Promise<ThrottleSummary[]>;
  /** Forgets an account's failures (and any back-off on it); true when it had any. */
  unlock(accountKey: string): boolean | Promise<boolean>;
}

/**
 * The other nodes of a cluster, as the admin commands reach them (cluster/nats-admin.ts): their sessions, and the
 * withdrawal of a revoked certificate from their sessions of one user. Nodes that do not answer are named.
 */
export interface AdminPeers {
  /** Every other live node's sessions, each with its `node`. */
  sessions(): Promise<{ sessions: SessionSummary[]; unreachable: string[] }>;
  /** Asks `nodes` to withdraw the certificate hash from their sessions of `screenName`. */
  withdraw(screenName: string, nodes: readonly string[]): Promise<{ sessions: number; unreachable: string[] }>;
}

/** What the commands need. */
export interface AdminDeps {
  /** The OSCAR engine (sessions, presence, user-info port, clock, log). */
  engine: Engine;
  /** The failed-login throttle shared by OSCAR and EST. */
  throttle: ThrottleAdmin;
  /** Ledger lookups (owner of a serial). */
  ledger: Pick<CertificateLedger, 'get'>;
  /** Revokes through the CA (ledger + CRL cache). */
  revoke(serial: string, reason: RevocationReason): Promise<void>;
  /** Absolute data directory. */
  dataDir: string;
  /** Server start, ms. */
  startedAt: number;
  /** The other nodes, on a cluster node (sessions everywhere; withdrawal wherever the owner is signed on). */
  peers?: AdminPeers;
}

/** Runs one admin request; throws {@link AdminError} for refusals. */
export type AdminDispatch = (req: AdminRequest) => Promise<unknown>;

/** Sessions of this node, and of every other node on a cluster node (each naming its node). */
async function allSessions(deps: AdminDeps): Promise<SessionSummary[]> {
  const local = localSessions(deps.engine);
  if (!deps.peers) return local;
  const node = deps.engine.directory.node;
  const others = await deps.peers.sessions();
  if (others.unreachable.length > 0) deps.engine.log('warn', LogEvent.CLUSTER_ERROR, { operation: 'admin sessions', unreachable: others.unreachable.join(',') });
  return [...local.map((s) => ({ ...s, node })), ...others.sessions].sort((a, b) => a.screenName.localeCompare(b.screenName) || (a.node ?? '').localeCompare(b.node ?? ''));
}

/** This node's sessions, as `admin sessions` lists them. */
export function localSessions(engine: Engine): SessionSummary[] {
  const now = engine.clock.now();
  const out: SessionSummary[] = [];
  for (const s of engine.registry.all()) {
    if (s.closed) continue;
    out.push({
      screenName: s.screenName,
      address: s.link.address ?? null,
      tls: s.link.tls,
      clientId: s.link.clientId === undefined ? null : encodeLogString(s.link.clientId),
      signedOnAt: new Date(s.signedOnAt * 1000).toISOString(),
      idleMinutes: s.idleSince > 0 ? Math.floor((now - s.idleSince) / 60_000) : 0,
      away: s.away !== undefined,
      certificates: s.certHash !== undefined,
    });
  }
  return out.sort((a, b) => a.screenName.localeCompare(b.screenName));
}

async function revoke(deps: AdminDeps, serialIn: string, reason: string): Promise<RevokeResult> {
  if (!isRevocationReason(reason)) throw new AdminError('BAD_REQUEST', `unknown revocation reason '${reason}'`);
  let serial: string;
  try {
    serial = normalizeSerial(serialIn);
  } catch {
    throw new AdminError('BAD_REQUEST', `'${serialIn}' is not a hex serial number`);
  }
  const rec = await deps.ledger.get(serial);
  if (!rec) throw new AdminError('UNKNOWN_SERIAL', `no certificate with serial ${serial}`);
  try {
    await deps.revoke(serial, reason);
  } catch (e) {
    if (e instanceof PkiError) throw new AdminError(e.code, e.message);
    throw e;
  }
  const { engine } = deps;
  engine.log('warn', LogEvent.CERT_REVOKED, { serial, screenName: rec.screenName, reason, by: 'admin' });
  const withdrawn = rec.purpose === 'tls-server' ? false : await onCertificateRevoked(engine, rec.screenName, serial);
  if (withdrawn && deps.peers) {
    // The owner's sessions on other nodes drop the hash and re-announce presence there.
    const here = engine.directory.node;
    const nodes = [...new Set((await engine.directory.sessionsOf(normalizeScreenName(rec.screenName))).map((e) => e.address.node))].filter((n) => n !== here);
    if (nodes.length > 0) {
      const r = await deps.peers.withdraw(rec.screenName, nodes);
      if (r.unreachable.length > 0) engine.log('warn', LogEvent.CLUSTER_ERROR, { operation: 'withdraw a revoked certificate', unreachable: r.unreachable.join(',') });
    }
  }
  return { serial, screenName: rec.screenName, withdrawn };
}

/** The dispatcher over `deps`. */
export function adminCommands(deps: AdminDeps): AdminDispatch {
  return async (req) => {
    switch (req.cmd) {
      case 'ping':
        return { pid: process.pid, dataDir: deps.dataDir, uptimeSeconds: Math.round((deps.engine.clock.now() - deps.startedAt) / 1000) } satisfies PingResult;
      case 'sessions':
        return allSessions(deps);
      case 'throttle.list':
        return deps.throttle.entries(deps.engine.clock.now());
      case 'user.unlock': {
        const key = normalizeScreenName(req.screenName);
        const wasLocked = await deps.throttle.unlock(key);
        deps.engine.log('info', LogEvent.ACCOUNT_UNLOCKED, { screenName: key, hadFailures: wasLocked });
        return { screenName: key, hadFailures: wasLocked };
      }
      case 'cert.revoke':
        return revoke(deps, req.serial, req.reason);
    }
  };
}

/** Validates a parsed request line; throws BAD_REQUEST / UNKNOWN_COMMAND. */
export function parseAdminRequest(v: unknown): AdminRequest {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new AdminError('BAD_REQUEST', 'a request is a JSON object');
  const o = v as Record<string, unknown>;
  const id = typeof o.id === 'number' && Number.isSafeInteger(o.id) ? o.id : undefined;
  const base = id === undefined ? {} : { id };
  const str = (k: string, max: number): string => {
    const x = o[k];
    if (typeof x !== 'string' || x.length === 0 || x.length > max) throw new AdminError('BAD_REQUEST', `'${k}' must be a non-empty string of at most ${max} characters`);
    return x;
  };
  switch (o.cmd) {
    case 'ping':
    case 'sessions':
    case 'throttle.list':
      return { ...base, cmd: o.cmd };
    case 'user.unlock':
      return { ...base, cmd: 'user.unlock', screenName: str('screenName', 97) };
    case 'cert.revoke':
      return { ...base, cmd: 'cert.revoke', serial: str('serial', 128), reason: typeof o.reason === 'string' ? str('reason', 64) : 'unspecified' };
    default:
      throw new AdminError('UNKNOWN_COMMAND', `unknown command ${typeof o.cmd === 'string' ? `'${encodeLogString(o.cmd.slice(0, 40))}'` : '(none)'}`);
  }
}
