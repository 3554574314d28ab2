/**
 * The {@link DeliveryDirectory} of a cluster on NATS (ARCHITECTURE.md "Cluster" has the picture).
 *
 * - **Where the directory lives**: one JetStream KV bucket `certim_<cluster>_sessions`, one key per user
 *   (`u.<normalized name>`) holding all of that user's sessions (nats-codec.ts `UserRecord`). Every change is a
 *   compare-and-set on that one key (`kv.update(key, value, revision)`, retried on conflict), which is what makes
 *   the takeover rule atomic per user across nodes.
 * - **Presence events** are the KV watch: each record carries the changes of the write that produced it, every
 *   node watches the whole bucket, and the stream's order is the order of changes for that user on every node.
 *   The same watch keeps a local replica (user -> sessions), which answers `sendToUser`/`sendToUsers` with no
 *   NATS round trip, `lookup` after a sync (the stream's last sequence, read in one round trip, has reached the
 *   replica), and the reaper.
 * - **Every acknowledged write is seen everywhere**: a write (register, update, unregister, a reaped node's
 *   entries) resolves only once this node's replica and every live node's (asked on `certim.<cluster>.seen.<node>`
 *   with the revision; each answers when its watch has applied it) hold it, so a send on any node after the write
 *   resolved reads it from its replica. A node that does not answer within `requestTimeoutMs` is not waited for.
 *   While this node is cut off from NATS, or its watch has stopped, its replica may be behind: sends read the
 *   user's record from the stream instead (a JetStream direct get), until the replica has caught up again.
 * - **Delivery**: request/reply on `certim.<cluster>.deliver.<node>`, batched per node and event-loop turn
 *   (nats-outbox.ts); the receiving node checks that the session
 *   is still its own, applies the envelope's filters through its endpoint and replies with the accepted count. A
 *   node with no subscriber ("no responders": gone) counts as not targeted, so an IM to a user whose node just
 *   died is stored offline instead of lost. Sessions on this node are delivered to directly, never through NATS.
 *   Sends from one directory are dispatched in call order (their lookups run concurrently), so deliveries from one
 *   caller to one session arrive in call order.
 * - **Failure detection**: heartbeats on `certim.<cluster>.hb.<node>` every `heartbeatMs`; a node silent for
 *   `deadAfterMs` is dead (liveness.ts), and the live node with the smallest name removes its entries — which
 *   produces the departures every other node shows. A session removed by someone else (displaced, or reaped
 *   while its node was cut off from NATS) is signed off by its own node when the change reaches it.
 */
import { LogEvent, type Logger } from '../log.js';
import type { KvWatchEntry } from '@nats-io/kv';
import type { Msg, QueuedIterator, Subscription } from '@nats-io/transport-node';
import {
  DirectoryError, checkSessionLimit, cloneEntry, clonePresence, sameSession, type DeliveryDirectory, type DeliveryResult, type Envelope, type NodeEndpoint,
  type PresenceSnapshot, type RegisterOptions, type SessionAddress, type SessionEntry,
} from './directory.js';
import { NodeLiveness } from './liveness.js';
import {
  decodeDeliveryBatch, decodeDeliveryRequest, decodeSeenRequest, decodeUserRecord, encodeDeliveryCounts,
  encodeSeenRequest, type RecordChange, type UserRecord,
} from './nats-codec.js';
import type { ClusterConnection } from './nats-connection.js';
import { DeliveryOutbox } from './nats-outbox.js';
import { NatsRpc, RpcError } from './nats-rpc.js';
import { keyUser, NO_RECORD, unavailable, UserRecords } from './nats-user-records.js';
import { isNodeName } from './node-id.js';
import { RevisionWaiters } from './revision-waiters.js';

/** Sign-off reason for sessions displaced by a newer sign-on (docs/protocol.md §1.1, FLAP ch-4 TLV 0x0009). */
const SIGNED_ON_ELSEWHERE = 1;
/** Sign-off reason for a session whose entry was removed because its node was declared dead (no specific code). */
export const NODE_LOST_REASON = 0;

