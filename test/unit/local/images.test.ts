import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultImages, findRunner, imageCli, parseImage } from '../../../src/local/images.ts';

test('parseImage handles registry ports, tags and digests', () => {
  assert.deepEqual(parseImage('version-observer/test-server:1.0'), { repo: 'version-observer/test-server', tag: '1.0' });
  assert.deepEqual(parseImage('localhost:5000/a/b'), { repo: 'localhost:5000/a/b', tag: '' });
  assert.deepEqual(parseImage('ghcr.io/x/y:v2@sha256:abc'), { repo: 'ghcr.io/x/y', tag: 'v2' });
});

test('exact tag first, then the repository; unknown images have no runner', () => {
  const a = () => ({ command: 'a', args: [] });
  const b = () => ({ command: 'b', args: [] });
  const m = { 'x/y:1': a, 'x/y': b };
  assert.equal(findRunner(m, 'x/y:1'), a);
  assert.equal(findRunner(m, 'x/y:2'), b);
  assert.equal(findRunner(m, 'x/y'), b);
  assert.equal(findRunner(m, 'x/z:1'), undefined);
});

test('default images run under this node; the CLI image strips its entrypoint', () => {
  const m = defaultImages();
  const launch = { image: '', env: {}, podIP: '127.1.0.1', podName: 'p', namespace: 'n' };
  const ts = findRunner(m, 'version-observer/test-server:1.0.0')!(launch);
  assert.equal(ts.command, process.execPath);
  assert.match(ts.args[0]!, /src\/local\/fixtures\/test-server\.ts$/);
  const cli = findRunner(m, 'ghcr.io/version-observer/version-observer:0.1.0')!({ ...launch, command: ['version-observer'], args: ['controller', '--x'] });
  assert.deepEqual(cli.args.slice(1), ['controller', '--x']);
  assert.equal(cli.args[0], imageCli(), 'the image form when built and fresh, else the sources');
  assert.ok(findRunner(m, 'version-observer/example-spa:1'));
});

test('imageCli runs the built image form only when it is newer than every source file', () => {
  const root = mkdtempSync(join(tmpdir(), 'vo-image-cli-'));
  try {
    mkdirSync(join(root, 'src/cli'), { recursive: true });
    writeFileSync(join(root, 'src/cli/main.ts'), '');
    assert.equal(imageCli(root), join(root, 'src/cli/main.ts'), 'not built: the sources');
    mkdirSync(join(root, 'dist/cli'), { recursive: true });
    writeFileSync(join(root, 'dist/cli/main.js'), '');
    const t = Date.now() / 1000;
    utimesSync(join(root, 'src/cli/main.ts'), t - 60, t - 60);
    utimesSync(join(root, 'dist/cli/main.js'), t, t);
    assert.equal(imageCli(root), join(root, 'dist/cli/main.js'), 'built after the last edit: the image form');
    utimesSync(join(root, 'src/cli/main.ts'), t + 60, t + 60);
    assert.equal(imageCli(root), join(root, 'src/cli/main.ts'), 'edited since the build: the sources, never stale');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
