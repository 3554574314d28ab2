/**
 * The delivery directory: who is online where, and the one path for every byte that leaves one session for
 * another (IMs, client events, presence, offline hand-off, takeover, fan-out to a set of users for rooms).
 *
 * Handlers never write to another session's socket; they call a {@link DeliveryDirectory}. One implementation
 * lives in this process (`local-directory.ts`, the zero-config default); a network one (NATS) implements the same
 * interface, and `test/directory-conformance.ts` runs one suite over both.
 *
 * ## Model
 *
 * - A **node** is one server process, named by a string unique in the cluster (`DeliveryDirectory.node`).
 * - A **session** is one signed-on service connection of a user, addressed as {@link SessionAddress}
 *   `{ node, sessionId }`. A user (normalized screen name) may have several sessions, on several nodes.
 * - The directory holds one {@link SessionEntry} per session: its address, service, whether it is exclusive
 *   (classic single-session client) and, once the client is ready, its {@link PresenceSnapshot}.
 * - Each node gives the directory one {@link NodeEndpoint} (`start`): the directory calls it to hand a delivery
 *   to a session of that node, and to report every presence change of any user (on any node).
 *
 * ## Everything that crosses nodes is plain data
 *
 * {@link SessionEntry}, {@link PresenceSnapshot}, {@link PresenceEvent}, {@link Envelope} and {@link Delivery} hold
 * only strings, numbers, booleans, arrays and `Uint8Array` (no functions, classes, Maps or Sets), so a network
 * implementation can serialise them as they are (e.g. JSON with base64 for the byte arrays, or a binary codec).
 * Screen names in them are normalized (`pki/screen-name.ts`) unless a field says "formatted".
 *
 * ## Sessions and takeover (docs/protocol.md §1.1, §2.1)
 *
 * `register` adds an entry atomically per user and applies the sign-on rule among the user's sessions **of the
 * same service** (a chat connection never displaces the user's BOS session):
 * - an **exclusive** newcomer (a classic client that did not set login TLV 0x004A = 1) displaces every existing
 *   session of that user and service on every node (classic "signed on elsewhere");
 * - a **multi-session** newcomer (certim clients, and classic clients with multi-conn flag 1) displaces only the
 *   user's exclusive sessions of that service and coexists with the other multi-session ones.
 * Displaced sessions are removed from the directory and sent `{ kind: 'sign-off' }` before `register` resolves.
 * Concurrent registrations of one user must end in a state this rule allows (per service: never two exclusive
 * sessions, never an exclusive beside another session); an implementation serialises them per user (in-process:
 * synchronously; NATS: e.g. a compare-and-set on the user's key-value entry, retried). Whether a session is
 * exclusive is decided by its service (BOS: the login flag; chat: never, one connection per room).
 *
 * ## Presence across nodes
 *
 * Every change of a session's presence (register with presence, `update`, and the removal — `unregister`,
 * displacement, a node that disappears — of an entry that had presence or was the user's last entry) produces one
 * {@link PresenceEvent} carrying **all** of that user's current entries. The event is delivered to the endpoint of
 * **every** node (including the one that caused it) in the order of changes for that user. Each node keeps its
 * own watcher index (which local sessions have which names on a buddy list) and fans the event out locally: the
 * user is online when any entry has a presence snapshot; the arrival shown is the one of a representative entry
 * (not idle, then not away, then the latest sign-on); privacy is checked with the snapshot's lists against the
 * local watcher's own. The user is offline (a departure) only when **no entry is left**: while a newcomer that
 * displaced the user's session is still signing on (an entry without presence), watchers see no departure, as in
 * classic takeover. So presence fan-out costs one broadcast per change, not one message per watcher.
 *
 * **Sign-on:** a node learns which buddies of a new session are online with `lookup(buddies)`, which returns the
 * current entries of those users (any node). A network implementation may answer from a local replica kept
 * current by the same presence events, as long as it reflects every change it has already delivered to this node.
 *
 * **A node that disappears** (crash, `kill -9`): a network implementation must notice within seconds (heartbeats
 * or TTLs) and then remove its entries, emitting the presence events as if each session had unregistered.
 *
 * ## Delivery
 *
 * `sendTo` (one session), `sendToUser` (every session of a user) and `sendToUsers` (a set of users, for rooms)
 * take an {@link Envelope}: the {@link Delivery} plus filters the *receiving* node applies against the live local
 * session (the sender's privacy standing, the excluded session, a required capability). They resolve with a
 * {@link DeliveryResult}: how many sessions were targeted (ready, of the right service, not excluded) and how many
 * accepted, so `sendIm` can tell "online nowhere" (targeted 0: store offline) from "online but hidden or gone
 * meanwhile" (accepted 0: an error). Order: deliveries from one caller to one session arrive in call order.
 */

