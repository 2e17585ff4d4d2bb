/**
 * Backoff helpers shared by the informers, the work queue and the pusher.
 *
 * - `exponential(failures)` is the per-item exponential delay (client-go's
 *   ItemExponentialFailureRateLimiter): base × 2^(failures-1), capped.
 * - `jittered(failures)` spreads it: a uniform draw in [delay/2, delay] ("equal jitter"), so a
 *   herd of retries (every pod of an app, every watch after an apiserver restart) never lines up,
 *   yet the delay still grows.
 * The random source is injectable so tests are deterministic.
 */
export interface BackoffOptions {
  /** Delay after the first failure, ms. */
  baseMs: number;
  /** Upper bound, ms. */
  maxMs: number;
  /** Uniform [0, 1) source; default Math.random. */
  random?: () => number;
}

export function exponential(failures: number, o: BackoffOptions): number {
  if (failures <= 0) return 0;
  const exp = Math.min(failures - 1, 52);
  return Math.min(o.maxMs, o.baseMs * 2 ** exp);
}

export function jittered(failures: number, o: BackoffOptions): number {
  const d = exponential(failures, o);
  const r = (o.random ?? Math.random)();
  return Math.round(d / 2 + (d / 2) * r);
}
