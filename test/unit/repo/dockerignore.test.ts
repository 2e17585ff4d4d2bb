/**
 * The build-context filter scripts/image-content.ts applies must be Docker's (moby's pattern
 * matcher, via @balena/dockerignore), not gitignore's: patterns are anchored at the context
 * root, `*` does not cross `/`, `**` does, the last matching rule wins, and a rule on a
 * directory covers everything under it. Then: the repository's own .dockerignore lets in
 * exactly what the Dockerfile copies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dockerignore } from '../../../scripts/image-content.ts';

const root = new URL('../../../', import.meta.url).pathname;

test('Docker semantics, where they differ from .gitignore', () => {
  const ignored = dockerignore(['# comment', 'build', '*.log', 'docs/**/*.png', '!docs/keep/logo.png', 'tmp/'].join('\n'));
  assert.equal(ignored('build'), true);
  assert.equal(ignored('build/out.js'), true, 'a rule on a directory covers its content');
  assert.equal(ignored('src/build'), false, 'anchored at the root (gitignore would match at any depth)');
  assert.equal(ignored('app.log'), true);
  assert.equal(ignored('logs/app.log'), false, '`*` does not cross `/`');
  assert.equal(ignored('docs/a/b/shot.png'), true, '`**` crosses directories');
  assert.equal(ignored('docs/keep/logo.png'), false, 'the last matching rule wins');
  assert.equal(ignored('tmp/x'), true, 'a trailing slash is dropped');
  assert.equal(ignored('# comment'), false);
});

test("the repository's .dockerignore lets in what the Dockerfile copies, and no test or secret", () => {
  const ignored = dockerignore(readFileSync(`${root}.dockerignore`, 'utf8'));
  for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'scripts/build.ts', 'src/cli/main.ts', 'src/sidecar/cli.ts']) assert.equal(ignored(p), false, p);
  for (const p of ['src/core/order.test.ts', 'node_modules/fastify/package.json', 'test/unit/repo/dockerignore.test.ts', '.git/config', 'dist/cli/main.js', 'scripts/test.ts', '.env']) assert.equal(ignored(p), true, p);
});
