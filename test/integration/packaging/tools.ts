/**
 * The lint tools the packaging tests run (actionlint, helm-docs), built from their Go modules at
 * the versions scripts/build-tools.sh pins. The script returns at once when they are cached, so
 * every test file may ask; a failed build fails the asking test with the script's output.
 */
import { spawnSync } from 'node:child_process';
import { repoRoot } from './support.ts';

let cached: string | undefined;

/** The directory holding `actionlint` and `helm-docs`. */
export function toolsDir(): string {
  if (cached) return cached;
  const r = spawnSync('bash', ['scripts/build-tools.sh'], { cwd: repoRoot, encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0) throw new Error(`scripts/build-tools.sh exited ${r.status ?? r.signal}\n${r.stderr}`);
  cached = r.stdout.trim().split('\n').pop()!;
  return cached;
}
