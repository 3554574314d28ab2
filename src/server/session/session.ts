/**
 * One signed-on service session (BOS, or another service's connection): the user's live presence state and the
 * link to their connection. Handlers read and change it; only the connection loop (server/net) turns `link` calls
 * into bytes on a socket. A user may have several sessions at once (multi-session clients, docs/protocol.md §2.1
 * TLV 0x004A); each has its own id, and other nodes address it as `{ node, sessionId }`.
 */
import { normalizeScreenName } from '../../pki/screen-name.js';
import type { ServiceId, SessionAddress } from '../cluster/directory.js';
import { openPrivacy, type BuddyLookup, type Privacy } from './privacy.js';
import type { TextMemo } from '../../wire/bytes.js';

/** The empty buddy list sessions share until they have one (never changed: lists are replaced, see Session). */
const NO_BUDDIES: ReadonlySet<string> = new Set();
/** The capabilities of a session whose client has not set any (shared, frozen). */
const NO_CAPABILITIES: readonly Uint8Array[] = Object.freeze([]);

/** Options for a server-originated SNAC. */
export interface SnacSendOptions {
  /** SNAC flags (default 0). */
  flags?: number;
  /** Request id; default a fresh server id (high bit set). */
  requestId?: number;
}

/**
 * Which listener a connection came in on: plain TCP, TLS, or OSCAR over WebSocket on the HTTPS port
 * (docs/protocol.md §14). Redirects (`17/03`, `01/05`) send a client back to the same kind (§10.1, §14.3).
 */
export type LinkKind = 'tcp' | 'tls' | 'ws';

/** The connection behind a session, as handlers and the relay may use it. */
export interface SessionLink {
  /**
   * Queues one SNAC for the client (corked; flushed once per I/O phase). False when nothing was handed to the
   * socket because the connection is closed (or closed by this write, as a slow reader).
   */
  sendSnac(family: number, subtype: number, body: Uint8Array, options?: SnacSendOptions): boolean;
  /** Sends FLAP ch-4 (with TLV 0x0009 = `reason` when given) and closes the connection. */
  signOff(reason?: number): void;
  /**
   * Bytes handed to `sendSnac` that have not reached the kernel yet (the slow-reader measure). A bulk sender (offline
   * IMs at sign-on) paces itself on it, so its own output never makes a reading client look slow.
   */
  readonly pendingOutput: number;
  /** True once the connection is closing or closed: what `sendSnac` took and the socket has not written may be lost. */
  readonly closed: boolean;
  /** The peer's IPv4 address as the server saw it (4 bytes), undefined for IPv6 peers. */
  readonly remoteIpv4: Uint8Array | undefined;
  /** The peer's address as the socket reported it (the rendezvous proxy compares it, docs/protocol.md §8.3). */
  readonly remoteAddress?: string;
  /** True when the connection runs over TLS. */
  readonly tls: boolean;
  /** The peer's address as text (for admin listings and logs), when known. */
  readonly address?: string;
  /** The client id string the login sent (17/02 TLV 0x0003), when known; attacker-chosen text. */
  readonly clientId?: string | undefined;
  /** The listener kind the connection came in on. */
  readonly kind: LinkKind;
}

/** Who a session is, as the connection learned it from the redeemed cookie. */
export interface SessionIdentity {
  /** Node-unique session id. */
  id: string;
  /** This node's name. */
  node: string;
  /** Service of the connection. */
  service: ServiceId;
  /** Login TLV 0x004A as sent (0 absent / old client, 1 multi-session capable, 3 single session wanted). */
  multiConn: number;
  /** Whether the session displaces the user's other sessions of its service (default: `multiConn !== 1`). */
  exclusive?: boolean;
}

