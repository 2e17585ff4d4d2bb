/**
 * The client as a stranger adopts it: `node scripts/build.ts`, `npm pack` this repository,
 * install the tarball (with React, Vue and Svelte from the registry) into an app in a temporary
 * directory outside the repository, typecheck the app under strict TypeScript against the
 * published types, bundle each binding with esbuild, and run the bundles in Chromium against a
 * real sidecar process: after a signed push of a newer converged version the built-in banner,
 * the React hook, the Vue composable, the Svelte store and the bare script tag
 * (`<script type="module" src="/version/client.js" data-version data-banner>`) all show it.
 * The app's sources are in package-app/ beside this file, named `*.fixture` so that the
 * repository's own typecheck (which has no frameworks) leaves them to this test. Needs the registry (npm install) and
 * /usr/bin/chromium; never skips. Takes 60–80 s here, most of it npm install and tsc.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, launchBrowser } from '../../../src/demo/browser.ts';
import { waitFor } from '../../support/wait.ts';
import { root } from '../sidecar/helpers.ts';
import { startSidecarProcess, type SidecarProcess } from './sidecar-process.ts';

/** The framework versions the stranger's app installs (exact, so the test reads the same types each run). */
const FRAMEWORKS = ['react@19.3.1', 'react-dom@19.3.1', '@types/react@19.3.3', '@types/react-dom@19.3.0', 'vue@3.5.45', 'svelte@5.57.3'];
const CORE_BUDGET = 4096;
/** each binding's entry in package-app/ → the bundle the page loads */
const APPS = { plain: 'plain.ts', react: 'react-app.tsx', vue: 'vue-app.ts', svelte: 'svelte-store.ts' } as const;

/** the npm on PATH (the Node 24 download carries none), as a stranger runs it */
const npm = 'npm';
const workDir = mkdtempSync(join(tmpdir(), 'vo-stranger-'));
const appDir = join(workDir, 'app');
let sidecar: SidecarProcess;
let browser: Browser;

function run(label: string, cmd: string, args: string[], cwd: string, timeoutMs: number): string {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, npm_config_update_notifier: 'false' } });
  assert.equal(r.status, 0, `${label} failed (${r.error ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`);
  console.log(`# ${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return r.stdout;
}

const esbuild = (entry: string, extra: string[] = []): string[] => [
  entry, '--bundle', '--minify', '--format=esm', '--target=es2020', '--log-level=warning', ...extra,
];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`apt-get install -y chromium\` (browser tests never skip)`);
  run('node scripts/build.ts', process.execPath, ['scripts/build.ts'], root, 300_000);
  const packed = JSON.parse(run('npm pack', npm, ['pack', '--json', '--pack-destination', workDir], root, 120_000)) as Array<{ filename: string; size: number; entryCount: number }>;
  const tarball = join(workDir, packed[0]!.filename);
  console.log(`# tarball ${packed[0]!.filename}: ${packed[0]!.size} B, ${packed[0]!.entryCount} files`);
  mkdirSync(appDir);
  const sources = join(root, 'test/integration/browser/package-app');
  for (const name of readdirSync(sources)) copyFileSync(join(sources, name), join(appDir, name.replace(/\.fixture$/, '')));
  writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'stranger-app', private: true, type: 'module' }));
  run('npm install (tarball + frameworks)', npm, ['install', '--no-audit', '--no-fund', tarball, ...FRAMEWORKS], appDir, 240_000);
});

