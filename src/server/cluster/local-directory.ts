/**
 * The in-process {@link DeliveryDirectory}: the zero-config default of a single server, and (through
 * {@link LocalDirectoryHub}) several "nodes" in one process for tests of cross-node behaviour without a network.
 *
 * Every method does its work synchronously and returns a settled promise, so per-user atomicity (the takeover rule)
 * needs no lock, and a delivery to a local session costs one map lookup and the endpoint call.
 */
import {
  DirectoryError, checkSessionLimit, cloneEntry, clonePresence, sameSession, type DeliveryDirectory, type DeliveryResult, type Envelope, type NodeEndpoint,
  type PresenceSnapshot, type RegisterOptions, type SessionAddress, type SessionEntry,
} from './directory.js';

const SIGNED_ON_ELSEWHERE = 1;

/** The hub's own copy of an entry, with its node's endpoint resolved once at registration (not per delivery). */
interface HubEntry extends SessionEntry {
  endpoint: NodeEndpoint | undefined;
}

/** Shared state of the in-process nodes: every user's entries and every node's endpoint. */
export class LocalDirectoryHub {
  private readonly users = new Map<string, HubEntry[]>();
  private readonly bySession = new Map<string, HubEntry>();
  private readonly endpoints = new Map<string, NodeEndpoint>();

  /** A directory for node `node` on this hub. */
  directory(node: string): LocalDirectory {
    return new LocalDirectory(this, node);
  }

  /** @internal */
  attach(node: string, endpoint: NodeEndpoint): void {
    if (this.endpoints.has(node)) throw new DirectoryError('DIRECTORY_FOREIGN_SESSION', `node ${node} already started`);
    this.endpoints.set(node, endpoint);
  }

  /** @internal */
  register(entry: SessionEntry, reason: number, maxSessions?: number): SessionEntry[] {
    const list = this.users.get(entry.user) ?? [];
    const displaced = list.filter((e) => e.service === entry.service && (entry.exclusive || e.exclusive));
    const kept = list.filter((e) => !displaced.includes(e));
    checkSessionLimit(kept, entry, maxSessions);
    const copy = cloneEntry(entry) as HubEntry;
    // A node's entries are dropped before its endpoint is forgotten (dropNode), so this never goes stale.
    copy.endpoint = this.endpoints.get(copy.address.node);
    kept.push(copy);
    this.users.set(copy.user, kept);
    this.bySession.set(key(copy.address), copy);
    for (const d of displaced) {
      this.bySession.delete(key(d.address));
      this.endpoints.get(d.address.node)?.deliver(d.address.sessionId, { delivery: { kind: 'sign-off', reason } });
      if (d.presence) this.emit(copy.user, d, true);
    }
    if (copy.presence) this.emit(copy.user, copy, false);
    return displaced.map(cloneEntry);
  }

  /** @internal */
  update(address: SessionAddress, presence: PresenceSnapshot | undefined): void {
    const e = this.bySession.get(key(address));
    if (!e) return;
    const wasPresent = e.presence !== undefined;
    if (presence) e.presence = clonePresence(presence);
    else delete e.presence;
    if (presence || wasPresent) this.emit(e.user, e, presence === undefined);
  }

  /** @internal */
  unregister(address: SessionAddress): void {
    const k = key(address);
    const e = this.bySession.get(k);
    if (!e) return;
    this.bySession.delete(k);
    const list = (this.users.get(e.user) ?? []).filter((x) => x !== e);
    if (list.length > 0) this.users.set(e.user, list);
    else this.users.delete(e.user);
    if (e.presence || list.length === 0) this.emit(e.user, e, true);
  }

  /** @internal Removes every entry of a node (it left or died) and forgets its endpoint. */
  dropNode(node: string): void {
    for (const e of [...this.bySession.values()]) if (e.address.node === node) this.unregister(e.address);
    this.endpoints.delete(node);
  }

  /** @internal */
  sessionsOf(user: string): SessionEntry[] {
    return (this.users.get(user) ?? []).map(cloneEntry);
  }

  /** @internal */
  sendTo(address: SessionAddress, envelope: Envelope): boolean {
    if (!this.bySession.has(key(address))) return false;
    return this.endpoints.get(address.node)?.deliver(address.sessionId, envelope) ?? false;
  }

  /** @internal */
  sendToUser(user: string, envelope: Envelope, result: DeliveryResult): void {
    const list = this.users.get(user);
    if (!list) return;
    // Lists are never changed in place (register/unregister store new arrays), so a delivery that ends a session
    // (slow reader) and unregisters it cannot disturb this loop.
    for (const e of list) {
      if (!envelope.includeNotReady && !e.presence) continue;
      if (envelope.service !== undefined && e.service !== envelope.service) continue;
      if (envelope.except && sameSession(envelope.except, e.address)) continue;
      result.targeted++;
      if (e.endpoint?.deliver(e.address.sessionId, envelope)) result.accepted++;
    }
  }

