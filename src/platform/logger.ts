/**
 * The one logger shape of the project: pino's (fastify's logger is one). Every module that logs
 * takes a `Logger`, so the controller, the sidecar and the local harness all write the same
 * structured JSON lines: an object with the facts first, then a short message.
 */
import { pino } from 'pino';

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

/** A JSON logger on stdout (pino), for code that has no fastify instance to borrow one from. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino({ level: opts.level ?? 'info', base: opts.base ?? {} });
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = createLogger({ level: 'silent' });