after(async () => {
  await browser?.close();
  await sidecar?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

test('the installed package: each subpath export and its types exist; no framework is a dependency', () => {
  const manifest = JSON.parse(readFileSync(join(appDir, 'node_modules/version-observer/package.json'), 'utf8'));
  for (const subpath of ['./client', './react', './vue', './svelte', './chunk-errors']) {
    const target = manifest.exports[subpath];
    for (const file of [target.types, target.default]) assert.ok(existsSync(join(appDir, 'node_modules/version-observer', file)), `${subpath} → ${file}`);
  }
  assert.ok(existsSync(join(appDir, 'node_modules/version-observer', manifest.bin['version-observer'])), 'the CLI is in the package');
  for (const framework of ['react', 'vue', 'svelte']) {
    assert.equal(manifest.dependencies[framework], undefined);
    assert.equal(manifest.peerDependenciesMeta[framework].optional, true);
  }
});

test('strict TypeScript (bundler and nodenext resolution) accepts the app against the published types (typed events, hook, composable, store)', () => {
  // package-app/plain.ts holds a @ts-expect-error on a detail field that does not exist: were
  // the events untyped, that directive would be unused and tsc would fail.
  run('tsc (strict, moduleResolution bundler, libraries checked too)', join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], appDir, 180_000);
  // Node's resolution reads the exports map's `types` and the declarations' own specifiers
  run('tsc (strict, moduleResolution nodenext)', join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.nodenext.json'], appDir, 180_000);
});

test(`esbuild bundles every binding; the core client, as the app bundles it, is ≤ ${CORE_BUDGET} B min+gzip`, (t) => {
  const bin = join(root, 'node_modules/.bin/esbuild');
  writeFileSync(join(appDir, 'core-only.ts'), "export * from 'version-observer/client';\n");
  run('esbuild core-only', bin, esbuild('core-only.ts', ['--outfile=out/core-only.js']), appDir, 60_000);
  for (const [name, entry] of Object.entries(APPS)) {
    run(`esbuild ${name}`, bin, esbuild(entry, [
      `--outfile=out/${name}.js`, '--jsx=automatic', '--define:process.env.NODE_ENV="production"',
      '--define:__VUE_OPTIONS_API__=false', '--define:__VUE_PROD_DEVTOOLS__=false', '--define:__VUE_PROD_HYDRATION_MISMATCH_DETAILS__=false',
    ]), appDir, 60_000);
  }
  const gz = (name: string): number => gzipSync(readFileSync(join(appDir, `out/${name}.js`)), { level: 9 }).length;
  t.diagnostic(`min+gzip: core ${gz('core-only')} B; apps: ${Object.keys(APPS).map((name) => `${name} ${gz(name)} B`).join(', ')}`);
  assert.ok(gz('core-only') <= CORE_BUDGET, `core ${gz('core-only')} B`);
});

test('in Chromium against a sidecar: the banner, the React hook, the Vue composable, the Svelte store and the script tag show the update after a push', async (t) => {
  const page = (body: string): string => `<!doctype html><meta charset="utf-8"><title>stranger</title><body>${body}</body>`;
  sidecar = await startSidecarProcess((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const name = /^\/(\w+)\.(html|js)$/.exec(url.pathname);
    if (name?.[2] === 'html' && name[1] === 'tag') {
      // the chart NOTES' line, with the WebSocket pointed at the sidecar's port (no Ingress here)
      res.writeHead(200, { 'content-type': 'text/html' }).end(page(`<script type="module" src="/version/client.js" data-version="1.0.0" data-banner data-url="${sidecar.wsUrl}"></script>`));
      return true;
    }
    if (name && name[1]! in APPS) {
      if (name[2] === 'html') res.writeHead(200, { 'content-type': 'text/html' }).end(page(`<div id="root"></div><script type="module" src="/${name[1]}.js"></script>`));
      else res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(join(appDir, `out/${name[1]}.js`)));
      return true;
    }
    return false;
  });
  browser = await launchBrowser();
  await sidecar.pushState({ phase: 'converged', version: '1.0.0', previousVersion: null, change: 'none', serving: { '1.0.0': 3 } });

  const pages = new Map<string, Page>();
  for (const name of [...Object.keys(APPS), 'tag']) {
    const p = await (await browser.newContext()).newPage();
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(String(e)));
    await p.goto(`${sidecar.origin}/${name}.html?ws=${encodeURIComponent(sidecar.wsUrl)}`);
    await waitFor(`${name} connected (${errors.join('; ')})`, () => p.evaluate(async () => {
      if (document.body.dataset.status) return document.body.dataset.status === 'open';
      // the script tag's page: the observer the tag started, from the same module instance
      const served = (await import('/version/client.js' as string)) as { startedObserver: { status: string } | null };
      return served.startedObserver?.status === 'open';
    }), 10_000, 50);
    pages.set(name, p);
  }
  const bannerVersion = (p: Page): Promise<string | null> => p.evaluate(() => {
    const banner = document.querySelector('version-banner') as (HTMLElement & { shownVersion: string | null }) | null;
    const box = banner?.shadowRoot?.querySelector('.b') as HTMLElement | null;
    return box && !box.hidden && box.getBoundingClientRect().height > 0 ? banner!.shownVersion : null;
  });
  for (const p of pages.values()) assert.equal(await bannerVersion(p), null);

  const t0 = performance.now();
  await sidecar.pushState({ phase: 'converged', version: '1.1.0', previousVersion: '1.0.0', change: 'minor', serving: { '1.1.0': 3 } });
  const text = (p: Page): Promise<string> => p.evaluate(() => document.getElementById('root')?.textContent ?? '');
  await Promise.all([
    waitFor('the banner of the plain app', async () => (await bannerVersion(pages.get('plain')!)) === '1.1.0', 10_000, 20),
    waitFor('the typed update listener', async () => (await pages.get('plain')!.evaluate(() => document.body.dataset.update)) === '1.1.0', 10_000, 20),
    waitFor('the React hook', async () => (await text(pages.get('react')!)) === '1.1.0 is out (you have 1.0.0)', 10_000, 20),
    waitFor('the Vue composable', async () => (await text(pages.get('vue')!)) === '1.1.0 is out', 10_000, 20),
    waitFor('the Svelte store', async () => (await text(pages.get('svelte')!)) === '1.1.0 is out', 10_000, 20),
    waitFor('the script tag\'s banner', async () => (await bannerVersion(pages.get('tag')!)) === '1.1.0', 10_000, 20),
  ]);
  t.diagnostic(`push → shown on all five pages in ${(performance.now() - t0).toFixed(0)} ms`);
  for (const p of pages.values()) await p.context().close();
});
