/**
 * One backoff step, pure: the delay before retry number `attempt` (1 = after the first
 * failure). Every retry loop of the project (queue, informers, pusher, container restarts,
 * browser reconnects) asks this function; each keeps its own base, cap and jitter kind.
 *
 * Invariants:
 * - The ceiling is min(maxMs, baseMs × 2^(attempt−1)); attempt ≤ 0 counts as 1.
 * - `random` is a draw in [0, 1), injected so callers decide the source and tests are exact;
 *   a non-finite draw counts as 0. The result is a whole number of ms within [0, ceiling].
 * - jitter 'none': the ceiling; 'full': random × ceiling (AWS "full jitter", spreads a herd the
 *   most); 'equal': ceiling/2 + random × ceiling/2 (still grows with every failure).
 */
export type Jitter = 'none' | 'full' | 'equal';

export interface BackoffPolicy {
  /** Ceiling of the first retry, ms. */
  baseMs: number;
  /** Cap of the ceiling, ms. */
  maxMs: number;
  jitter: Jitter;
}

/** The ceiling of retry `attempt` before jitter. */
export function backoffCeilingMs(attempt: number, policy: Pick<BackoffPolicy, 'baseMs' | 'maxMs'>): number {
  const exp = Math.min(Math.max(Math.floor(attempt), 1) - 1, 52);
  return Math.min(policy.maxMs, policy.baseMs * 2 ** exp);
}

/** Delay before retry `attempt` (≥ 1) under `policy`, given a uniform draw in [0, 1). */
export function backoffStep(attempt: number, policy: BackoffPolicy, random: number): number {
  const ceiling = backoffCeilingMs(attempt, policy);
  const r = Number.isFinite(random) ? Math.min(Math.max(random, 0), 1) : 0;
  switch (policy.jitter) {
    case 'none':
      return Math.floor(ceiling);
    case 'full':
      return Math.floor(r * ceiling);
    case 'equal':
      return Math.floor(ceiling / 2 + (ceiling / 2) * r);
  }
}