/** Options of {@link NatsDirectory}. */
export interface NatsDirectoryOptions {
  /** The node's NATS connection. */
  connection: ClusterConnection;
  /** This node's name (node-id.ts). */
  node: string;
  /** Close `connection` when the directory closes (default false). */
  ownsConnection?: boolean;
  /** Heartbeat period, ms (default 1000). */
  heartbeatMs?: number;
  /** Silence after which a node is dead, ms (default 3500). */
  deadAfterMs?: number;
  /** How long a delivery waits for the receiving node's reply, ms (default 3000). */
  requestTimeoutMs?: number;
  /** A user's record left empty (last session gone) this long is purged from the bucket, ms (default 60 s). */
  purgeEmptyAfterMs?: number;
  /** Clock (default Date.now). */
  now?: () => number;
  /** Log sink (no secrets, no message contents). */
  log?: Logger;
}


/** The NATS implementation of the delivery directory. */
export class NatsDirectory implements DeliveryDirectory {
  /** {@inheritDoc DeliveryDirectory.node} */
  readonly node: string;
  private state: 'new' | 'starting' | 'started' | 'closed' = 'new';
  private endpoint: NodeEndpoint | undefined;
  private records: UserRecords | undefined;
  private rpc: NatsRpc | undefined;
  private outbox: DeliveryOutbox | undefined;
  private watcher: QueuedIterator<KvWatchEntry> | undefined;
  private readonly subs: Subscription[] = [];
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private unlistenStatus: (() => void) | undefined;
  /** This node's live sessions, by session id (the receiving side's truth for "is it still mine"). */
  private readonly local = new Map<string, SessionEntry>();
  /** Local sessions whose registration the bucket has not acknowledged yet (the post-outage recheck skips them). */
  private readonly pending = new Set<string>();
  /** Every user's sessions as of `seen` (from the watch). */
  private readonly replica = new Map<string, SessionEntry[]>();
  /** Highest KV revision applied to the replica, and who waits for one. */
  private seen = 0;
  /** The highest revision answered as seen while the replica was stale (see onSeenRequest). */
  private owedSeen = 0;
  /** True while the replica answers sends: connected, watch running and caught up since (re)connecting. */
  private fresh = false;
  /** Bumped at every disconnect or watch end, so a catch-up started before one does not mark the replica fresh. */
  private freshEpoch = 0;
  private catchingUp = false;
  /** Sends queued behind an earlier one still waiting for its lookup (0: a send may dispatch at once). */
  private queued = 0;
  private readonly seenWaiters = new RevisionWaiters();
  /** Sends are dispatched in call order; this is the tail of that queue. */
  private chain: Promise<void> = Promise.resolve();
  private readonly reaping = new Set<string>();
  /** Users whose latest record is empty: the revision and when it was seen (purged later by the reaper). */
  private readonly emptySince = new Map<string, { revision: number; at: number }>();
  private purging = false;
  private readonly purgeEmptyAfterMs: number;
  private readonly now: () => number;
  private readonly liveness: NodeLiveness;
  private readonly conn: ClusterConnection;
  private readonly heartbeatMs: number;
  private readonly deadAfterMs: number;
  private readonly requestTimeoutMs: number;
  private readonly log: NonNullable<NatsDirectoryOptions['log']>;
  private readonly ownsConnection: boolean;

  /** @param options connection, node name, timing */
  constructor(options: NatsDirectoryOptions) {
    if (!isNodeName(options.node)) throw new DirectoryError('DIRECTORY_FOREIGN_SESSION', `bad node name ${JSON.stringify(options.node)}`);
    this.node = options.node;
    this.conn = options.connection;
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.deadAfterMs = options.deadAfterMs ?? 3500;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 3000;
    this.log = options.log ?? (() => {});
    this.now = options.now ?? Date.now;
    this.purgeEmptyAfterMs = options.purgeEmptyAfterMs ?? 60_000;
    this.liveness = new NodeLiveness({ self: this.node, deadAfterMs: this.deadAfterMs, now: this.now });
    this.ownsConnection = options.ownsConnection ?? false;
  }

