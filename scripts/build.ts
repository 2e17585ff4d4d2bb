/**
 * `npm run build`: compiles src/ to dist/ (tsc rewrites .ts imports to .js) and bundles the
 * browser client (src/client) into one minified ESM file the sidecar serves.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
function step(label: string, cmd: string, args: string[]): void {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: ${label} failed`);
    process.exit(1);
  }
  console.log(`build: ${label} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

step('tsc', 'node_modules/.bin/tsc', ['-p', 'tsconfig.json']);
if (existsSync(`${root}src/client/index.ts`)) {
  step('client bundle', 'node_modules/.bin/esbuild', [
    'src/client/index.ts', '--bundle', '--minify', '--format=esm', '--target=es2020',
    '--outfile=dist/client/version-observer.js',
  ]);
}
