/**
 * Refusal logs that a flood cannot turn into a log flood: per error code, the first event of a
 * window is logged with its peer; the rest of the window is only counted, and the count is
 * folded into the next line of that code. Codes do not share a window, so a flood of one kind
 * of refusal never hides the first line of another. Metrics count every event; this only
 * thins the log.
 */
import type { Logger } from '../platform/logger.ts';

export const LOG_WINDOW_MS = 10_000;

export type RefusalLog = (code: string, peer: string | undefined, message: string) => void;

export function throttledRefusalLog(log: Logger, fields: Record<string, string>, windowMs = LOG_WINDOW_MS, now: () => number = () => performance.now()): RefusalLog {
  const windows = new Map<string, { start: number; folded: number }>();
  return (code, peer, message) => {
    const t = now();
    const w = windows.get(code);
    if (w && t - w.start < windowMs) {
      w.folded++;
      return;
    }
    const folded = w?.folded ?? 0;
    windows.set(code, { start: t, folded: 0 });
    const more = folded > 0 ? ` (and ${folded} more in the previous ${windowMs / 1000} s)` : '';
    log.info({ ...fields, code, peer: peer ?? null, folded }, `${message}${more}`);
  };
}
