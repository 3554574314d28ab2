/**
 * What SNAC handlers (and a service's client-ready step) may use of the server: ports, never the engine itself.
 * Other sessions are reachable only through the delivery directory; this node's sessions only for read-only
 * lookups; no login throttle, no session registration, no listeners. The `Engine` satisfies it as it is.
 */
import type { CookieClaims } from './auth/cookie.js';
import type { DeliveryDirectory } from './cluster/directory.js';
import type { EngineConfig } from './config.js';
import type { EngineMetrics, Logger } from './engine.js';
import type { Clock, ServerPorts } from './ports.js';
import type { CompiledService } from './services/service.js';
import type { Session } from './session/session.js';

/** Presence as handlers drive it (session/presence.ts). */
export interface PresencePort {
  /** Re-indexes which names a session watches (after buddy list or feedbag changes). */
  reindex(s: Session): void;
  /** Publishes a session's presence to every node. */
  broadcast(s: Session): Promise<void>;
  /** Arrivals (and with `departures`, departures) of `keys` for `s`, from the directory. */
  arrivalsFor(s: Session, keys?: Iterable<string>, departures?: boolean): Promise<void>;
  /** Re-evaluates both directions after a privacy change. */
  privacyChanged(s: Session): Promise<void>;
  /** A privacy edit in `s`: the user's other sessions (any node) adopt it; then as `privacyChanged`. */
  privacyEdited(s: Session): Promise<void>;
  /** Ready sessions (any node) of a user who has a session on this node. */
  readySessionCount(key: string): number;
}

/** Read-only lookups of this node's sessions. */
export interface LocalSessions {
  /** The newest ready local session of a normalized name. */
  readyByKey(key: string): Session | undefined;
}

/** What `01/04` needs: the services, the cookie minter, the listeners' ports. */
export interface ServiceRedirects {
  /** The service an `01/04` for `family` reaches. */
  forFamily(family: number): CompiledService | undefined;
}

/** The handler's view of the server. */
export interface HandlerEnv {
  /** Storage, passwords, certificate checks. */
  readonly ports: ServerPorts;
  /** Limits. */
  readonly config: EngineConfig;
  /** Time. */
  readonly clock: Clock;
  /** Structured log (never message contents or keys). */
  readonly log: Logger;
  /** Counters. */
  readonly counters: EngineMetrics;
  /** The one path to other sessions (IMs, events, offline hand-off, room fan-out). */
  readonly directory: DeliveryDirectory;
  /** Presence publishing and sign-on arrivals. */
  readonly presence: PresencePort;
  /** This node's sessions, read-only. */
  readonly registry: LocalSessions;
  /** Services reachable by `01/04`. */
  readonly services: ServiceRedirects;
  /** Cookie minting for `01/05`. */
  readonly cookies: { issue(claims: CookieClaims, nowMs: number): Uint8Array };
  /** Ports the listeners bound. */
  readonly boundPorts: { readonly plain?: number; readonly tls?: number };
}
