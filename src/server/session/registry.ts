/**
 * The sessions of THIS node, and which of them watch whom. Who is online anywhere is the delivery directory's
 * business (cluster/directory.ts); this index is what a node needs to hand a delivery to a local session (by id)
 * and to fan a presence event out to its local watchers. The watcher index maps a screen name to the local
 * sessions that have it on a buddy list, so fan-out costs O(local watchers), not O(sessions).
 */
import { normalizeScreenName } from '../../pki/screen-name.js';
import type { Session } from './session.js';

/** Local sessions by id and by normalized screen name (several per name), plus the reverse buddy index. */
export class SessionRegistry {
  private readonly byId = new Map<string, Session>();
  private readonly byUser = new Map<string, Session[]>();
  private readonly watchers = new Map<string, Set<Session>>();
  private readonly watching = new Map<Session, Set<string>>();

  /** Number of local sessions. */
  get size(): number {
    return this.byId.size;
  }

  /** The local session with this id. */
  session(id: string): Session | undefined {
    return this.byId.get(id);
  }

  /** Local sessions of a screen name (any format). */
  sessionsOf(screenName: string): readonly Session[] {
    return this.byUser.get(normalizeScreenName(screenName)) ?? NONE;
  }

  /** True when a normalized name has a local session. */
  hasUser(key: string): boolean {
    return this.byUser.has(key);
  }

  /** The most recently signed-on ready local session of a normalized name, if any. */
  readyByKey(key: string): Session | undefined {
    const list = this.byUser.get(key);
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const s = list[i]!;
      if (s.ready && !s.closed) return s;
    }
    return undefined;
  }

  /** Registers a local session (several per screen name are allowed; takeover is the directory's rule). */
  add(session: Session): void {
    this.byId.set(session.id, session);
    const list = this.byUser.get(session.key);
    if (list) list.push(session);
    else this.byUser.set(session.key, [session]);
  }

  /** Unregisters a local session; false when it was not registered. */
  remove(session: Session): boolean {
    this.setWatched(session, NO_KEYS);
    if (this.byId.get(session.id) !== session) return false;
    this.byId.delete(session.id);
    const list = this.byUser.get(session.key);
    if (list) {
      const rest = list.filter((s) => s !== session);
      if (rest.length > 0) this.byUser.set(session.key, rest);
      else this.byUser.delete(session.key);
    }
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

  /** Local sessions that have `key` (normalized) on a buddy list. */
  watchersOf(key: string): ReadonlySet<Session> {
    return this.watchers.get(key) ?? EMPTY;
  }

  /** All local sessions. */
  all(): IterableIterator<Session> {
    return this.byId.values();
  }
}

const EMPTY: ReadonlySet<Session> = new Set();
const NO_KEYS: ReadonlySet<string> = new Set();
const NONE: readonly Session[] = [];
