/**
 * The npm face of the client, checked without building: package.json's subpath exports point
 * at what tsc emits from src/client (each `./dist/client/<name>.js` and `.d.ts` from an existing
 * `src/client/<name>.ts`), the frameworks are optional peers and never dependencies, and the
 * build's declaration rewrite turns relative `.ts` specifiers into `.js` and leaves others be.
 * test/integration/browser/package.test.ts packs and installs the real thing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { declarationsWithJsSpecifiers } from '../../../scripts/build.ts';

const root = new URL('../../../', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));

test('each subpath export is a module tsc emits from src/client, with its declarations', () => {
  for (const subpath of ['./client', './react', './vue', './svelte', './chunk-errors']) {
    const { types, default: code } = manifest.exports[subpath];
    const source = /^\.\/dist\/client\/([\w-]+)\.js$/.exec(code)?.[1];
    assert.ok(source && existsSync(`${root}src/client/${source}.ts`), `${subpath} → ${code}`);
    assert.equal(types, `./dist/client/${source}.d.ts`, subpath);
  }
  assert.equal(manifest.exports['./bundle'], './dist/client/version-observer.js');
  assert.ok(manifest.files.includes('dist'));
  assert.equal(manifest.bin['version-observer'], './dist/cli/main.js');
});

test('the frameworks are optional peer dependencies, never dependencies', () => {
  for (const framework of ['react', 'vue', 'svelte']) {
    assert.ok(manifest.peerDependencies[framework], framework);
    assert.equal(manifest.peerDependenciesMeta[framework].optional, true, framework);
    assert.equal(manifest.dependencies[framework], undefined, framework);
  }
});

test('declarations: relative .ts specifiers become .js; packages and other text stay', () => {
  const before = [
    "import type { AppState } from '../core/app-state.ts';",
    'export { decide } from "./decide.ts";',
    "export type X = import('./observer.ts').PendingUpdate;",
    "import { type ShallowRef } from 'vue';",
    "import x from 'some-package/file.ts';",
    ' * see src/client/core.ts',
  ].join('\n');
  assert.equal(declarationsWithJsSpecifiers(before), [
    "import type { AppState } from '../core/app-state.js';",
    'export { decide } from "./decide.js";',
    "export type X = import('./observer.js').PendingUpdate;",
    "import { type ShallowRef } from 'vue';",
    "import x from 'some-package/file.ts';",
    ' * see src/client/core.ts',
  ].join('\n'));
});
