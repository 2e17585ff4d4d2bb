/**
 * The size budget of the core client (`version-observer/client`, src/client/core.ts): its
 * minified ESM bundle (esbuild, as scripts/build.ts bundles the served client), gzipped at
 * level 9, is at most 4096 bytes. The served bundle (src/client/index.ts: the core plus the
 * pure helpers, the chunk-error handler and the script tag's auto-start) is reported beside it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { CLIENT_BUNDLE_ARGS } from '../../../scripts/build.ts';

const root = new URL('../../../', import.meta.url).pathname;
const CORE_BUDGET = 4096;

async function minGzip(entry: string): Promise<number> {
  const target = CLIENT_BUNDLE_ARGS.find((a) => a.startsWith('--target='))!.slice('--target='.length);
  const out = await build({ entryPoints: [`${root}${entry}`], bundle: true, minify: true, format: 'esm', target, write: false, logLevel: 'silent' });
  return gzipSync(out.outputFiles[0]!.contents, { level: 9 }).length;
}

test(`the core client is at most ${CORE_BUDGET} B min+gzip`, async (t) => {
  const core = await minGzip('src/client/core.ts');
  const served = await minGzip('src/client/index.ts');
  t.diagnostic(`core ${core} B, served bundle ${served} B (min+gzip -9)`);
  assert.ok(core <= CORE_BUDGET, `core client ${core} B > ${CORE_BUDGET} B`);
  assert.ok(served > core, 'the served bundle holds the core');
});
