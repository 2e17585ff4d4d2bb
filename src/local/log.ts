/**
 * Readable sinks for the project's one Logger shape (src/platform/logger.ts) in the local
 * harness. Every module of src/local logs through a `Logger` (facts first, short message,
 * `child({ component })` instead of a text prefix); pino writes those calls as JSON. A person
 * running `npm run cluster` or reading a failed test wants one line per event instead, so these
 * sinks take the same calls and render them as `component: message key=value …`.
 *
 * Invariants: a record carries its bindings, then the call's fields (later keys win), then
 * `level` and `msg`; `debug` is dropped unless the sink's level is 'debug', as pino does at its
 * default level; rendering never throws (values that cannot be shown become `?`).
 */
import type { Logger } from '../platform/logger.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One logged event: bindings and fields, plus its level and message. */
export interface LogRecord {
  level: LogLevel;
  msg: string;
  component?: string;
  [field: string]: unknown;
}

/** The old callback shape of src/local (one text line per event), still accepted where callers pass it. */
export type LineSink = (line: string) => void;

const RANK: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50 };

/** A Logger that hands each record to `onRecord` (tests collect them; the line sink prints them). */
export function recordLogger(onRecord: (record: LogRecord) => void, opts: { level?: LogLevel } = {}): Logger {
  const min = RANK[opts.level ?? 'info'];
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: LogLevel) =>
      (obj: object, msg?: string): void => {
        if (RANK[level] < min) return;
        onRecord({ ...bindings, ...obj, level, msg: msg ?? '' });
      };
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return make({});
}

/** A Logger that writes one readable line per record. */
export function lineLogger(write: LineSink, opts: { level?: LogLevel } = {}): Logger {
  return recordLogger((record) => write(formatLine(record)), opts);
}

/** `component: message key=value …` (fields in the order they were given). */
export function formatLine(record: LogRecord): string {
  const { level: _level, msg, component, ...fields } = record;
  const parts: string[] = [component ? `${component}: ${msg}` : msg];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    parts.push(`${key}=${show(value)}`);
  }
  return parts.join(' ');
}

function show(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  try {
    return JSON.stringify(value) ?? '?';
  } catch {
    return '?';
  }
}

/** A thrown value's message, for the `err` field of a record (the message is the fact; a stack would drown it). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
