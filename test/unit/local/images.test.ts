import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultImages, findRunner, parseImage } from '../../../src/local/images.ts';

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
  assert.match(cli.args[0]!, /src\/cli\/main\.ts$/);
  assert.ok(findRunner(m, 'version-observer/example-spa:1'));
});
