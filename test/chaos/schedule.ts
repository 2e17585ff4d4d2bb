/**
 * The chaos schedule, pure and seeded: which app each step rolls out and which fault it injects
 * during that rollout, and how long after the rollout starts. Same seed, same schedule.
 *
 * Invariants: every step starts one rollout (a new version of one app), so a run of N steps is
 * at least N rollouts; when `steps` ≥ the number of kinds, every kind occurs at least once (the
 * first pass is a seeded shuffle of all kinds), the rest are drawn uniformly.
 */

export const FAULT_KINDS = [
  'none',
  'rollback',
  'pause',
  'invalid-label',
  'leader-sigkill',
  'leader-sigterm',
  'apiserver-restart',
  'sidecar-sigkill',
  'pod-delete',
  'node-loss',
  'slow-clients',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Step {
  index: number;
  app: number;
  kind: FaultKind;
  /** ms after the rollout starts that the fault is injected */
  delayMs: number;
}

/** mulberry32: a small, well-mixed 32-bit PRNG; uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function schedule(seed: number, steps: number, apps: number, maxDelayMs = 3000): Step[] {
  const random = seededRandom(seed);
  const pick = (n: number): number => Math.floor(random() * n);
  const first = [...FAULT_KINDS];
  for (let i = first.length - 1; i > 0; i--) {
    const j = pick(i + 1);
    [first[i], first[j]] = [first[j]!, first[i]!];
  }
  const out: Step[] = [];
  for (let i = 0; i < steps; i++) {
    const kind = i < first.length ? first[i]! : FAULT_KINDS[pick(FAULT_KINDS.length)]!;
    out.push({ index: i, app: pick(apps), kind, delayMs: Math.round(random() * maxDelayMs) });
  }
  return out;
}
