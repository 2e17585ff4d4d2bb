/**
 * The image's content, without a Docker engine: scripts/image-content.ts carries out the
 * Dockerfile's own steps (clean `npm ci`, compile, clean `npm ci --omit=dev`, copy dist) into a
 * temp dir, then this test starts what the image would start, as the image's numeric user, from
 * a tree that user cannot write to: `--help`, `controller --help`, the compiled sidecar serving
 * /readyz and the browser client, and `probe` against it.
 * VO_IMAGE_CONTEXT=<dir> builds from another context (e.g. `git archive HEAD | tar -x -C dir`).
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImageContent, imageCommand, type ImageInfo } from '../../../scripts/image-content.ts';
import { generateSigningKey } from '../../../src/core/signature.ts';
import { freePort } from '../../../src/local/control-plane/ports.ts';
import { repoRoot, waitFor } from './support.ts';

let out: string;
let info: ImageInfo;
const children: ChildProcess[] = [];

before(() => {
  out = mkdtempSync(join(tmpdir(), 'vo-image-test-'));
  info = buildImageContent({ out, context: process.env.VO_IMAGE_CONTEXT });
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

it('runs as a numeric non-root user, entrypoint version-observer', () => {
  assert.match(info.user, /^[1-9]\d*:\d+$/);
  assert.deepEqual(info.entrypoint, ['version-observer']);
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
