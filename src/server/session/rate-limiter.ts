/**
 * Per-connection rate enforcement (docs/protocol.md §3.1): each class keeps a moving average of the milliseconds
 * between SNACs, `new = (old*(W-1) + elapsed)/W` clamped to max. The connection loop asks before dispatch
 * (policy before dispatch), so no handler has to remember, and one client's flood never slows anyone else.
 */
import type { RateClass } from './rate-classes.js';

/** What to do with a SNAC: deliver it, or drop it, or close the connection. */
export type RateVerdict = 'ok' | 'drop' | 'disconnect';

/** Class state transitions the client should hear about as 01/0A (code 2 alert, 3 limited, 4 clear). */
export type RateNotice = 'alert' | 'limited' | 'clear';

/** Live state of one rate class on one connection. */
export interface RateState {
  /** The class parameters. */
  readonly cls: RateClass;
  /** Current moving average (ms). */
  current: number;
  /** Time of the previous SNAC in this class (ms). */
  last: number;
  /** Currently limited (dropping) until the average climbs back to `clear`. */
  limited: boolean;
  /** Currently in the alert band (a warning was sent). */
  alerted: boolean;
}

/** Result of one check. */
export interface RateCheck {
  /** Deliver, drop, or disconnect. */
  verdict: RateVerdict;
  /** A state change the client should be told about, if any. */
  notice?: RateNotice;
  /** The class state after the check (for the 01/0A record). */
  state: RateState;
}

/**
 * The announced classes indexed by id, built once per class list and shared by every connection that uses the list,
 * so a connection carries no copy of the index. Class ids are u16 on the wire (01/07), so every id indexes.
 */
class ClassTable {
  /** Class by id; a repeated id keeps the later class (as a Map.set would). */
  readonly byId: (RateClass | undefined)[] = [];
  /** The first class's id: what an unknown class id is counted against (-1 for an empty list). */
  readonly firstId: number;

  constructor(classes: readonly RateClass[]) {
    for (const cls of classes) {
      if (!isClassId(cls.id)) throw new RangeError(`rate class id ${cls.id} is not a u16`);
      this.byId[cls.id] = cls;
    }
    this.firstId = classes[0]?.id ?? -1;
  }
}

function isClassId(id: number): boolean {
  return Number.isInteger(id) && id >= 0 && id < 0x10000;
}

/** Tables by class list: connections of one server share their list, so they share one table. */
const tables = new WeakMap<readonly RateClass[], ClassTable>();

function tableOf(classes: readonly RateClass[]): ClassTable {
  let t = tables.get(classes);
  if (t === undefined) {
    t = new ClassTable(classes);
    tables.set(classes, t);
  }
  return t;
}

/**
 * One connection's rate classes. A class's state is created on the first SNAC of that class: until then it is
 * exactly the start state (average = max, last = the connection's start), so nothing is lost by waiting, and an
 * idle connection (most of them, most of the time) holds state only for the classes its client has used.
 */
export class RateLimiter {
  private readonly table: ClassTable;
  /** The connection's start time (ms): the `last` of a class's start state. */
  private readonly start: number;
  /**
   * Per used class id, the "ok, nothing to tell" answer (built once, see `check`), whose `state` is the class's live
   * state; allocated on the first check.
   */
  private slots: (RateCheck | undefined)[] | undefined;

  /** @param classes the announced classes; @param now the connection's start time (ms). */
  constructor(classes: readonly RateClass[], now: number) {
    this.table = tableOf(classes);
    this.start = now;
  }

  private startState(cls: RateClass): RateState {
    return { cls, current: cls.max, last: this.start, limited: false, alerted: false };
  }

  /** The live slot of class `classId`, created on first use; unknown ids count against the first class. */
  private slot(classId: number): RateCheck | undefined {
    const id = isClassId(classId) && this.table.byId[classId] !== undefined ? classId : this.table.firstId;
    const cls = this.table.byId[id];
    if (cls === undefined) return undefined;
    // Sized for the usual small ids (a literal [] would take ~17 slots on the first store): an idle connection keeps it.
    const slots = (this.slots ??= new Array<RateCheck | undefined>(Math.min(this.table.byId.length, 8)));
    let s = slots[id];
    if (s === undefined) slots[id] = s = { verdict: 'ok', state: this.startState(cls) };
    return s;
  }

  /** The state of a class (undefined for unknown ids); a class not used yet shows its start state. */
  state(classId: number): RateState | undefined {
    if (!isClassId(classId)) return undefined;
    const live = this.slots?.[classId];
    if (live !== undefined) return live.state;
    const cls = this.table.byId[classId];
    return cls === undefined ? undefined : this.startState(cls);
  }

  /**
   * Accounts one SNAC of class `classId` at time `now` (ms) and says what to do with it. The plain "ok" answer is
   * the same object for every SNAC of a class (no allocation per SNAC): treat results as read-only.
   */
  check(classId: number, now: number): RateCheck {
    const ok = this.slot(classId);
    const state = ok?.state;
    if (!ok || !state) return { verdict: 'ok', state: { cls: { id: 0, window: 1, clear: 0, alert: 0, limit: 0, disconnect: 0, max: 0 }, current: 0, last: now, limited: false, alerted: false } };
    const { cls } = state;
    const elapsed = Math.max(0, now - state.last);
    state.last = now;
    state.current = Math.min(cls.max, Math.floor((state.current * (cls.window - 1) + elapsed) / cls.window));
    if (state.current < cls.disconnect) return { verdict: 'disconnect', state };
    if (state.limited) {
      if (state.current >= cls.clear) {
        state.limited = false;
        state.alerted = false;
        return { verdict: 'ok', notice: 'clear', state };
      }
      return { verdict: 'drop', state };
    }
    if (state.current < cls.limit) {
      state.limited = true;
      return { verdict: 'drop', notice: 'limited', state };
    }
    if (state.current < cls.alert) {
      if (!state.alerted) {
        state.alerted = true;
        return { verdict: 'ok', notice: 'alert', state };
      }
      return ok;
    }
    if (state.alerted && state.current >= cls.clear) {
      state.alerted = false;
      return { verdict: 'ok', notice: 'clear', state };
    }
    return ok;
  }
}