/** Where one session lives: a node of the cluster and an id unique on that node. */
export interface SessionAddress {
  /** Node name (unique in the cluster). */
  node: string;
  /** Session id, unique on its node for the node's lifetime. */
  sessionId: string;
}

/** The service a session is connected to (docs/protocol.md §2.2): 'bos' now; 'chat', 'chatnav', ... later. */
export type ServiceId = string;

/** Privacy as others need it to decide visibility (docs/protocol.md §3.5, §3.9); names normalized. */
export interface PrivacySnapshot {
  /** Permit/deny mode 1..5 (1 all, 2 none, 3 permit some, 4 deny some, 5 buddies only). */
  mode: number;
  /** Permit list (mode 3); read-only (an empty list may be one shared frozen array). */
  permit: readonly string[];
  /** Deny list (mode 4); read-only. */
  deny: readonly string[];
  /** The user's buddies; filled only in mode 5 (empty otherwise); read-only. */
  buddies: readonly string[];
  /**
   * When the user last changed these settings, ms since the epoch (0: as loaded at sign-on). A node gives the
   * user's other sessions the settings of a snapshot newer than theirs, so blocking someone in one session blocks
   * them in every session, on every node.
   */
  changedAt: number;
}

/** A ready session's presence, as watchers on any node need it. */
export interface PresenceSnapshot {
  /** Formatted screen name ("Bob Smith"). */
  screenName: string;
  /** The session's user-info block (docs/protocol.md §4.1) as of `at`; what 03/0B carries. */
  info: Uint8Array;
  /** When `info` was built, ms since the epoch. */
  at: number;
  /** Sign-on time, ms since the epoch. */
  signedOnAt: number;
  /** True when idle. */
  idle: boolean;
  /** True when away. */
  away: boolean;
  /** Who may see this user. */
  privacy: PrivacySnapshot;
  /**
   * The session's Locate profile and away text (docs/protocol.md §3.2), so a node where the user is not signed on
   * answers `02/05` / `02/15` for them; absent when not set.
   */
  locate?: LocateTexts;
}

/** A session's Locate texts as others fetch them with `02/05` / `02/15`. */
export interface LocateTexts {
  /** Profile MIME type. */
  profileMime?: string;
  /** Profile bytes. */
  profile?: Uint8Array;
  /** Away-message MIME type. */
  awayMime?: string;
  /** Away-message bytes (set only while away). */
  away?: Uint8Array;
}

/** One session in the directory. */
export interface SessionEntry {
  /** Where it lives. */
  address: SessionAddress;
  /** Normalized screen name. */
  user: string;
  /** Service of the connection. */
  service: ServiceId;
  /** True for a single-session sign-on (classic client): it displaces, and is displaced by, every other session of its service. */
  exclusive: boolean;
  /** Present once the client is ready (01/02) and visible; absent before (not online for presence or IMs). */
  presence?: PresenceSnapshot;
}

/** A presence change of one user, delivered to every node. */
export interface PresenceEvent {
  /** Normalized screen name. */
  user: string;
  /** All current entries of the user after the change (empty when the last one left). */
  sessions: SessionEntry[];
  /** The entry that changed: as it is now, or as it was last when `removed`. */
  changed: SessionEntry;
  /** True when `changed` left the directory (unregistered, displaced, or its node died). */
  removed: boolean;
  /**
   * True when `changed` was removed because its node died (not by its own node): that node cannot tell anyone
   * (e.g. a room's other members that the member left), so each node tells its own sessions.
   */
  lost?: boolean;
}