  private emit(user: string, changed: SessionEntry, removed: boolean): void {
    const event = { user, sessions: this.sessionsOf(user), changed: cloneEntry(changed), removed };
    for (const ep of [...this.endpoints.values()]) ep.presenceChanged(event);
  }
}

/** One node's view of a {@link LocalDirectoryHub}. */
export class LocalDirectory implements DeliveryDirectory {
  private state: 'new' | 'started' | 'closed' = 'new';

  /** @param hub shared state; @param node this node's name */
  constructor(
    private readonly hub: LocalDirectoryHub,
    readonly node: string,
  ) {}

  /** {@inheritDoc DeliveryDirectory.start} */
  start(endpoint: NodeEndpoint): Promise<void> {
    return this.run(() => {
      if (this.state !== 'new') throw new DirectoryError('DIRECTORY_CLOSED', 'directory already started');
      this.hub.attach(this.node, endpoint);
      this.state = 'started';
    }, false);
  }

  /** {@inheritDoc DeliveryDirectory.register} */
  register(entry: SessionEntry, options: RegisterOptions = {}): Promise<SessionEntry[]> {
    return this.run(() => {
      if (entry.address.node !== this.node) throw new DirectoryError('DIRECTORY_FOREIGN_SESSION', `session of node ${entry.address.node} registered on ${this.node}`);
      return this.hub.register(entry, options.reason ?? SIGNED_ON_ELSEWHERE, options.maxSessions);
    });
  }

  /** {@inheritDoc DeliveryDirectory.update} */
  update(address: SessionAddress, presence: PresenceSnapshot | undefined): Promise<void> {
    return this.run(() => this.hub.update(address, presence));
  }

  /** {@inheritDoc DeliveryDirectory.unregister} */
  unregister(address: SessionAddress): Promise<void> {
    return this.run(() => this.hub.unregister(address));
  }

  /** {@inheritDoc DeliveryDirectory.sessionsOf} */
  sessionsOf(user: string): Promise<SessionEntry[]> {
    return this.run(() => this.hub.sessionsOf(user));
  }

  /** {@inheritDoc DeliveryDirectory.lookup} */
  lookup(users: readonly string[]): Promise<Map<string, SessionEntry[]>> {
    return this.run(() => {
      const out = new Map<string, SessionEntry[]>();
      for (const u of users) {
        const list = this.hub.sessionsOf(u);
        if (list.length > 0) out.set(u, list);
      }
      return out;
    });
  }

  /** {@inheritDoc DeliveryDirectory.sendTo} */
  sendTo(address: SessionAddress, envelope: Envelope): Promise<boolean> {
    return this.run(() => this.hub.sendTo(address, envelope));
  }

  /** {@inheritDoc DeliveryDirectory.sendToUser} */
  sendToUser(user: string, envelope: Envelope): Promise<DeliveryResult> {
    return this.run(() => {
      const result = { targeted: 0, accepted: 0 };
      this.hub.sendToUser(user, envelope, result);
      return result;
    });
  }

  /** {@inheritDoc DeliveryDirectory.sendToUserNow} */
  sendToUserNow(user: string, envelope: Envelope): DeliveryResult {
    if (this.state !== 'started') throw new DirectoryError(this.state === 'closed' ? 'DIRECTORY_CLOSED' : 'DIRECTORY_NOT_STARTED', 'directory not running');
    const result = { targeted: 0, accepted: 0 };
    this.hub.sendToUser(user, envelope, result);
    return result;
  }

  /** {@inheritDoc DeliveryDirectory.sendToUsers} */
  sendToUsers(users: readonly string[], envelope: Envelope): Promise<DeliveryResult> {
    return this.run(() => {
      const result = { targeted: 0, accepted: 0 };
      for (const u of new Set(users)) this.hub.sendToUser(u, envelope, result);
      return result;
    });
  }

  /** {@inheritDoc DeliveryDirectory.close} */
  close(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    this.state = 'closed';
    this.hub.dropNode(this.node);
    return Promise.resolve();
  }

  private run<T>(fn: () => T, needStarted = true): Promise<T> {
    if (this.state === 'closed') return Promise.reject(new DirectoryError('DIRECTORY_CLOSED', 'directory closed'));
    if (needStarted && this.state !== 'started') return Promise.reject(new DirectoryError('DIRECTORY_NOT_STARTED', 'directory not started'));
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }
}

/** A single-node in-process directory (the server's default). */
export function localDirectory(node = 'local'): LocalDirectory {
  return new LocalDirectoryHub().directory(node);
}

function key(a: SessionAddress): string {
  return `${a.node}\u0000${a.sessionId}`;
}
