/**
 * The real {@link Logger} of `certim server`: pino writing JSON lines to stderr (one object per line: `level`,
 * `time`, `pid`, `event` and the event's fields), or a human-readable single-line form through pino-pretty when
 * stderr is a terminal. Fingerprint fields (`caFingerprint`, `rootFingerprint`, `fingerprint`) are plain lowercase
 * hex in JSON lines and the grouped display form of pki/fingerprint.ts in the pretty form. Every field value is encoded first (log-encode.ts: no control characters, no bytes, no
 * secret-named fields), then rate-limited (log-repeat.ts), then written synchronously so the last lines before a
 * crash are not lost. Only main.ts and the CLI import this module; everything else takes the Logger port (log.ts).
 */
import { pino, type DestinationStream } from 'pino';
import pretty from 'pino-pretty';
import { formatFingerprint } from '../pki/fingerprint.js';
import { encodeLogFields } from './log-encode.js';
import { RepeatLimiter, type RepeatLimits } from './log-repeat.js';
import type { LogFields, LogLevel, Logger } from './log.js';

/** `--log-level` values: the lowest level written, or `silent`. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
/** A `--log-level` value. */
export type LogLevelOption = (typeof LOG_LEVELS)[number];
/** `--log-format` values: `auto` is pretty on a terminal, JSON otherwise. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
/** A `--log-format` value. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Options for {@link createLogSink}. */
export interface LogSinkOptions {
  /** Lowest level written (default `info`). */
  level?: LogLevelOption;
  /** Output form (default `auto`). */
  format?: LogFormat;
  /** Where lines go (default: file descriptor 2, synchronous writes). */
  destination?: DestinationStream;
  /** Whether the destination is a terminal, for `auto` (default `process.stderr.isTTY`). */
  isTty?: boolean;
  /** Clock for the repeat windows (default Date.now). */
  now?: () => number;
  /** Repeat-suppression limits. */
  repeat?: Partial<RepeatLimits>;
}

/** A running log sink. */
export interface LogSink {
  /** The port to hand to the server. */
  readonly log: Logger;
  /** Writes pending repeat summaries whose window ended. */
  flush(): void;
  /** Writes every pending summary and stops the flush timer; the logger stays usable but never summarises again. */
  close(): void;
}

const ORDER: Record<LogLevelOption, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };
/** Keys pino writes itself; a field with one of these names is renamed so it cannot shadow them. */
const RESERVED = new Set(['level', 'time', 'pid', 'hostname', 'event']);

/** True when `v` is a valid `--log-level`. */
export function isLogLevel(v: string): v is LogLevelOption {
  return (LOG_LEVELS as readonly string[]).includes(v);
}

/** True when `v` is a valid `--log-format`. */
export function isLogFormat(v: string): v is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(v);
}

/** Log fields holding a SHA-256 fingerprint: machine hex in JSON lines, shown as people read it in the pretty form. */
const FINGERPRINT_FIELDS = ['caFingerprint', 'rootFingerprint', 'fingerprint'] as const;
const showFingerprint = (v: string | object): string => (typeof v === 'string' ? formatFingerprint(v) : JSON.stringify(v));

/** Builds the sink. */
export function createLogSink(o: LogSinkOptions = {}): LogSink {
  const level = o.level ?? 'info';
  const min = ORDER[level];
  const isTty = o.isTty ?? process.stderr.isTTY === true;
  const prettyForm = o.format === 'pretty' || ((o.format ?? 'auto') === 'auto' && isTty);
  const destination: DestinationStream = prettyForm
    ? pretty({
      destination: o.destination ?? 2,
      sync: true,
      colorize: isTty,
      messageKey: 'event',
      singleLine: true,
      translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
      ignore: 'pid,hostname',
      customPrettifiers: Object.fromEntries(FINGERPRINT_FIELDS.map((k) => [k, showFingerprint])),
    })
    : o.destination ?? pino.destination({ dest: 2, sync: true });
  // A closed stderr (EPIPE) must not take the server down: write errors are dropped, not thrown as events.
  (destination as Partial<NodeJS.EventEmitter>).on?.('error', () => {});
  const out = pino(
    {
      level,
      messageKey: 'event',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  const limiter = new RepeatLimiter((lvl, event, fields) => out[lvl](fields, event), o.now ?? Date.now, o.repeat);
  const timer = setInterval(() => limiter.flush(), 1000);
  timer.unref();

  const log: Logger = (lvl: LogLevel, event, fields?: LogFields) => {
    if (ORDER[lvl] < min) return;
    try {
      const encoded = encodeLogFields(fields ?? {});
      for (const k of Object.keys(encoded)) {
        if (RESERVED.has(k)) {
          encoded[`_${k}`] = encoded[k];
          delete encoded[k];
        }
      }
      limiter.offer(lvl, event, encoded);
    } catch {
      // A logger must never take the server down (e.g. EPIPE on a closed stderr).
    }
  };
  return {
    log,
    flush: () => limiter.flush(),
    close() {
      clearInterval(timer);
      limiter.flush(Number.POSITIVE_INFINITY);
    },
  };
}