/** What crosses to a session. */
export type Delivery =
  /** A SNAC for the client (e.g. 04/07, 04/14, 03/0B, 0E/06). `requestId` defaults to a fresh server id. */
  | { kind: 'snac'; family: number; subtype: number; body: Uint8Array; flags?: number; requestId?: number }
  /** Close the session with FLAP ch-4 (docs/protocol.md §1.1); `reason` 1 = signed on elsewhere. Filters are ignored. */
  | { kind: 'sign-off'; reason: number };

/** A delivery plus the filters the receiving node applies to each candidate session. */
export interface Envelope {
  /** The payload. */
  delivery: Delivery;
  /** Normalized sender: sessions whose privacy hides this user from them are skipped (not counted). */
  from?: string;
  /** A session not to deliver to (the sender's own, for copies to its other sessions). */
  except?: SessionAddress;
  /** Only sessions that announced this capability (32 lowercase hex digits, docs/protocol.md §5). */
  capability?: string;
  /** Only sessions of this service (default: every service). */
  service?: ServiceId;
  /**
   * Also deliver to sessions not yet ready (default false). Readiness is the receiving node's view of the live
   * session (client ready seen); `targeted` counts entries with a presence snapshot unless this is set.
   */
  includeNotReady?: boolean;
}

/** The outcome of a delivery to a user or a set of users. */
export interface DeliveryResult {
  /** Sessions the envelope was offered to (ready unless `includeNotReady`, service and `except` applied). */
  targeted: number;
  /** Sessions that accepted it (the receiving node's filters passed and the bytes reached the socket). */
  accepted: number;
}

/** How the directory reaches the sessions of one node (given by that node to `start`). Local calls only. */
export interface NodeEndpoint {
  /**
   * Hands an envelope to a local session after applying its filters; true when the session accepted it (open,
   * filters passed, bytes handed to the socket). Must not throw.
   */
  deliver(sessionId: string, envelope: Envelope): boolean;
  /** A user's presence changed (on any node, this one included). Must not throw. */
  presenceChanged(event: PresenceEvent): void;
}

/** Options for `register`. */
export interface RegisterOptions {
  /** Reason sent to displaced sessions (default 1, signed on elsewhere). */
  reason?: number;
  /**
   * At most this many sessions of the entry's user and service once the takeover rule has run, the new one
   * included: past it the register fails with DIRECTORY_SESSION_LIMIT and changes nothing. Checked in the same
   * atomic step as the write, so sign-ons racing at several nodes cannot all pass.
   */
  maxSessions?: number;
}

/** The directory's check of {@link RegisterOptions.maxSessions}: throws when `kept` (the new entry not included) is full. */
export function checkSessionLimit(kept: readonly SessionEntry[], entry: SessionEntry, maxSessions: number | undefined): void {
  if (maxSessions === undefined) return;
  let same = 0;
  for (const e of kept) if (e.service === entry.service) same++;
  if (same >= maxSessions) throw new DirectoryError('DIRECTORY_SESSION_LIMIT', `${entry.user} already has ${same} ${entry.service} sessions, the most allowed`);
}

/** The directory of online sessions and the delivery path between them. All methods are safe to call concurrently. */
export interface DeliveryDirectory {
  /** This node's name. */
  readonly node: string;
  /** Connects this node; deliveries and presence events for it go to `endpoint` from now on. Call once. */
  start(endpoint: NodeEndpoint): Promise<void>;
  /** Adds a session of this node (address.node must be `node`); applies the takeover rule; resolves with the displaced entries. */
  register(entry: SessionEntry, options?: RegisterOptions): Promise<SessionEntry[]>;
  /** Sets (or with undefined clears) a session's presence; emits a presence event. No-op for an unknown address. */
  update(address: SessionAddress, presence: PresenceSnapshot | undefined): Promise<void>;
  /** Removes a session; emits a presence event when it was present or was the user's last entry. Idempotent. */
  unregister(address: SessionAddress): Promise<void>;
  /** The user's current entries (any node); empty when offline. */
  sessionsOf(user: string): Promise<SessionEntry[]>;
  /** Current entries of several users at once (sign-on arrivals); users without sessions are absent. */
  lookup(users: readonly string[]): Promise<Map<string, SessionEntry[]>>;
  /** Delivers to one session; resolves true when it accepted. */
  sendTo(address: SessionAddress, envelope: Envelope): Promise<boolean>;
  /** Delivers to every session of a user. */
  sendToUser(user: string, envelope: Envelope): Promise<DeliveryResult>;
  /**
   * Optional: `sendToUser` done before returning, for implementations that need no I/O (in-process). Hot paths
   * (04/06 -> 04/07) use it when present to skip a promise per IM; a network implementation leaves it undefined.
   */
  sendToUserNow?(user: string, envelope: Envelope): DeliveryResult;
  /** Delivers to every session of each user (rooms; duplicates in `users` count once); totals over all users. */
  sendToUsers(users: readonly string[], envelope: Envelope): Promise<DeliveryResult>;
  /** Leaves the cluster: this node's entries are removed (with presence events); later calls reject. */
  close(): Promise<void>;
}