  /** {@inheritDoc DeliveryDirectory.start} */
  async start(endpoint: NodeEndpoint): Promise<void> {
    if (this.state !== 'new') throw new DirectoryError('DIRECTORY_CLOSED', 'directory already started');
    this.state = 'starting';
    this.endpoint = endpoint;
    const nc = this.conn.nc;
    try {
      this.rpc = new NatsRpc(nc, this.conn.subject('reply', this.node));
      this.records = await UserRecords.open(nc, this.conn.bucket('sessions'), this.rpc, this.requestTimeoutMs);
      this.outbox = new DeliveryOutbox(this.rpc, (node) => this.conn.subject('deliver', node), this.requestTimeoutMs);
      this.subs.push(nc.subscribe(this.conn.subject('deliver', this.node), { callback: (err, msg) => { if (!err) this.onDeliver(msg); } }));
      this.subs.push(nc.subscribe(this.conn.subject('seen', this.node), { callback: (err, msg) => { if (!err) this.onSeenRequest(msg); } }));
      this.subs.push(nc.subscribe(this.conn.subject('hb', '*'), {
        callback: (err, msg) => {
          if (err) return;
          const node = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
          const known = node === this.node || this.liveness.isLive(node);
          this.liveness.heard(node);
          // A node we did not know as live (just started, or back) hears from us at once, not at our next tick:
          // until it does, its writes do not wait for our replica.
          if (!known && this.state === 'started') this.heartbeat();
        },
      }));
      this.watcher = await this.records.watch();
      void this.consumeWatch(this.watcher);
      await this.sync();
    } catch (e) {
      this.state = 'closed';
      await this.teardown();
      throw unavailable(e);
    }
    this.heartbeat();
    this.timers.push(setInterval(() => this.heartbeat(), this.heartbeatMs));
    this.timers.push(setInterval(() => void this.reap(), Math.max(100, this.heartbeatMs / 2)));
    for (const t of this.timers) t.unref?.();
    this.unlistenStatus = this.conn.onStatus((s) => {
      if (s.type === 'disconnected' || s.type === 'closed') this.stale();
      if (s.type === 'reconnected') {
        // At once, not at the next tick (the client drops what it queued while disconnected): the reaper must hear
        // that this node lives before it can see a session registered here after the outage, or it reaps that one.
        this.heartbeat();
        void this.catchUp();
        if (s.outageMs >= this.deadAfterMs / 2) void this.recheckLocal();
      }
    });
    this.fresh = true;
    this.state = 'started';
  }

  /** {@inheritDoc DeliveryDirectory.register} */
  async register(entry: SessionEntry, options: RegisterOptions = {}): Promise<SessionEntry[]> {
    this.ready();
    if (entry.address.node !== this.node) throw new DirectoryError('DIRECTORY_FOREIGN_SESSION', `session of node ${entry.address.node} registered on ${this.node}`);
    const reason = options.reason ?? SIGNED_ON_ELSEWHERE;
    const copy = cloneEntry(entry);
    this.local.set(copy.address.sessionId, copy);
    this.pending.add(copy.address.sessionId);
    let displaced: SessionEntry[] = [];
    let revision: number | undefined;
    try {
      revision = await this.records!.mutate(copy.user, (current) => {
        displaced = current.filter((e) => e.service === copy.service && (copy.exclusive || e.exclusive) && !sameSession(e.address, copy.address));
        const kept = current.filter((e) => !displaced.includes(e) && !sameSession(e.address, copy.address));
        checkSessionLimit(kept, copy, options.maxSessions);
        const changes: RecordChange[] = displaced.map((d) => ({ entry: d, removed: true, event: d.presence !== undefined, reason }));
        if (copy.presence) changes.push({ entry: copy, removed: false, event: true });
        return { sessions: [...kept, copy], changes };
      });
    } catch (e) {
      this.local.delete(copy.address.sessionId);
      throw e;
    } finally {
      this.pending.delete(copy.address.sessionId);
    }
    // Displaced sessions are signed off before register resolves: ours directly, others' by a request (their node
    // would also act on the watched change; whichever comes first wins, exactly one sign-off reaches the session).
    const signOff: Envelope = { delivery: { kind: 'sign-off', reason } };
    await Promise.all([
      this.propagated(revision),
      ...displaced.map(async (d) => {
        if (d.address.node === this.node) this.dropLocal(d.address.sessionId, reason);
        else await this.request(d.address.node, [d.address.sessionId], signOff).catch(() => undefined);
      }),
    ]);
    return displaced.map(cloneEntry);
  }

