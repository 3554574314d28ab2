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

/** One class of one connection: its state and the "ok, nothing to tell" answer, built once (see `check`). */
interface Slot {
  state: RateState;
  ok: RateCheck;
}

/** One connection's rate classes. */
export class RateLimiter {
  /**
   * Indexed by class id (ids are small integers), so a check is one array read rather than a scan through every
   * class's state: with thousands of connections each read of another connection's state is a likely cache miss.
   */
  private readonly byId: (Slot | undefined)[] = [];
  /** The first class: what an unknown class id is counted against. */
  private readonly first: Slot | undefined;

  /** @param classes the announced classes; @param now the connection's start time (ms). */
  constructor(classes: readonly RateClass[], now: number) {
    let first: Slot | undefined;
    for (const cls of classes) {
      const state: RateState = { cls, current: cls.max, last: now, limited: false, alerted: false };
      const slot = { state, ok: { verdict: 'ok' as const, state } };
      // A repeated id replaces the earlier class in place (as a Map.set would).
      if (first === undefined || first.state.cls.id === cls.id) first = slot;
      if (Number.isInteger(cls.id) && cls.id >= 0 && cls.id < 0x10000) this.byId[cls.id] = slot;
    }
    this.first = first;
  }

  private slot(classId: number): Slot | undefined {
    return this.byId[classId];
  }

  /** The state of a class (undefined for unknown ids). */
  state(classId: number): RateState | undefined {
    return this.slot(classId)?.state;
  }

  /**
   * Accounts one SNAC of class `classId` at time `now` (ms) and says what to do with it. The plain "ok" answer is
   * the same object for every SNAC of a class (no allocation per SNAC): treat results as read-only.
   */
  check(classId: number, now: number): RateCheck {
    const slot = this.slot(classId) ?? this.first;
    const state = slot?.state;
    if (!slot || !state) return { verdict: 'ok', state: { cls: { id: 0, window: 1, clear: 0, alert: 0, limit: 0, disconnect: 0, max: 0 }, current: 0, last: now, limited: false, alerted: false } };
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
      return slot.ok;
    }
    if (state.alerted && state.current >= cls.clear) {
      state.alerted = false;
      return { verdict: 'ok', notice: 'clear', state };
    }
    return slot.ok;
  }
}
