/**
 * `npm run build`: compiles src/ to dist/ (tsc rewrites .ts imports to .js, in code; this script
 * does it in the client's and core's .d.ts files, which the npm subpath exports
 * `version-observer/client`, `/react`, `/vue`, `/svelte`, `/chunk-errors` point at), bundles the
 * browser client (src/client) into one minified ESM file the sidecar serves, and bundles the
 * sidecar command into one file that replaces tsc's dist/sidecar/cli.js (what
 * `version-observer sidecar` loads). One file instead of ~430 modules keeps ~5 MiB less resident
 * in every sidecar (no per-module loader records, one script instead of hundreds); the code is the
 * same, not minified, so stack traces keep their names. Packages stay resolvable at run time for
 * the optional requires left external (ws's native helpers), which fail as they did before.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** esbuild arguments of the browser client bundle (tests that build the client reuse them). */
export const CLIENT_BUNDLE_ARGS = [
  'src/client/index.ts', '--bundle', '--minify', '--format=esm', '--target=es2020',
  '--outfile=dist/client/version-observer.js',
];

/** esbuild arguments of the sidecar bundle (bench/sidecar.bench.ts builds it the same way). */
export const SIDECAR_BUNDLE_ARGS = [
  'src/sidecar/cli.ts', '--bundle', '--platform=node', '--format=esm', '--target=node22',
  '--outfile=dist/sidecar/cli.js', '--allow-overwrite', '--legal-comments=none', '--log-level=warning',
  '--external:bufferutil', '--external:utf-8-validate',
  // CommonJS dependencies require Node's builtins; an ESM bundle needs a real `require` for that.
  "--banner:js=import { createRequire as __voCreateRequire } from 'node:module'; const require = __voCreateRequire(import.meta.url);",
];

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

/**
 * tsc leaves `from './observer.ts'` as written in the declarations it emits; an app's TypeScript
 * reading the package expects the `.js` of the files beside them. Relative specifiers only.
 */
export function declarationsWithJsSpecifiers(text: string): string {
  return text.replace(/(\bfrom\s+|\bimport\s*\(\s*)(['"])(\.{1,2}\/[^'"]*?)\.ts\2/g, '$1$2$3.js$2');
}

function rewriteDeclarations(dirs: string[]): void {
  for (const dir of dirs) {
    for (const name of readdirSync(`${root}${dir}`)) {
      if (!name.endsWith('.d.ts')) continue;
      const file = `${root}${dir}/${name}`;
      const text = readFileSync(file, 'utf8');
      const rewritten = declarationsWithJsSpecifiers(text);
      if (rewritten !== text) writeFileSync(file, rewritten);
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  step('tsc', 'node_modules/.bin/tsc', ['-p', 'tsconfig.json']);
  rewriteDeclarations(['dist/client', 'dist/core']);
  step('client bundle', 'node_modules/.bin/esbuild', CLIENT_BUNDLE_ARGS);
  step('sidecar bundle', 'node_modules/.bin/esbuild', SIDECAR_BUNDLE_ARGS);
}
