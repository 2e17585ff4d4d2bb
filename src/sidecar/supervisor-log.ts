/**
 * The supervisor's logger: the project's Logger shape (src/platform/logger.ts) writing the same
 * JSON lines the other components write (src/platform/logger.ts: {"level":"info","time":"<ISO>",
 * …bindings,…facts,"msg":…}) with one synchronous
 * write per line, without loading pino: pino costs the supervisor ~3 MiB of anonymous memory
 * and ~8 MiB RSS (measured, docs/benchmarks.md), more than everything else it loads.
 * Invariants: level names and the ISO time are the platform logger's; an Error under any key becomes {type,message,stack}
 * like pino's `err` serializer; a line is never split (one writeSync).
 */
import { writeSync } from 'node:fs';
import type { Logger } from '../platform/logger.ts';

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;
const NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

function plain(value: unknown): unknown {
  return value instanceof Error ? { type: value.name, message: value.message, stack: value.stack } : value;
}

export function createLineLogger(level: string, bindings: Record<string, unknown> = {}, fd = 1): Logger {
  const min = LEVELS[level as keyof typeof LEVELS] ?? LEVELS.info;
  const write = (n: number) => (obj: object, msg?: string): void => {
    if (n < min) return;
    const facts: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) facts[k] = plain(v);
    try {
      writeSync(fd, `${JSON.stringify({ level: NAMES[n], time: new Date().toISOString(), ...bindings, ...facts, ...(msg === undefined ? {} : { msg }) })}\n`);
    } catch {
      // stdout gone (EPIPE): supervising matters more than logging.
    }
  };
  return {
    debug: write(LEVELS.debug),
    info: write(LEVELS.info),
    warn: write(LEVELS.warn),
    error: write(LEVELS.error),
    child: (more) => createLineLogger(level, { ...bindings, ...more }, fd),
  };
}
