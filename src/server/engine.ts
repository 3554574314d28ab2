/**
 * The engine: everything connection-independent the handlers share — ports, this node's sessions, the delivery
 * directory, presence, services, cookies, login throttling, config, clock and counters. One per server; no sockets.
 */
import { CookieIssuer, type CookieNonceClaims } from './auth/cookie.js';
import { LoginThrottle } from './auth/login-throttle.js';
import type { DeliveryDirectory } from './cluster/directory.js';
import { localDirectory } from './cluster/local-directory.js';
import type { ThrottleStatePort } from './auth/throttle-state.js';
import { LocalRooms } from './cluster/local-rooms.js';
import type { RoomLimits, RoomRegistry } from './cluster/rooms.js';
import { defaultEngineConfig, type EngineConfig } from './config.js';
import type { HandlerEnv } from './handler-env.js';
import { LogEvent } from './log-events.js';
import { silentLogger, type Logger } from './log.js';
import type { Clock, ServerPorts } from './ports.js';
import { RendezvousBook, type RendezvousBookOptions } from './proxy/rendezvous-book.js';
import { DEFAULT_SERVICES } from './services/index.js';
import { ServiceTable, type OscarService } from './services/service.js';
import { LocalNode } from './session/local-node.js';
import { refreshFeedbag } from './families/feedbag.js';
import { Presence } from './session/presence.js';
import { SessionRegistry } from './session/registry.js';

/** Counters exposed by `metrics()`. */
export interface EngineMetrics {
  /** Open connections. */
  connections: number;
  /** Signed-on sessions. */
  sessions: number;
  /** SNACs received. */
  snacsIn: number;
  /** SNACs sent. */
  snacsOut: number;
  /** IMs relayed to online users. */
  imsRelayed: number;
  /** IMs stored for offline users. */
  imsStored: number;
  /** SNACs dropped by rate limiting. */
  rateDropped: number;
  /** Connections closed for rate or output limits. */
  limitDisconnects: number;
  /** Malformed FLAP streams closed / malformed SNAC bodies answered. */
  malformedFrames: number;
  /** Malformed SNAC bodies answered with error 0x0E. */
  malformedSnacs: number;
  /** Successful / failed logins. */
  loginsOk: number;
  /** Failed logins. */
  loginsFailed: number;
}

/** The logging port (log.ts): level, stable event name, structured fields. Never passed secrets or message text. */
export type { Logger } from './log.js';

/** Options for {@link Engine}. */
export interface EngineOptions {
  /** Ports to storage, passwords and the PKI. */
  ports: ServerPorts;
  /** Config overrides. */
  config?: Partial<EngineConfig>;
  /** Clock (default Date.now). */
  clock?: Clock;
  /** Delivery directory (default: a single in-process node). Not started: the engine starts it. */
  directory?: DeliveryDirectory;
  /**
   * Room registry (default: in-process, with the config's room limits). Share one between in-process nodes; a
   * cluster node passes a factory (its NATS registry), called with the config's room limits.
   */
  rooms?: RoomRegistry | ((limits: RoomLimits) => RoomRegistry);
  /** Services (default {@link DEFAULT_SERVICES}). */
  services?: readonly OscarService[];
  /** Logger (default: silent). */
  log?: Logger;
  /** HMAC key for BOS cookies (default: random per process; a cluster passes the store's shared one). */
  cookieSecret?: Uint8Array;
  /** Cluster-wide single use of cookies (a cluster node passes its NATS claims; default: single use per node only). */
  cookieClaims?: CookieNonceClaims;
  /** Where login-throttle records live (default: in memory; the store's table to share them in a cluster). */
  throttleState?: ThrottleStatePort;
  /** Limits of the live-rendezvous memory (proxy/rendezvous-book.ts). */
  rendezvous?: Partial<RendezvousBookOptions>;
  /** Told of every session start (main.ts passes its memory trim, memory-trim.ts). */
  onSessionStart?: () => void;
}

