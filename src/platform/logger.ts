/**
 * The one logger shape of the project: pino's (fastify's logger is one). Every module that logs
 * takes a `Logger`, so the controller, the sidecar and the local harness all write the same
 * structured JSON lines: an object with the facts first, then a short message.
 *
 * Invariant: every JSON line carries `"level":"<name>"` (a string, as log pipelines and humans
 * expect, not pino's number) and `"time":"<ISO 8601, UTC>"`. `jsonLineOptions` is the one place
 * that says so; fastify's loggers are created from it too (src/sidecar/sidecar.ts).
 */
import { pino, type LoggerOptions as PinoOptions } from 'pino';

type LogFn = (obj: object, msg?: string) => void;

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  /** pino level; default `info`. */
  level?: string;
  /** Fields on every line, e.g. `{ component: 'controller' }`. */
  base?: Record<string, unknown>;
}

/** pino options for our JSON lines: string level, ISO time. Also valid as fastify's `logger` option. */
export function jsonLineOptions(opts: LoggerOptions = {}): PinoOptions {
  return {
    level: opts.level ?? 'info',
    base: opts.base ?? {},
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
}

/** A JSON logger on stdout (pino), for code that has no fastify instance to borrow one from. */
export function createLogger(opts: LoggerOptions = {}, destination?: pino.DestinationStream): Logger {
  return destination ? pino(jsonLineOptions(opts), destination) : pino(jsonLineOptions(opts));
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = createLogger({ level: 'silent' });
