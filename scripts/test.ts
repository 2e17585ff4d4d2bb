/**
 * The one test command (`npm test`): typecheck, build, make sure the control-plane binaries
 * and lint tools exist, then unit tests, then integration tests (real local control plane,
 * real browser).
 * Prints how long each phase took. Exits non-zero on the first failing phase.
 *
 *   npm test                 all phases
 *   npm test -- unit         only the named phases (typecheck, build, binaries, unit, integration)
 *   npm test -- integration test/integration/local/cluster.test.ts   one file
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const phaseNames = ['typecheck', 'build', 'binaries', 'unit', 'integration'] as const;
type PhaseName = (typeof phaseNames)[number];
const chosen = args.filter((a): a is PhaseName => (phaseNames as readonly string[]).includes(a));
const files = args.filter((a) => a.endsWith('.ts'));
const run = (name: PhaseName) => chosen.length === 0 || chosen.includes(name);

const testFlags = ['--test', '--test-reporter=spec', '--test-timeout=600000'];
const phases: Array<[PhaseName, string[]]> = [
  ['typecheck', ['node_modules/.bin/tsc', '-p', 'tsconfig.check.json']],
  ['build', [process.execPath, 'scripts/build.ts']],
  // Control-plane binaries and helm, then the lint tools (actionlint, helm-docs): both cached.
  ['binaries', ['bash', '-c', 'bash scripts/build-binaries.sh && bash scripts/build-tools.sh']],
  ['unit', [process.execPath, ...testFlags, ...(files.length ? files.filter((f) => f.includes('/unit/')) : ['test/unit/**/*.test.ts'])]],
  ['integration', [process.execPath, ...testFlags, '--test-concurrency=1', ...(files.length ? files.filter((f) => !f.includes('/unit/')) : ['test/integration/**/*.test.ts'])]],
];

const timings: string[] = [];
let failed = false;
for (const [name, cmd] of phases) {
  if (!run(name)) continue;
  if ((name === 'unit' || name === 'integration') && cmd.length === 1 + testFlags.length + (name === 'integration' ? 1 : 0)) continue;
  const t0 = performance.now();
  console.log(`\n=== ${name}: ${cmd.join(' ')}`);
  const [bin, ...rest] = cmd as [string, ...string[]];
  const r = spawnSync(bin, rest, { cwd: root, stdio: ['ignore', name === 'binaries' ? 'ignore' : 'inherit', 'inherit'] });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  timings.push(`${name.padEnd(12)} ${secs.padStart(7)} s  ${r.status === 0 ? 'ok' : 'FAILED'}`);
  if (r.status !== 0) {
    failed = true;
    break;
  }
}
console.log(`\n=== phase timings\n${timings.join('\n')}`);
if (!existsSync(root)) process.exit(2);
process.exit(failed ? 1 : 0);
