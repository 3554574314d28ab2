/**
 * Rate limiting of log lines, so one misbehaving client cannot flood the log with a line per frame:
 *
 * - **Identical events** (same level, event name and encoded fields) are written once; further ones within
 *   `windowMs` are only counted, and when the window closes one line with the same event and fields plus
 *   `repeated: N` is written (N = the occurrences left out).
 * - **Distinct events of one name** (a flood of failed logins with a new screen name each time) are capped at
 *   `maxPerEvent` lines per window; the rest are counted and summarised as one `log.dropped` line
 *   (`dropped: <event>`, `count: N`) when the window closes.
 * - Memory is bounded: at most `maxKeys` remembered lines; past that, new lines count as dropped.
 *
 * The clock is injected; {@link RepeatLimiter.flush} closes windows that have ended (the sink calls it on a timer
 * and on close, tests call it with their own clock).
 */
import { LogEvent, type LogEventName, type LogLevel } from './log.js';

/** Limits for {@link RepeatLimiter}. */
export interface RepeatLimits {
  /** Window length in ms. */
  windowMs: number;
  /** Distinct lines per event name per window. */
  maxPerEvent: number;
  /** Remembered lines (identical-event keys) at most. */
  maxKeys: number;
}

/** Defaults: 10 s windows, 50 distinct lines per event name per window, 10,000 remembered lines. */
export const DEFAULT_REPEAT_LIMITS: RepeatLimits = { windowMs: 10_000, maxPerEvent: 50, maxKeys: 10_000 };

/** Where the limiter writes lines it lets through (fields already encoded). */
export type LineWriter = (level: LogLevel, event: LogEventName, fields: Record<string, unknown>) => void;

interface Repeat {
  level: LogLevel;
  event: LogEventName;
  fields: Record<string, unknown>;
  until: number;
  suppressed: number;
}

interface EventWindow {
  until: number;
  lines: number;
  dropped: number;
}

/** Lets a bounded number of lines through per window; see the module comment. */
export class RepeatLimiter {
  private readonly limits: RepeatLimits;
  private readonly repeats = new Map<string, Repeat>();
  private readonly events = new Map<LogEventName, EventWindow>();
  private nextFlush = 0;

  /** @param write the sink; @param now clock (ms); @param limits overrides */
  constructor(
    private readonly write: LineWriter,
    private readonly now: () => number,
    limits: Partial<RepeatLimits> = {},
  ) {
    this.limits = { ...DEFAULT_REPEAT_LIMITS, ...limits };
  }

  /** Offers one event (fields already encoded); writes it, or counts it for a later summary. */
  offer(level: LogLevel, event: LogEventName, fields: Record<string, unknown>): void {
    const now = this.now();
    if (now >= this.nextFlush) this.flush(now);
    const key = `${level}\u0000${event}\u0000${JSON.stringify(fields)}`;
    const seen = this.repeats.get(key);
    if (seen && now < seen.until) {
      seen.suppressed++;
      return;
    }
    let win = this.events.get(event);
    if (!win || now >= win.until) {
      if (win && win.dropped > 0) this.writeDropped(event, win.dropped);
      win = { until: now + this.limits.windowMs, lines: 0, dropped: 0 };
      this.events.set(event, win);
    }
    if (win.lines >= this.limits.maxPerEvent || (!seen && this.repeats.size >= this.limits.maxKeys)) {
      win.dropped++;
      return;
    }
    win.lines++;
    if (seen) {
      if (seen.suppressed > 0) this.write(level, event, { ...fields, repeated: seen.suppressed });
      seen.until = now + this.limits.windowMs;
      seen.suppressed = 0;
    } else {
      this.repeats.set(key, { level, event, fields, until: now + this.limits.windowMs, suppressed: 0 });
    }
    this.write(level, event, fields);
  }

  /** Closes every window that ended by `now` (all of them with `Infinity`), writing the summaries. */
  flush(now: number = this.now()): void {
    this.nextFlush = Number.isFinite(now) ? now + Math.min(1000, this.limits.windowMs) : 0;
    for (const [key, r] of this.repeats) {
      if (now < r.until) continue;
      this.repeats.delete(key);
      if (r.suppressed > 0) this.write(r.level, r.event, { ...r.fields, repeated: r.suppressed });
    }
    for (const [event, w] of this.events) {
      if (now < w.until) continue;
      this.events.delete(event);
      if (w.dropped > 0) this.writeDropped(event, w.dropped);
    }
  }

  private writeDropped(event: LogEventName, count: number): void {
    this.write('warn', LogEvent.LOG_DROPPED, { dropped: event, count });
  }
}