/** Error codes of directory failures (`DirectoryError.code`). */
export type DirectoryErrorCode = 'DIRECTORY_CLOSED' | 'DIRECTORY_NOT_STARTED' | 'DIRECTORY_FOREIGN_SESSION' | 'DIRECTORY_UNAVAILABLE' | 'DIRECTORY_SESSION_LIMIT';

/** A directory failure with a stable code. */
export class DirectoryError extends Error {
  /** @param code stable code; @param message detail */
  constructor(
    readonly code: DirectoryErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DirectoryError';
  }

  /** True when `e` is a DirectoryError (optionally with `code`). */
  static is(e: unknown, code?: DirectoryErrorCode): e is DirectoryError {
    return e instanceof DirectoryError && (code === undefined || e.code === code);
  }
}

/** True when both addresses name the same session. */
/**
 * Delivers to every session of `user` through `sendToUserNow` where the directory has it (in-process: a result, no
 * promise), else `sendToUser`. Either way the envelope is dispatched before this returns, in call order.
 */
export function deliverToUser(dir: DeliveryDirectory, user: string, envelope: Envelope): DeliveryResult | Promise<DeliveryResult> {
  return dir.sendToUserNow ? dir.sendToUserNow(user, envelope) : dir.sendToUser(user, envelope);
}

export function sameSession(a: SessionAddress, b: SessionAddress): boolean {
  return a.node === b.node && a.sessionId === b.sessionId;
}

/**
 * The representative entry of a user for presence: not idle, then not away, then the latest sign-on; undefined
 * when no entry has a presence snapshot (the user is offline for presence).
 */
export function representative(sessions: readonly SessionEntry[]): (SessionEntry & { presence: PresenceSnapshot }) | undefined {
  let best: (SessionEntry & { presence: PresenceSnapshot }) | undefined;
  for (const s of sessions) {
    const p = s.presence;
    if (!p) continue;
    if (!best) {
      best = s as SessionEntry & { presence: PresenceSnapshot };
      continue;
    }
    const b = best.presence;
    const rank = (x: PresenceSnapshot) => (x.idle ? 2 : 0) + (x.away ? 1 : 0);
    if (rank(p) < rank(b) || (rank(p) === rank(b) && p.signedOnAt > b.signedOnAt)) best = s as SessionEntry & { presence: PresenceSnapshot };
  }
  return best;
}

/** The empty name list snapshots share (frozen: most users have no permit, deny or mode-5 buddy list). */
export const NO_SNAPSHOT_NAMES: readonly string[] = Object.freeze([]);

/** A copy of a name list, or the shared empty one. */
export function copyNames(names: Iterable<string>): readonly string[] {
  const a = [...names];
  return a.length === 0 ? NO_SNAPSHOT_NAMES : a;
}

/** A deep copy of a presence snapshot (implementations never share mutable state with their callers). */
export function clonePresence(p: PresenceSnapshot): PresenceSnapshot {
  const q = p.privacy;
  const c: PresenceSnapshot = { ...p, privacy: { ...q, permit: copyNames(q.permit), deny: copyNames(q.deny), buddies: copyNames(q.buddies) } };
  if (p.locate) {
    c.locate = { ...p.locate };
    if (p.locate.profile) c.locate.profile = p.locate.profile.slice();
    if (p.locate.away) c.locate.away = p.locate.away.slice();
  }
  return c;
}

/** A deep copy of a directory entry. */
export function cloneEntry(e: SessionEntry): SessionEntry {
  const c: SessionEntry = { address: { ...e.address }, user: e.user, service: e.service, exclusive: e.exclusive };
  if (e.presence) c.presence = clonePresence(e.presence);
  return c;
}