  /** {@inheritDoc DeliveryDirectory.update} */
  async update(address: SessionAddress, presence: PresenceSnapshot | undefined): Promise<void> {
    this.ready();
    const user = this.userOf(address);
    if (user === undefined) return;
    const mine = address.node === this.node ? this.local.get(address.sessionId) : undefined;
    if (mine) {
      if (presence) mine.presence = clonePresence(presence);
      else delete mine.presence;
    }
    await this.propagated(await this.records!.mutate(user, (current) => {
      const e = current.find((x) => sameSession(x.address, address));
      if (!e || (!presence && !e.presence)) return undefined;
      const next = cloneEntry(e);
      if (presence) next.presence = clonePresence(presence);
      else delete next.presence;
      return { sessions: current.map((x) => (x === e ? next : x)), changes: [{ entry: next, removed: presence === undefined, event: true }] };
    }));
  }

  /** {@inheritDoc DeliveryDirectory.unregister} */
  async unregister(address: SessionAddress): Promise<void> {
    this.ready();
    const user = this.userOf(address);
    if (address.node === this.node) this.local.delete(address.sessionId);
    if (user === undefined) return;
    await this.propagated(await this.records!.removeWhere(user, (e) => sameSession(e.address, address)));
  }

  /** {@inheritDoc DeliveryDirectory.sessionsOf} */
  async sessionsOf(user: string): Promise<SessionEntry[]> {
    this.ready();
    return (await this.records!.read(user)).sessions.map(cloneEntry);
  }

  /** {@inheritDoc DeliveryDirectory.lookup} */
  async lookup(users: readonly string[]): Promise<Map<string, SessionEntry[]>> {
    this.ready();
    await this.sync();
    const out = new Map<string, SessionEntry[]>();
    for (const u of users) {
      const list = this.replica.get(u);
      if (list && list.length > 0) out.set(u, list.map(cloneEntry));
    }
    return out;
  }

  /** The other nodes alive now (heard from within the failure detector's window). */
  liveNodes(): string[] {
    return this.liveness.liveNodes();
  }

  /** True while `node` is alive by this node's failure detector (heartbeats); the room registry counts only live nodes' holds. */
  nodeAlive(node: string): boolean {
    return this.liveness.alive(node);
  }

  /** {@inheritDoc DeliveryDirectory.sendTo} */
  sendTo(address: SessionAddress, envelope: Envelope): Promise<boolean> {
    return this.ordered(undefined, async () => {
      const r = await this.dispatch([address], envelope);
      return r.accepted > 0;
    });
  }

  /** {@inheritDoc DeliveryDirectory.sendToUser} */
  sendToUser(user: string, envelope: Envelope): Promise<DeliveryResult> {
    const pick = (sessions: readonly SessionEntry[]): SessionAddress[] => sessions.filter((e) => wanted(e, envelope)).map((e) => e.address);
    if (this.fresh && this.state === 'started') {
      const targets = pick(this.replica.get(user) ?? []);
      return this.ordered(undefined, () => this.dispatch(targets, envelope));
    }
    const looked = this.state === 'started' ? this.records!.read(user) : Promise.resolve(NO_RECORD);
    return this.ordered(looked, (rec) => this.dispatch(pick((rec ?? NO_RECORD).sessions), envelope));
  }

  /** {@inheritDoc DeliveryDirectory.sendToUsers} */
  sendToUsers(users: readonly string[], envelope: Envelope): Promise<DeliveryResult> {
    const synced = this.state !== 'started' || this.fresh ? undefined : this.sync();
    return this.ordered(synced, () => {
      const targets: SessionAddress[] = [];
      for (const u of new Set(users)) for (const e of this.replica.get(u) ?? []) if (wanted(e, envelope)) targets.push(e.address);
      return this.dispatch(targets, envelope);
    });
  }

