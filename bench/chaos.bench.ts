/**
 * The chaos suite at its default size (test/chaos/options.ts FULL, ≥ 200 rollouts): figures
 * for docs/benchmarks.md. `npm run chaos` runs it; CHAOS_* variables size a shorter run, and the
 * section then says so. Fails (no figures written) when a violation is found.
 */
import type { BenchResult } from './run.ts';
import { chaosOptions, FULL } from '../test/chaos/options.ts';
import { figures, runChaos } from '../test/chaos/suite.ts';

export async function run(): Promise<BenchResult> {
  const o = chaosOptions(FULL);
  const r = await runChaos(o);
  const full = o.steps >= FULL.steps && o.apps >= FULL.apps && o.clients >= FULL.clients;
  const markdown = `${full ? '' : `_A shorter run than the default (${o.steps} steps, ${o.apps} apps, ${o.clients} clients): the default is \`npm run chaos\` with no CHAOS_* variables._\n\n`}${figures(r)}\n\nWhat is injected and checked, and how the bound is derived: docs/chaos.md.`;
  if (r.violations.length > 0) {
    console.error(markdown);
    throw new Error(`${r.violations.length} violations (seed ${r.seed})`);
  }
  return { title: 'Chaos: rollouts under faults (never early, never missed, never twice, no leak)', markdown };
}
