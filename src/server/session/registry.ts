/**
 * Who is online on this node, and who watches whom. The watcher index maps a screen name to the sessions that
 * have it on a buddy list, so presence fan-out costs O(watchers), not O(sessions).
 */
import { normalizeScreenName } from '../../pki/screen-name.js';
import type { Session } from './session.js';

/** Online sessions keyed by normalized screen name, plus the reverse buddy index. */
export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  private readonly watchers = new Map<string, Set<Session>>();
  private readonly watching = new Map<Session, Set<string>>();

  /** Number of online sessions. */
  get size(): number {
    return this.sessions.size;
  }

  /** The session of a screen name (any format), if online. */
  get(screenName: string): Session | undefined {
    return this.sessions.get(normalizeScreenName(screenName));
  }

  /** The session for a normalized key. */
  byKey(key: string): Session | undefined {
    return this.sessions.get(key);
  }

  /** Registers a session; returns the one it replaces (same screen name), which the caller must sign off. */
  add(session: Session): Session | undefined {
    const old = this.sessions.get(session.key);
    if (old) this.remove(old);
    this.sessions.set(session.key, session);
    return old;
  }

  /** Unregisters a session (no-op when it was already replaced); true when it was the current one. */
  remove(session: Session): boolean {
    this.setWatched(session, NO_KEYS);
    if (this.sessions.get(session.key) !== session) return false;
    this.sessions.delete(session.key);
    return true;
  }

  /** Replaces the set of names `session` watches (its buddy lists), updating the reverse index. */
  setWatched(session: Session, keys: ReadonlySet<string>): void {
    const before: ReadonlySet<string> = this.watching.get(session) ?? NO_KEYS;
    for (const k of before) {
      if (keys.has(k)) continue;
      const set = this.watchers.get(k);
      if (set) {
        set.delete(session);
        if (set.size === 0) this.watchers.delete(k);
      }
    }
    for (const k of keys) {
      if (before.has(k)) continue;
      let set = this.watchers.get(k);
      if (!set) this.watchers.set(k, (set = new Set()));
      set.add(session);
    }
    // Most sessions watch nobody until their buddy list arrives: keep no empty set for them.
    if (keys.size > 0) this.watching.set(session, new Set(keys));
    else this.watching.delete(session);
  }

  /** Sessions that have `key` (normalized) on a buddy list. */
  watchersOf(key: string): ReadonlySet<Session> {
    return this.watchers.get(key) ?? EMPTY;
  }

  /** All sessions. */
  all(): IterableIterator<Session> {
    return this.sessions.values();
  }
}

const EMPTY: ReadonlySet<Session> = new Set();
const NO_KEYS: ReadonlySet<string> = new Set();
