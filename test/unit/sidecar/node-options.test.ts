/**
 * The sidecar's NODE_OPTIONS (SIDECAR_NODE_OPTIONS) is set wherever the sidecar container is
 * described (the chart's NOTES, docs/install.md, the demo's sidecarContainer), and Node accepts it
 * in NODE_OPTIONS (V8 flags outside Node's allowlist make the process refuse to start).
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { SIDECAR_NODE_OPTIONS } from '../../../src/sidecar/config.ts';
import { sidecarContainer } from '../../../src/demo/example-app.ts';

const root = new URL('../../../', import.meta.url);
const snippetValue = (file: string): string | undefined => {
  const text = readFileSync(new URL(file, root), 'utf8');
  return /- name: NODE_OPTIONS[^\n]*\n\s*value: "([^"]*)"/.exec(text)?.[1];
};

it('NOTES.txt and docs/install.md give the sidecar container SIDECAR_NODE_OPTIONS', () => {
  assert.equal(snippetValue('charts/version-observer/templates/NOTES.txt'), SIDECAR_NODE_OPTIONS);
  assert.equal(snippetValue('docs/install.md'), SIDECAR_NODE_OPTIONS);
});

it("the demo's sidecar container sets NODE_OPTIONS", () => {
  const env = sidecarContainer().env ?? [];
  assert.deepEqual(env.filter((e) => e.name === 'NODE_OPTIONS'), [{ name: 'NODE_OPTIONS', value: SIDECAR_NODE_OPTIONS }]);
});

it('Node accepts SIDECAR_NODE_OPTIONS in NODE_OPTIONS', () => {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write("ok")'], { env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: SIDECAR_NODE_OPTIONS }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'ok');
});
