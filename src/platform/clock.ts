/**
 * Time, injected so unit tests can step it (client-go keeps a clock field): the elector, the
 * work queue, the pusher, the informers and the controller read time only through a Clock.
 * Invariants: `sleep` never rejects; it resolves after `ms` or as soon as `signal` aborts,
 * whichever comes first, and leaves no timer behind once resolved. A Timer's callback runs at
 * most once, never after `cancel()`.
 */
export interface Clock {
  /** Local wall time, ms since the epoch. */
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Uniform in [0, 1), for jitter. */
  random(): number;
  /**
   * Optional: runs `fn` once after `ms`. The real one does not keep the process alive (a pending
   * retry, resync or requeue is never a reason to stay up). Call it through `startTimer`, which
   * falls back to `sleep` for clocks without it.
   */
  timer?(ms: number, fn: () => void): Timer;
}

/** A pending callback. `cancel()` is idempotent and does nothing once the callback ran. */
export interface Timer {
  cancel(): void;
}

/** Runs `fn` once after `ms` on `clock`, unless cancelled first. */
export function startTimer(clock: Clock, ms: number, fn: () => void): Timer {
  if (clock.timer) return clock.timer(ms, fn);
  const ctl = new AbortController();
  void clock.sleep(ms, ctl.signal).then(() => {
    if (!ctl.signal.aborted) fn();
  });
  return { cancel: () => ctl.abort() };
}

export const realClock: Clock = Object.freeze({
  now: () => Date.now(),
  random: () => Math.random(),
  timer(ms: number, fn: () => void): Timer {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
    });
  },
});