/** Shared server state. Handlers see it only as a {@link HandlerEnv}. */
export class Engine implements HandlerEnv {
  /** Ports. */
  readonly ports: ServerPorts;
  /** Effective config. */
  readonly config: EngineConfig;
  /** Clock. */
  readonly clock: Clock;
  /** This node's sessions. */
  readonly registry = new SessionRegistry();
  /** Who is online where, and the one path of every cross-session output. */
  readonly directory: DeliveryDirectory;
  /** Resolves once the directory is started (listeners wait for it); rejects when it could not start. */
  readonly started: Promise<void>;
  /** Presence fan-out. */
  readonly presence: Presence;
  /** Chat rooms that exist (membership is in the directory). */
  readonly rooms: RoomRegistry;
  /** The services connections can serve. */
  readonly services: ServiceTable;
  /** BOS cookies. */
  readonly cookies: CookieIssuer;
  /** Cluster-wide cookie claims (undefined on a single server). */
  readonly cookieClaims: CookieNonceClaims | undefined;
  /** Login throttle and password-hash gate (shared with the HTTPS listener by main.ts). */
  readonly throttle: LoginThrottle;
  /** Logger. */
  readonly log: Logger;
  /** Counters. */
  readonly counters: EngineMetrics = {
    connections: 0, sessions: 0, snacsIn: 0, snacsOut: 0, imsRelayed: 0, imsStored: 0, rateDropped: 0,
    limitDisconnects: 0, malformedFrames: 0, malformedSnacs: 0, loginsOk: 0, loginsFailed: 0,
  };
  private sessionSeq = 0;
  /** Live rendezvous proposals relayed by this node (docs/protocol.md §8.3: the proxy authorises against them). */
  readonly rendezvous: RendezvousBook;
  /** Told of every session start (default: nothing). */
  readonly onSessionStart: () => void;
  /** Ports the listeners bound ({ plain, tls, ws = the HTTPS port }), filled by the network layer; used for 17/03 BOS addresses. */
  readonly boundPorts: { plain?: number; tls?: number; ws?: number } = {};

  /** @param options ports and overrides */
  constructor(options: EngineOptions) {
    this.ports = options.ports;
    this.config = { ...defaultEngineConfig(), ...options.config };
    this.clock = options.clock ?? { now: () => Date.now() };
    this.log = options.log ?? silentLogger;
    const fault = (what: string, e: unknown) =>
      this.log('error', LogEvent.DELIVERY_FAILED, { operation: what, error: e instanceof Error ? e.stack ?? e.message : String(e) });
    this.directory = options.directory ?? localDirectory();
    this.presence = new Presence(this.registry, this.directory, this.clock, fault);
    this.services = new ServiceTable(options.services ?? DEFAULT_SERVICES);
    const c = this.config;
    const roomLimits: RoomLimits = { maxRooms: c.maxRooms, maxRoomsPerCreator: c.maxRoomsPerCreator, maxOccupancy: c.maxRoomOccupancy, maxPerMember: c.maxRoomConnectionsPerMember, emptyTtlMs: c.roomEmptyTtlMs };
    this.rooms = typeof options.rooms === 'function' ? options.rooms(roomLimits) : options.rooms ?? new LocalRooms(roomLimits);
    this.started = this.directory.start(new LocalNode(this.registry, this.presence, fault, this.directory.node, (s) => void refreshFeedbag(this, s).catch((e: unknown) => fault('feedbag refresh', e))));
    this.started.catch(() => {}); // observed by the listeners; never an unhandled rejection here
    this.cookies = new CookieIssuer(options.cookieSecret, this.config.cookieTtlSeconds);
    this.cookieClaims = options.cookieClaims;
    this.throttle = new LoginThrottle(this.config.loginThrottle, options.throttleState, () => this.clock.now());
    this.rendezvous = new RendezvousBook(this.clock, options.rendezvous);
    this.onSessionStart = options.onSessionStart ?? (() => {});
  }

  /** A fresh node-unique session id. */
  nextSessionId(): string {
    return (++this.sessionSeq).toString(36);
  }

  /** A snapshot of the counters. */
  metrics(): EngineMetrics {
    return { ...this.counters, sessions: this.registry.size };
  }
}