/** Live state of a signed-on user. */
export class Session {
  /** Node-unique id. */
  readonly id: string;
  /** Where other nodes reach this session. */
  readonly address: SessionAddress;
  /** Service of the connection ('bos', ...). */
  readonly service: ServiceId;
  /** Login multi-conn flag (0 absent, 1 multi-session, 3 single session wanted). */
  readonly multiConn: number;
  /** True when the session displaces (and is displaced by) every other session of the user and service. */
  readonly exclusive: boolean;
  /** Normalized screen name. */
  readonly key: string;
  /** Formatted screen name. */
  screenName: string;
  /** Sign-on time, Unix seconds. */
  readonly signedOnAt: number;
  /** Idle since (ms), 0 when active. */
  idleSince = 0;
  /** Status u32 (01/1E TLV 0x0006). */
  status = 0;
  /** Profile MIME type and bytes. */
  profileMime: string | undefined;
  /** Profile bytes. */
  profile: Uint8Array | undefined;
  /** Away MIME type. */
  awayMime: string | undefined;
  /** Away message; undefined when not away. */
  away: Uint8Array | undefined;
  /** Capability UUIDs (16 bytes each); replaced whole, never changed in place (most sessions share the empty one). */
  capabilities: readonly Uint8Array[] = NO_CAPABILITIES;
  /** MD5 of the stored cert-info block (TLV 0x001B), undefined when none. */
  certHash: Uint8Array | undefined;
  /** Warning level (percent x 10). */
  warning = 0;
  /** Client-side buddy list (03/04), normalized; created on first use (see {@link clientBuddies}). */
  private ownBuddies: Set<string> | undefined;
  private lookup: BuddyLookup | undefined;
  /** Buddies from the feedbag (class 0 items), normalized (replaced whole, never changed in place). */
  feedbagBuddies: ReadonlySet<string> = NO_BUDDIES;
  /** True once the client sent 13/07 (use feedbag). */
  feedbagActive = false;
  /** Who may see/IM this user. */
  privacy: Privacy = openPrivacy();
  /** When the user last changed `privacy` (ms; 0 = as loaded at sign-on); newer settings from another session win. */
  privacyChangedAt = 0;
  /** True after 01/02 client ready. */
  ready = false;
  /** OService version the client declared in 01/17 (1 when it did not). */
  oserviceVersion = 1;
  /** The connection. */
  readonly link: SessionLink;
  /** True once replaced or closed (late events are ignored). */
  closed = false;
  /** Cached user-info block and the idle minute it was built for (see user-info-block.ts). */
  infoCache: { idleMinutes: number; bytes: Uint8Array } | undefined;
  /** The recipient of this session's last IM, as sent and normalized (created by the first IM it sends). */
  recipients: TextMemo | undefined;
  /** Settles once the last IM this session sent has finished what follows its delivery (icbm.ts); undefined when none is pending. */
  imOrder: Promise<void> | undefined;

  /** @param screenName formatted SN; @param link the connection; @param nowMs sign-on time; @param identity id, node, service */
  constructor(screenName: string, link: SessionLink, nowMs: number, identity: SessionIdentity) {
    this.id = identity.id;
    this.address = { node: identity.node, sessionId: identity.id };
    this.service = identity.service;
    this.multiConn = identity.multiConn;
    this.exclusive = identity.exclusive ?? identity.multiConn !== 1;
    this.key = normalizeScreenName(screenName);
    this.screenName = screenName;
    this.link = link;
    this.signedOnAt = Math.floor(nowMs / 1000);
  }

  /** Drops the cached user-info block; call after changing anything the block shows. */
  touch(): void {
    this.infoCache = undefined;
  }

  /**
   * The client-side buddy list (03/04), to read or edit. It is created on first access: most sessions (feedbag
   * clients, and every session before its list arrives) never need one, so an idle session holds no empty Set.
   */
  get clientBuddies(): Set<string> {
    return (this.ownBuddies ??= new Set());
  }

  /**
   * Whether a name is on either of this session's buddy lists, without building their union (mode 5 asks this per
   * watcher, per online buddy and per delivery: a union Set per question cost O(buddies) each). Made on first use.
   */
  get buddyLookup(): BuddyLookup {
    return (this.lookup ??= { has: (key) => (this.ownBuddies?.has(key) ?? false) || this.feedbagBuddies.has(key) });
  }

  /** All buddies this session watches (client-side and feedbag); read-only. */
  buddies(): ReadonlySet<string> {
    const own = this.ownBuddies ?? NO_BUDDIES;
    if (this.feedbagBuddies.size === 0) return own;
    if (own.size === 0) return this.feedbagBuddies;
    return new Set([...own, ...this.feedbagBuddies]);
  }
}
