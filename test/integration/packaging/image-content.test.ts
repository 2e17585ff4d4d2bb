/**
 * The image's content, without a Docker engine: scripts/image-content.ts carries out the
 * Dockerfile's own steps (clean `npm ci`, compile, clean `npm ci --omit=dev`, copy dist) into a
 * temp dir, then this test starts what the image would start, as the image's numeric user, from
 * a tree that user cannot write to: `--help`, `controller --help`, the compiled sidecar serving
 * /readyz and the browser client, and `probe` against it.
 * The runtime base is distroless: the emulation stands it in with the node binary alone and
 * refuses RUN there, so the tree checked here is exactly what the Dockerfile copies plus node —
 * no shell, no npm, no development commands. What the emulation cannot show (the real base's
 * own files) rests on the digest-pinned distroless base, which this test also checks.
 * VO_IMAGE_CONTEXT=<dir> builds from another context (e.g. `git archive HEAD | tar -x -C dir`).
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImageContent, imageCommand, type ImageInfo } from '../../../scripts/image-content.ts';
import { generateSigningKey } from '../../../src/core/signature.ts';
import { freePort } from '../../../src/local/control-plane/ports.ts';
import { repoRoot, waitFor } from './support.ts';

let out: string;
let info: ImageInfo;
const children: ChildProcess[] = [];

const BUILD_ARGS = { VERSION: '1.2.3-test', REVISION: '0123456789abcdef0123456789abcdef01234567' };

before(() => {
  out = mkdtempSync(join(tmpdir(), 'vo-image-test-'));
  info = buildImageContent({ out, context: process.env.VO_IMAGE_CONTEXT, buildArgs: BUILD_ARGS });
  for (let p = out; p !== tmpdir(); p = join(p, '..')) spawnSync('chmod', ['0755', p]);
});

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (out) rmSync(out, { recursive: true, force: true });
});

function runImage(argv: string[], env: Record<string, string> = {}) {
  const c = imageCommand(info, argv, env);
  return spawnSync(c.command, c.args, { cwd: c.cwd, env: c.env, encoding: 'utf8', timeout: 30_000 });
}

it('runs as a numeric non-root user, node on the compiled CLI', () => {
  assert.match(info.user, /^[1-9]\d*:\d+$/);
  assert.deepEqual(info.entrypoint, ['/nodejs/bin/node', '/app/dist/cli/main.js']);
  assert.deepEqual(info.exposed.sort(), [8080, 8787, 8788]);
  const r = runImage(info.cmd);
  assert.equal(r.status, 0, r.stderr);
  for (const cmd of ['controller', 'sidecar', 'probe']) assert.match(r.stdout, new RegExp(`^\\s+${cmd}\\s`, 'm'));
});

it('holds production dependencies only, and compiled JavaScript, not TypeScript sources', () => {
  const app = join(info.root, info.workdir);
  const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dep of Object.keys(pkg.dependencies)) assert.ok(existsSync(join(app, 'node_modules', dep)), `${dep} installed`);
  // The lockfile marks every package only devDependencies need with "dev": true.
  const lock = JSON.parse(readFileSync(join(process.env.VO_IMAGE_CONTEXT ?? repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const devOnly = Object.entries(lock.packages).filter(([path, p]) => path && p.dev).map(([path]) => path);
  assert.ok(devOnly.some((p) => p.endsWith('node_modules/typescript')), 'the lockfile marks dev-only packages');
  const present = devOnly.filter((p) => existsSync(join(app, p)));
  assert.deepEqual(present, [], 'dev-only packages must not be in the image');
  const sources: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) sources.push(join(d, e.name));
    }
  };
  walk(join(app, 'dist'));
  assert.deepEqual(sources, []);
  assert.ok(!existsSync(join(app, 'src')) && !existsSync(join(app, 'test')), 'no sources or tests in the image');
});

it('`controller --help` loads the compiled controller', () => {
  const r = runImage(['controller', '--help']);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /--lease-name/);
  assert.match(r.stdout, /--key-secret/);
});

it('the compiled sidecar serves /readyz, /version and the browser client; `probe` sees it', async () => {
  const [port, adminPort] = [await freePort(), await freePort()];
  const c = imageCommand(info, ['sidecar'], {
    VERSION_OBSERVER_APP: 'storefront',
    POD_NAMESPACE: 'shop',
    VERSION_OBSERVER_POD_VERSION: '1.4.0',
    VERSION_OBSERVER_LISTEN_HOST: '127.0.0.1',
    VERSION_OBSERVER_PORT: String(port),
    VERSION_OBSERVER_ADMIN_PORT: String(adminPort),
    VERSION_OBSERVER_PUBLIC_KEY: generateSigningKey().publicKeyBase64,
    VERSION_OBSERVER_LOG_LEVEL: 'warn',
  });
  const child = spawn(c.command, c.args, { cwd: c.cwd, env: c.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let logs = '';
  child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  await waitFor('sidecar /readyz', async () => ((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).ok ? true : undefined), 20_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${logs}`);
  });
  const version = (await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as { app: string; podVersion: string };
  assert.equal(version.app, 'shop/storefront');
  assert.equal(version.podVersion, '1.4.0');
  const client = await fetch(`http://127.0.0.1:${port}/version/client.js`);
  assert.equal(client.status, 200, `the image must carry dist/client/version-observer.js\n${logs}`);
  assert.match(client.headers.get('content-type') ?? '', /javascript/);
  const probe = runImage(['probe', `http://127.0.0.1:${adminPort}/readyz`, '--timeout-ms=5000']);
  assert.equal(probe.status, 0, `${probe.stdout}\n${probe.stderr}`);
  const refused = runImage(['probe', `http://127.0.0.1:${adminPort}/no-such-path`, '--timeout-ms=1000']);
  assert.equal(refused.status, 1);
  child.kill('SIGTERM');
  await new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
});

it('is based on distroless Node 24 pinned by digest, and labelled from the build args', () => {
  assert.match(info.base, /^gcr\.io\/distroless\/nodejs24-debian12(:nonroot)?@sha256:[0-9a-f]{64}$/);
  assert.equal(info.labels['org.opencontainers.image.version'], BUILD_ARGS.VERSION);
  assert.equal(info.labels['org.opencontainers.image.revision'], BUILD_ARGS.REVISION);
  assert.match(info.labels['org.opencontainers.image.source'] ?? '', /^https:\/\/github\.com\/[\w-]+\/version-observer$/);
  assert.equal(info.labels['org.opencontainers.image.licenses'], 'Apache-2.0');
});

it('holds no shell, no package manager and nothing the development commands need', () => {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p.slice(info.root.length));
    }
  };
  walk(info.root);
  const named = (re: RegExp) => files.filter((f) => re.test(f.split('/').pop()!));
  assert.deepEqual(named(/^(sh|bash|dash|ash|busybox)$/), [], 'no shell');
  assert.deepEqual(named(/^(npm|npx|corepack|yarn|pnpm|apt|apt-get|dpkg)$/), [], 'no package manager');
  assert.ok(!files.some((f) => /\/node_modules\/(npm|corepack)\//.test(f)), 'no npm or corepack package');
  assert.deepEqual(files.filter((f) => !f.startsWith('/app/')), ['/nodejs/bin/node'], 'outside /app: the base\'s node only');
  const app = join(info.root, info.workdir);
  for (const dir of ['dist/local', 'dist/demo', 'node_modules/playwright-core']) assert.ok(!existsSync(join(app, dir)), `${dir} is not in the image`);
  for (const cmd of ['cluster', 'demo']) {
    const r = runImage([cmd]);
    assert.notEqual(r.status, 0, `${cmd} must not run in the image`);
    assert.match(r.stderr, new RegExp(`^version-observer ${cmd}: `, 'm'), `${cmd} fails with a one-line message, not a crash\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  }
});

it('the emulation refuses RUN on the distroless base, as the real build would fail there', () => {
  const ctx = mkdtempSync(join(tmpdir(), 'vo-image-norun-'));
  try {
    const base = 'gcr.io/distroless/nodejs24-debian12:nonroot@sha256:' + 'a'.repeat(64);
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${base} AS runtime\nWORKDIR /app\nRUN echo hello > greeting\n`);
    assert.throws(() => buildImageContent({ out: join(ctx, 'out'), context: ctx }), /Dockerfile:3 RUN: stage runtime is based on .* which has no shell/);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
});
