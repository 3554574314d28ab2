/**
 * Presence (docs/protocol.md §3.3): arrivals (03/0B) and departures (03/0C) between a user and the sessions
 * watching them, filtered by both sides' permit/deny settings, across every node of the cluster.
 *
 * - A change of a local session (sign-on, away, idle, status, capabilities, certificates, privacy) is published
 *   to the delivery directory as a {@link PresenceSnapshot} (`broadcast`); the directory hands the resulting
 *   {@link PresenceEvent} to every node, and each node fans it out to its own watchers (`fanOut`).
 * - A user with several sessions is online while any is ready; watchers see the representative session's block
 *   (cluster/directory.ts `representative`), and a departure only when the last session leaves.
 * - At sign-on and after buddy-list or privacy edits a session asks the directory who of its buddies is online
 *   (`arrivalsFor`, one `lookup`).
 */
import { BUDDY_FAMILY, BuddySubtype, encodeDeparted } from '../../wire/families/buddy.js';
import {
  copyNames, NO_SNAPSHOT_NAMES, representative, sameSession, type DeliveryDirectory, type PresenceEvent, type PresenceSnapshot, type PrivacySnapshot, type SessionAddress,
} from '../cluster/directory.js';
import type { Clock } from '../ports.js';
import { permits, privacyFrom, type Privacy } from './privacy.js';
import type { SessionRegistry } from './registry.js';
import type { Session } from './session.js';
import { userInfoBlock } from './user-info-block.js';

const EMPTY_SET: ReadonlySet<string> = new Set();

/** True when `target` lets `viewer` see its presence and receive its IMs. */
export function visibleTo(target: Session, viewerKey: string): boolean {
  return permits(target.privacy, viewerKey, target.privacy.mode === 5 ? target.buddyLookup : EMPTY_SET);
}

/** Presence is symmetric, as in classic AIM: blocking someone also hides them from you. */
export function mutuallyVisible(a: Session, b: Session): boolean {
  return visibleTo(a, b.key) && visibleTo(b, a.key);
}

/** The privacy part of a presence snapshot (buddies only in mode 5, where they decide). */
export function privacySnapshot(s: Session): PrivacySnapshot {
  const p = s.privacy;
  return { mode: p.mode, permit: copyNames(p.permit), deny: copyNames(p.deny), buddies: p.mode === 5 ? copyNames(s.buddies()) : NO_SNAPSHOT_NAMES, changedAt: s.privacyChangedAt };
}

/** A session's presence as the directory carries it. */
export function presenceSnapshot(s: Session, nowMs: number): PresenceSnapshot {
  const p: PresenceSnapshot = {
    screenName: s.screenName, info: userInfoBlock(s, nowMs), at: nowMs, signedOnAt: s.signedOnAt * 1000,
    idle: s.idleSince > 0, away: s.away !== undefined, privacy: privacySnapshot(s),
  };
  // Profile and away text travel with the snapshot, so any node answers 02/05 and 02/15 (docs/protocol.md §3.2).
  if (s.profile !== undefined || s.away !== undefined) {
    p.locate = {};
    if (s.profile !== undefined) p.locate.profile = s.profile;
    if (s.profile !== undefined && s.profileMime !== undefined) p.locate.profileMime = s.profileMime;
    if (s.away !== undefined) p.locate.away = s.away;
    if (s.away !== undefined && s.awayMime !== undefined) p.locate.awayMime = s.awayMime;
  }
  return p;
}

/** A snapshot's privacy, ready for `permits` (one conversion per event, not per watcher). */
class RemotePrivacy {
  private readonly privacy: Privacy;
  private readonly buddies: ReadonlySet<string>;

  constructor(p: PrivacySnapshot) {
    this.privacy = privacyFrom(p.mode, p.permit, p.deny);
    this.buddies = p.mode === 5 ? new Set(p.buddies) : EMPTY_SET;
  }

  /** True when the snapshot's owner lets `viewerKey` see them. */
  lets(viewerKey: string): boolean {
    return permits(this.privacy, viewerKey, this.buddies);
  }
}

/** True when the owner of a presence snapshot lets `viewerKey` see them. */
export function snapshotLets(p: PresenceSnapshot, viewerKey: string): boolean {
  return new RemotePrivacy(p.privacy).lets(viewerKey);
}

/** Presence of this node's sessions, over the delivery directory. */
export class Presence {
  /** Ready sessions (any node) of users who have a session here, as the last presence event said. */
  private readonly readyCounts = new Map<string, number>();

  /** @param registry this node's sessions; @param directory the cluster's directory; @param clock time source; @param onError failures of background publishes */
  constructor(
    private readonly registry: SessionRegistry,
    private readonly directory: DeliveryDirectory,
    private readonly clock: Clock,
    private readonly onError: (what: string, e: unknown) => void = () => {},
  ) {}

  /** Re-indexes which names `s` watches (after buddy list or feedbag changes). */
  reindex(s: Session): void {
    if (!s.closed) this.registry.setWatched(s, s.buddies());
  }

