/**
 * The one poll loop of the local harness (start-up checks of the control plane, waiting for a
 * Service to appear in the proxy's cache): ask, and if the answer is not there yet, sleep and
 * ask again until a deadline.
 *
 * Invariants: `check` runs at once and then every `intervalMs` (default 100 ms) after the
 * previous check has finished; an error thrown by `check` ends the poll with that error (a check
 * that should keep going on errors catches them itself); after the deadline the poll rejects
 * with `timeoutError()`, checking once more at or past the deadline first.
 */
import { realClock } from '../platform/clock.ts';

export interface PollOptions {
  timeoutMs: number;
  /** pause between checks; default 100 ms */
  intervalMs?: number;
  timeoutError: () => Error;
}

/** Resolves with the first value `check` returns that is not undefined. */
export async function pollUntil<T>(check: () => T | undefined | Promise<T | undefined>, opts: PollOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw opts.timeoutError();
    await realClock.sleep(opts.intervalMs ?? 100);
  }
}
