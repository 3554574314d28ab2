/**
 * The logging port of the server (the consumer owns a small interface). Handlers, listeners and
 * the engine call a {@link Logger} with a level, a stable event name from log-events.ts and structured fields;
 * they never import pino. main.ts builds the real one (log-sink.ts: pino, JSON lines or pretty on a TTY, every
 * value encoded, repeats rate-limited); tests pass {@link silentLogger} or a recording fake.
 *
 * Rules for callers: pass facts, not prose; never a password, key, cookie, certificate bytes or message text
 * (the sink redacts fields with such names and never prints bytes, as a second line of defence only).
 */
import type { LogEventName } from './log-events.js';

export { LogEvent, LOG_EVENT_NAMES, type LogEventName } from './log-events.js';

/** Severity, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured fields of one event: names are code-chosen identifiers, values anything (the sink encodes them). */
export type LogFields = Readonly<Record<string, unknown>>;

/** The logging port: one call per event. Must not throw. */
export type Logger = (level: LogLevel, event: LogEventName, fields?: LogFields) => void;

/** A logger that drops everything (the default when none is given). */
export const silentLogger: Logger = () => {};

/** One event as a {@link recordingLogger} kept it. */
export interface LoggedEvent {
  /** Level. */
  level: LogLevel;
  /** Stable event name. */
  event: LogEventName;
  /** Fields as passed. */
  fields: LogFields;
}

/** A logger that appends every event to `into` (tests assert on it). */
export function recordingLogger(into: LoggedEvent[]): Logger {
  return (level, event, fields = {}) => {
    into.push({ level, event, fields });
  };
}

/** The message of an error value, for an `error` field. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
