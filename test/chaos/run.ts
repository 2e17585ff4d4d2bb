/**
 * `npm run chaos [-- --seed N]`: the full chaos run, through the bench runner so its figures
 * land in docs/benchmarks.md between the `bench:chaos` markers (bench/chaos.bench.ts).
 * Sizes come from test/chaos/options.ts, overridable by CHAOS_* variables.
 */
import { spawnSync } from 'node:child_process';

const root = new URL('../../', import.meta.url).pathname;
const args = process.argv.slice(2);
const i = args.indexOf('--seed');
const env = { ...process.env, ...(i >= 0 && args[i + 1] ? { CHAOS_SEED: args[i + 1] } : {}) };
const r = spawnSync(process.execPath, ['bench/run.ts', 'chaos'], { cwd: root, env, stdio: 'inherit' });
process.exit(r.status ?? 1);
