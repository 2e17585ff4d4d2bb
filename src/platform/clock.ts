/**
 * Time for the elector, injected so unit tests can step it (client-go keeps a clock field).
 * Invariants: `sleep` never rejects; it resolves after `ms` or as soon as `signal` aborts,
 * whichever comes first, and leaves no timer behind once resolved.
 */
export interface Clock {
  /** Local wall time, ms since the epoch. */
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Uniform in [0, 1), for jitter. */
  random(): number;
}

export const realClock: Clock = Object.freeze({
  now: () => Date.now(),
  random: () => Math.random(),
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