  /** {@inheritDoc DeliveryDirectory.close} */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasStarted = this.state === 'started';
    this.state = 'closed';
    for (const t of this.timers.splice(0)) clearInterval(t);
    if (wasStarted) {
      // Leave cleanly: remove our entries (watchers see the departures now, not after the dead-node timeout).
      const users = new Set<string>([...this.local.values()].map((e) => e.user));
      for (const [u, list] of this.replica) if (list.some((e) => e.address.node === this.node)) users.add(u);
      this.local.clear();
      const revisions = await Promise.all([...users].map((u) => this.records!.removeWhere(u, (e) => e.address.node === this.node).catch((e: unknown) => {
        this.log('warn', LogEvent.CLUSTER_ERROR, { operation: 'remove entry while leaving', error: (e as Error).message });
        return undefined;
      })));
      await this.propagated(latest(revisions));
    }
    await this.teardown();
  }

  // ---- internals ----

  private ready(): void {
    if (this.state === 'closed') throw new DirectoryError('DIRECTORY_CLOSED', 'directory closed');
    if (this.state !== 'started') throw new DirectoryError('DIRECTORY_NOT_STARTED', 'directory not started');
  }

  /**
   * Runs `dispatch` after every earlier send has dispatched, once `pre` (started now, concurrently; undefined:
   * nothing to wait for) resolves. With nothing queued and nothing to wait for, it dispatches at once.
   */
  private ordered<L, T>(pre: Promise<L> | undefined, dispatch: (l: L | undefined) => Promise<T>): Promise<T> {
    if (this.state !== 'started') {
      pre?.catch(() => undefined);
      return Promise.reject(new DirectoryError(this.state === 'closed' ? 'DIRECTORY_CLOSED' : 'DIRECTORY_NOT_STARTED', `directory ${this.state}`));
    }
    if (pre === undefined && this.queued === 0) return dispatch(undefined).catch(rethrowUnavailable);
    this.queued++;
    const turn = this.chain.then(() => pre);
    // Registered before the chain's continuation: dispatch's synchronous part (every publish) runs first.
    const result = turn.then(dispatch);
    this.chain = turn.then(noop, noop).then(() => {
      this.queued--;
    });
    return result.catch(rethrowUnavailable);
  }

  /**
   * Delivers to `targets` (already filtered): local sessions at once, remote ones by one request per node, all
   * published synchronously before the first await (the ordering guarantee rests on it).
   */
  private async dispatch(targets: readonly SessionAddress[], envelope: Envelope): Promise<DeliveryResult> {
    let targeted = targets.length;
    let accepted = 0;
    const byNode = new Map<string, string[]>();
    for (const t of targets) {
      if (t.node === this.node) {
        if (this.deliverLocal(t.sessionId, envelope)) accepted++;
        continue;
      }
      let ids = byNode.get(t.node);
      if (!ids) byNode.set(t.node, (ids = []));
      ids.push(t.sessionId);
    }
    let failed: unknown;
    const replies = [...byNode].map(([node, ids]) => this.request(node, ids, envelope).then(
      (n) => {
        accepted += n;
      },
      (e: unknown) => {
        // No subscriber: the node is gone (its entries are about to be reaped) — the sessions are not reachable,
        // so they do not count as targeted and the caller stores what it can. A timeout counts as not accepted.
        if (isNoResponders(e)) targeted -= ids.length;
        else {
          failed = e;
          this.log('warn', LogEvent.CLUSTER_ERROR, { operation: 'delivery to a node', node, error: (e as Error).message });
        }
      },
    ));
    await Promise.all(replies);
    // A request failed and our replica went stale meanwhile (our link to NATS went down, or our watch fell behind):
    // this node cannot tell whether the user is online anywhere, so the send is unavailable (a general failure to
    // the sender, nothing stored), as when the record itself cannot be read.
    if (failed !== undefined && !this.fresh && accepted === 0) throw unavailable(failed);
    return { targeted, accepted };
  }

  /** Queues a delivery request for `node` (batched per turn); resolves with how many sessions accepted it. */
  private request(node: string, sessionIds: string[], envelope: Envelope): Promise<number> {
    return this.outbox!.send(node, { sessionIds, envelope });
  }

  /** A batch of delivery requests from another node: each applied in order, one count each in the reply. */
  private onDeliver(msg: Msg): void {
    const counts: number[] = [];
    try {
      const data = msg.data;
      for (const bytes of decodeDeliveryBatch(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))) {
        let accepted = 0;
        try {
          const req = decodeDeliveryRequest(bytes);
          const d = req.envelope.delivery;
          for (const id of req.sessionIds) {
            if (d.kind === 'sign-off' ? this.dropLocal(id, d.reason) : this.deliverLocal(id, req.envelope)) accepted++;
          }
        } catch (e) {
          this.log('warn', LogEvent.CLUSTER_ERROR, { operation: 'decode delivery request', error: (e as Error).message });
        }
        counts.push(accepted);
      }
    } catch (e) {
      this.log('warn', LogEvent.CLUSTER_ERROR, { operation: 'decode delivery batch', error: (e as Error).message });
      return; // no reply: the sender times out on a batch it sent malformed
    }
    this.outbox!.reply(msg, encodeDeliveryCounts(counts));
  }

  private deliverLocal(sessionId: string, envelope: Envelope): boolean {
    if (!this.local.has(sessionId) || !this.endpoint) return false;
    if (envelope.delivery.kind === 'sign-off') return this.dropLocal(sessionId, envelope.delivery.reason);
    try {
      return this.endpoint.deliver(sessionId, envelope);
    } catch {
      return false;
    }
  }

  /** Forgets a local session and signs it off; true when it was still ours (so exactly one sign-off is sent). */
  private dropLocal(sessionId: string, reason: number): boolean {
    if (!this.local.delete(sessionId)) return false;
    try {
      this.endpoint?.deliver(sessionId, { delivery: { kind: 'sign-off', reason } });
    } catch {
      // the endpoint must not throw; a broken one must not break the directory either
    }
    return true;
  }

  /**
   * The user of a session. One of this node's sessions that is no longer in `local` was dropped when its entry was
   * removed (displaced by a sign-on, or lost by its node), so it has none: undefined without a search. Only another
   * node's session is searched for, in the replica.
   */
  private userOf(address: SessionAddress): string | undefined {
    if (address.node === this.node) return this.local.get(address.sessionId)?.user;
    for (const [u, list] of this.replica) if (list.some((e) => sameSession(e.address, address))) return u;
    return undefined;
  }

  /**
   * Resolves once `revision` (a write this node made; undefined: none) is in this node's replica and every live
   * node has answered that it is in theirs, or did not answer within the request timeout (a node cut off from NATS
   * or stalled is not waited for longer). Never rejects: the write itself has succeeded. Replicas apply revisions in
   * order, so one wait for the latest of several writes covers them all.
   */
  private async propagated(revision: number | undefined): Promise<void> {
    if (revision === undefined || !this.rpc) return;
    const rev = encodeSeenRequest(revision);
    await Promise.all([
      this.waitSeen(revision, this.requestTimeoutMs),
      ...this.liveness.liveNodes().map((n) => this.rpc!.call(this.conn.subject('seen', n), rev, this.requestTimeoutMs).then(noop, noop)),
    ]);
  }

  /**
   * Another node's write: answered (empty) once this node's replica holds that revision — or at once while the
   * replica is not fresh, since sends read the stream then (the revision is owed: {@link catchUp} does not trust
   * the replica again before it holds it); unanswered after the timeout.
   */
  private onSeenRequest(msg: Msg): void {
    const revision = decodeSeenRequest(msg.data);
    if (revision === undefined) return;
    if (!this.fresh) {
      this.owedSeen = Math.max(this.owedSeen, revision);
      msg.respond();
      return;
    }
    void this.waitSeen(revision, this.requestTimeoutMs).then((ok) => {
      if (ok || !this.fresh) msg.respond();
    });
  }

  /**
   * Resolves true once the replica has applied `revision`, false after `timeoutMs` (or when the directory closes
   * first). A watch that far behind is not trusted for sends until it has caught up (`stale`, then `catchUp`).
   */
  private waitSeen(revision: number, timeoutMs: number): Promise<boolean> {
    if (this.seen >= revision) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        cancel();
        if (this.fresh && this.state === 'started') {
          this.log('warn', LogEvent.CLUSTER_ERROR, { operation: 'directory watch behind; sends read the stream until it catches up', revision, seen: this.seen });
          this.stale();
          void this.catchUp();
        }
        resolve(false);
      }, timeoutMs);
      const cancel = this.seenWaiters.add(revision, () => { clearTimeout(timer); resolve(this.seen >= revision); });
    });
  }

  /** The replica may fall behind (NATS lost, or the watch ended): sends read the stream until {@link catchUp}. */
  private stale(): void {
    this.fresh = false;
    this.freshEpoch++;
  }

  /** After a reconnect or a restarted watch: once the replica holds every write made meanwhile, sends use it again. */
  private async catchUp(): Promise<void> {
    if (this.catchingUp) return;
    this.catchingUp = true;
    const epoch = this.freshEpoch;
    try {
      // Until the replica holds every write already answered as seen while it was stale (none may be missed then).
      do {
        await this.sync();
      } while (this.seen < this.owedSeen && epoch === this.freshEpoch);
      if (epoch === this.freshEpoch && this.state === 'started' && !this.conn.nc.isClosed() && !this.conn.nc.isDraining()) this.fresh = true;
    } catch {
      // still behind: the next heartbeat tick tries again
    } finally {
      this.catchingUp = false;
    }
  }

  /** Resolves once the replica has applied every write the stream held when this was called, and every owed one. */
  private async sync(): Promise<void> {
    const last = Math.max(await this.records!.lastRevision(), this.owedSeen);
    if (this.seen >= last) return;
    // Bounded: a watch that stopped must not hang every later send queued behind this one.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cancel();
        reject(new DirectoryError('DIRECTORY_UNAVAILABLE', 'the directory watch is behind; try again'));
      }, this.requestTimeoutMs);
      const cancel = this.seenWaiters.add(last, () => { clearTimeout(timer); resolve(); });
    });
  }

  /** Applies the watch; if it ends while the directory runs, watches again from the next revision (after 1 s). */
  private async consumeWatch(w: QueuedIterator<KvWatchEntry>, resumed = false): Promise<void> {
    try {
      // A resumed watch starts after what we applied: everything it brings is new (its isUpdate says otherwise).
      for await (const e of w) this.applyWatched(e, resumed || e.isUpdate);
    } catch (e) {
      if (this.state !== 'closed') this.log('error', LogEvent.CLUSTER_ERROR, { operation: 'directory watch', error: (e as Error).message });
    }
    if (this.state === 'started' || this.state === 'starting') this.stale();
    while (this.state === 'started' || this.state === 'starting') {
      this.log('warn', LogEvent.CLUSTER_ERROR, { operation: 'directory watch ended; watching again', fromRevision: this.seen + 1 });
      await new Promise((r) => setTimeout(r, 1000));
      if (this.state !== 'started') return;
      try {
        this.watcher = await this.records!.watch(this.seen + 1);
        void this.consumeWatch(this.watcher, true);
        void this.catchUp();
        return;
      } catch (e) {
        this.log('error', LogEvent.CLUSTER_ERROR, { operation: 'watch the directory', error: (e as Error).message });
      }
    }
  }

  private applyWatched(e: KvWatchEntry, isNew: boolean): void {
    const user = keyUser(e.key);
    let rec: UserRecord = { sessions: [], changes: [] };
    if (user !== undefined && e.operation === 'PUT' && e.value.length > 0) {
      try {
        rec = decodeUserRecord(e.value);
      } catch (err) {
        this.log('warn', LogEvent.CLUSTER_ERROR, { operation: 'decode directory record', key: e.key, error: (err as Error).message });
      }
    }
    if (user !== undefined) {
      if (rec.sessions.length > 0) this.replica.set(user, rec.sessions);
      else this.replica.delete(user);
      if (e.operation === 'PUT' && rec.sessions.length === 0) this.emptySince.set(user, { revision: e.revision, at: this.now() });
      else this.emptySince.delete(user);
      // Initial values describe old writes: state only, no events.
      if (isNew) {
        for (const c of rec.changes) {
          if (c.removed && c.reason !== undefined && c.entry.address.node === this.node) this.dropLocal(c.entry.address.sessionId, c.reason);
          if (!c.event || !this.endpoint) continue;
          try {
            const lost = c.removed && c.reason === NODE_LOST_REASON && c.entry.address.node !== this.node;
            this.endpoint.presenceChanged({ user, sessions: rec.sessions.map(cloneEntry), changed: cloneEntry(c.entry), removed: c.removed, ...(lost ? { lost } : {}) });
          } catch {
            // must not throw (NodeEndpoint contract); keep the watch alive regardless
          }
        }
      }
    }
    if (e.revision > this.seen) this.seen = e.revision;
    this.seenWaiters.releaseThrough(this.seen);
  }

  private heartbeat(): void {
    if (this.state === 'closed' || this.conn.nc.isClosed()) return;
    if (!this.fresh && this.state === 'started') void this.catchUp();
    try {
      this.conn.nc.publish(this.conn.subject('hb', this.node));
    } catch {
      // reconnecting: the next beat goes out when we are back
    }
  }

  /** If this node is the reaper, removes every entry of nodes that stopped beating, and purges old empty records. */
  private async reap(): Promise<void> {
    if (this.state !== 'started' || !this.liveness.isReaper()) return;
    void this.purgeEmpty();
    const owners = new Map<string, Set<string>>();
    for (const [u, list] of this.replica) {
      for (const e of list) {
        let users = owners.get(e.address.node);
        if (!users) owners.set(e.address.node, (users = new Set()));
        users.add(u);
      }
    }
    for (const node of this.liveness.dead(owners.keys())) {
      if (this.reaping.has(node)) continue;
      this.reaping.add(node);
      const users = [...owners.get(node)!];
      this.log('warn', LogEvent.CLUSTER_NODE_DEAD, { node, users: users.length });
      try {
        // Liveness is re-checked at each write: a node whose heartbeat came back meanwhile keeps its sessions.
        const revisions = await Promise.all(users.map((u) => this.records!.removeWhere(u, (e) => e.address.node === node && !this.liveness.alive(node), NODE_LOST_REASON)));
        await this.propagated(latest(revisions));
      } catch (e) {
        this.log('error', LogEvent.CLUSTER_ERROR, { operation: 'remove a dead node\'s sessions (will retry)', node, error: (e as Error).message });
      } finally {
        this.reaping.delete(node);
      }
    }
  }

  /**
   * Keeps the bucket to the users online now: a record left empty for a while (its departure event long delivered)
   * is purged — only if it is still that revision (`previousSeq`), so a sign-on in between is never lost. A purge
   * marker reads as "no sessions" everywhere.
   */
  private async purgeEmpty(): Promise<void> {
    if (this.purging || this.emptySince.size === 0) return;
    this.purging = true;
    try {
      const due = this.now() - this.purgeEmptyAfterMs;
      for (const [user, { revision, at }] of [...this.emptySince]) {
        if (at > due || this.state !== 'started') continue;
        this.emptySince.delete(user);
        await this.records!.purgeIfUnchanged(user, revision); // false: changed meanwhile, kept
      }
    } finally {
      this.purging = false;
    }
  }

  /** After a long NATS outage: sessions the cluster no longer lists (reaped meanwhile) are signed off. */
  private async recheckLocal(): Promise<void> {
    // Only sessions whose registration the bucket acknowledged: one still being written may not be in the replica
    // yet, and signing it off would turn a sign-on right after the outage into a spurious sign-off.
    const before = [...this.local].filter(([id]) => !this.pending.has(id));
    try {
      await this.sync();
    } catch {
      return;
    }
    for (const [id, e] of before) {
      if (this.local.get(id) !== e || this.pending.has(id)) continue;
      const listed = this.replica.get(e.user)?.some((x) => sameSession(x.address, e.address)) ?? false;
      if (!listed) {
        this.log('warn', LogEvent.CLUSTER_SESSION_LOST, { sessionId: id });
        this.dropLocal(id, NODE_LOST_REASON);
      }
    }
  }

  private async teardown(): Promise<void> {
    this.unlistenStatus?.();
    this.seenWaiters.releaseAll();
    for (const s of this.subs.splice(0)) s.unsubscribe();
    this.outbox?.close();
    this.rpc?.close();
    this.watcher?.stop();
    if (this.ownsConnection) await this.conn.close();
  }
}

const noop = (): void => {};

/** The latest of some write revisions (undefined: no write). */
function latest(revisions: readonly (number | undefined)[]): number | undefined {
  let max: number | undefined;
  for (const r of revisions) if (r !== undefined && (max === undefined || r > max)) max = r;
  return max;
}

function rethrowUnavailable(e: unknown): never {
  throw unavailable(e);
}

/** Envelope filters the sending side applies (the receiving side applies from/capability). */
function wanted(e: SessionEntry, env: Envelope): boolean {
  if (!env.includeNotReady && !e.presence) return false;
  if (env.service !== undefined && e.service !== env.service) return false;
  return !(env.except && sameSession(env.except, e.address));
}

function isNoResponders(e: unknown): boolean {
  return e instanceof RpcError && e.code === 'NO_RESPONDERS';
}