  /**
   * Publishes `s`'s current presence to every node (which send arrivals to watchers allowed to see it, departures
   * to the others). Resolves when the directory took it; the in-process directory fans out before resolving.
   */
  broadcast(s: Session): Promise<void> {
    s.touch();
    if (!s.ready || s.closed) return Promise.resolve();
    return this.directory.update(s.address, presenceSnapshot(s, this.clock.now())).catch((e: unknown) => this.onError('presence update', e));
  }

  /** Marks a privacy change made in `s` (so the user's other sessions adopt it) and re-evaluates presence. */
  privacyEdited(s: Session): Promise<void> {
    s.privacyChangedAt = Math.max(this.clock.now(), s.privacyChangedAt + 1);
    return this.privacyChanged(s);
  }

  /** The user's other local sessions take settings newer than theirs (changed in a session on any node). */
  private adoptPrivacy(user: string, from: SessionAddress, p: PrivacySnapshot): void {
    for (const s of this.registry.sessionsOf(user)) {
      if (s.closed || p.changedAt <= s.privacyChangedAt || sameSession(s.address, from)) continue;
      s.privacy = privacyFrom(p.mode, p.permit, p.deny);
      s.privacyChangedAt = p.changedAt;
      // Equal stamps are not adopted again, so this re-broadcast ends the exchange.
      void this.privacyChanged(s);
    }
  }

  /**
   * How many ready sessions (on any node) the user of a local session has, as of the last presence event; lets a
   * handler skip building a copy for "the user's other sessions" when there are none.
   */
  readySessionCount(key: string): number {
    return this.readyCounts.get(key) ?? 0;
  }

  /** Fans one presence event out to this node's watchers of the user (the directory calls this on every node). */
  fanOut(ev: PresenceEvent): void {
    if (this.registry.hasUser(ev.user)) {
      let ready = 0;
      for (const e of ev.sessions) if (e.presence) ready++;
      this.readyCounts.set(ev.user, ready);
      if (!ev.removed && ev.changed.presence) this.adoptPrivacy(ev.user, ev.changed.address, ev.changed.presence.privacy);
    } else this.readyCounts.delete(ev.user);
    const watchers = this.registry.watchersOf(ev.user);
    if (watchers.size === 0) return;
    const rep = representative(ev.sessions);
    if (rep) {
      const privacy = new RemotePrivacy(rep.presence.privacy);
      const local = rep.address.node === this.directory.node ? this.registry.session(rep.address.sessionId) : undefined;
      // A local representative's block is rebuilt (current idle minutes); a remote one is as it was published.
      const block = local && local.ready && !local.closed ? userInfoBlock(local, this.clock.now()) : rep.presence.info;
      let departed: Uint8Array | undefined;
      for (const w of watchers) {
        if (!w.ready || w.closed || w.key === ev.user) continue;
        if (privacy.lets(w.key) && visibleTo(w, ev.user)) w.link.sendSnac(BUDDY_FAMILY, BuddySubtype.ARRIVED, block);
        else w.link.sendSnac(BUDDY_FAMILY, BuddySubtype.DEPARTED, (departed ??= encodeDeparted(rep.presence.screenName)));
      }
      return;
    }
    // Someone is still signing on (a takeover in progress): no departure, as in classic takeover.
    if (ev.sessions.length > 0) return;
    // The last session left: a departure to those who could see the user (as of its last snapshot, if it had one).
    const last = ev.changed.presence;
    const privacy = last ? new RemotePrivacy(last.privacy) : undefined;
    const body = encodeDeparted(last?.screenName ?? ev.user);
    for (const w of watchers) {
      if (!w.ready || w.closed || w.key === ev.user) continue;
      if ((!privacy || privacy.lets(w.key)) && visibleTo(w, ev.user)) w.link.sendSnac(BUDDY_FAMILY, BuddySubtype.DEPARTED, body);
    }
  }

  /**
   * Sends `s` an arrival for each of `keys` (default: all its buddies) online anywhere and visible to it; with
   * `departures`, a departure for each one that is online but hidden (after a privacy change).
   */
  async arrivalsFor(s: Session, keys: Iterable<string> = s.buddies(), departures = false): Promise<void> {
    if (!s.ready || s.closed) return;
    const wanted: string[] = [];
    for (const k of keys) if (k !== s.key) wanted.push(k);
    if (wanted.length === 0) return;
    const found = await this.directory.lookup(wanted);
    if (!s.ready || s.closed) return;
    const now = this.clock.now();
    for (const [k, entries] of found) {
      const rep = representative(entries);
      if (!rep) continue;
      const local = rep.address.node === this.directory.node ? this.registry.session(rep.address.sessionId) : undefined;
      const visible = new RemotePrivacy(rep.presence.privacy).lets(s.key) && visibleTo(s, k);
      if (visible) s.link.sendSnac(BUDDY_FAMILY, BuddySubtype.ARRIVED, local && local.ready && !local.closed ? userInfoBlock(local, now) : rep.presence.info);
      else if (departures) s.link.sendSnac(BUDDY_FAMILY, BuddySubtype.DEPARTED, encodeDeparted(rep.presence.screenName));
    }
  }

  /** After `s` changed its privacy: re-evaluates both directions (its watchers, and its own buddies). */
  async privacyChanged(s: Session): Promise<void> {
    await this.broadcast(s);
    await this.arrivalsFor(s, s.buddies(), true);
  }
}
