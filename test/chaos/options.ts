/**
 * The chaos run's size: the full default (`npm run chaos`), the short one (npm test), and
 * overrides from the environment (CHAOS_SEED, CHAOS_STEPS, CHAOS_APPS, CHAOS_CLIENTS,
 * CHAOS_PODS_MIN, CHAOS_PODS_MAX, CHAOS_PROCS_PER_APP), so a run can be repeated exactly.
 * Invariant: without CHAOS_SEED the seed is drawn fresh and printed by the suite.
 */
import type { ChaosOptions } from './suite.ts';

/** ≥ 200 rollouts: one per step plus one per app at warm-up (and one more per invalid label). */
export const FULL: Omit<ChaosOptions, 'seed'> = { apps: 5, podsMin: 3, podsMax: 6, clients: 2000, procsPerApp: 2, steps: 200 };
/** npm test: bounded, every fault kind once (11 kinds, 11 steps: schedule.ts FAULT_KINDS). */
export const SHORT: Omit<ChaosOptions, 'seed'> = { apps: 2, podsMin: 3, podsMax: 3, clients: 300, procsPerApp: 1, steps: 11 };

export function chaosOptions(base: Omit<ChaosOptions, 'seed'>, env: NodeJS.ProcessEnv = process.env): ChaosOptions {
  const n = (name: string, d: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return d;
    const x = Number(v);
    if (!Number.isSafeInteger(x) || x < 0) throw new Error(`${name}=${v}: not a whole number`);
    return x;
  };
  return {
    seed: n('CHAOS_SEED', Math.floor(Math.random() * 2 ** 31)),
    apps: n('CHAOS_APPS', base.apps),
    podsMin: n('CHAOS_PODS_MIN', base.podsMin),
    podsMax: n('CHAOS_PODS_MAX', base.podsMax),
    clients: n('CHAOS_CLIENTS', base.clients),
    procsPerApp: n('CHAOS_PROCS_PER_APP', base.procsPerApp),
    steps: n('CHAOS_STEPS', base.steps),
  };
}
