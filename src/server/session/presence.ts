/**
 * Presence fan-out (PROTOCOL §3.3): arrivals (03/0B) and departures (03/0C) between a user and the sessions
 * watching them, filtered by the user's permit/deny settings. Called by handlers whenever something visible in
 * the user-info block changes (sign-on, away, idle, status, capabilities, certificates, privacy).
 */
import { BUDDY_FAMILY, BuddySubtype, encodeDeparted } from '../../wire/families/buddy.js';
import type { Clock } from '../ports.js';
import { permits } from './privacy.js';
import type { SessionRegistry } from './registry.js';
import type { Session } from './session.js';
import { userInfoBlock } from './user-info-block.js';

const EMPTY_SET: ReadonlySet<string> = new Set();

/** True when `target` lets `viewer` see its presence and receive its IMs. */
export function visibleTo(target: Session, viewerKey: string): boolean {
  return permits(target.privacy, viewerKey, target.privacy.mode === 5 ? target.buddies() : EMPTY_SET);
}

/** Presence is symmetric, as in classic AIM: blocking someone also hides them from you. */
export function mutuallyVisible(a: Session, b: Session): boolean {
  return visibleTo(a, b.key) && visibleTo(b, a.key);
}

/** Presence fan-out over one registry. */
export class Presence {
  /** @param registry online sessions; @param clock time source */
  constructor(
    private readonly registry: SessionRegistry,
    private readonly clock: Clock,
  ) {}

  /** Re-indexes which names `s` watches (after buddy list or feedbag changes). */
  reindex(s: Session): void {
    if (!s.closed) this.registry.setWatched(s, s.buddies());
  }

  /** Sends `s`'s current info to every ready watcher allowed to see it, and departures to those who may not. */
  broadcast(s: Session): void {
    s.touch();
    if (!s.ready || s.closed) return;
    const block = userInfoBlock(s, this.clock.now());
    for (const w of this.registry.watchersOf(s.key)) {
      if (!w.ready || w.closed || w === s) continue;
      if (mutuallyVisible(s, w)) w.link.sendSnac(BUDDY_FAMILY, BuddySubtype.ARRIVED, block);
      else w.link.sendSnac(BUDDY_FAMILY, BuddySubtype.DEPARTED, encodeDeparted(s.screenName));
    }
  }

  /** Tells every ready watcher that `s` left. */
  departed(s: Session): void {
    const body = encodeDeparted(s.screenName);
    for (const w of this.registry.watchersOf(s.key)) {
      if (!w.ready || w.closed || w === s) continue;
      if (mutuallyVisible(s, w)) w.link.sendSnac(BUDDY_FAMILY, BuddySubtype.DEPARTED, body);
    }
  }

  /** Sends `s` an arrival for each of `keys` (default: all its buddies) that is online and visible to it. */
  arrivalsFor(s: Session, keys: Iterable<string> = s.buddies()): void {
    if (!s.ready || s.closed) return;
    const now = this.clock.now();
    for (const k of keys) {
      const b = this.registry.byKey(k);
      if (!b || !b.ready || b.closed || b === s) continue;
      if (mutuallyVisible(b, s)) s.link.sendSnac(BUDDY_FAMILY, BuddySubtype.ARRIVED, userInfoBlock(b, now));
    }
  }

  /** After `s` changed its privacy: re-evaluates both directions (its watchers, and its own buddies). */
  privacyChanged(s: Session): void {
    this.broadcast(s);
    if (!s.ready || s.closed) return;
    const now = this.clock.now();
    for (const k of s.buddies()) {
      const b = this.registry.byKey(k);
      if (!b || !b.ready || b.closed || b === s) continue;
      if (mutuallyVisible(b, s)) s.link.sendSnac(BUDDY_FAMILY, BuddySubtype.ARRIVED, userInfoBlock(b, now));
      else s.link.sendSnac(BUDDY_FAMILY, BuddySubtype.DEPARTED, encodeDeparted(b.screenName));
    }
  }
}
