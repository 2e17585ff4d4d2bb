/**
 * `version-observer demo --once` as CI runs it: the whole story (local cluster, helm install,
 * the example SPA in headless Chromium, rollout, reload, rollback) non-interactively. It must
 * exit 0 and print its success line; its runtime is printed for the record.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const repoRoot = new URL('../../../', import.meta.url).pathname;

test('demo --once exits 0 with its success line and its two screenshots', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'vo-demo-once-'));
  try {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['src/cli/main.ts', 'demo', '--once', '--out', out], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    const seconds = (performance.now() - t0) / 1000;
    t.diagnostic(`demo --once ran ${seconds.toFixed(1)} s`);
    assert.equal(code, 0, `demo --once exited ${code}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
    assert.match(stdout, /^Demo finished\. Screenshots:$/m);
    assert.deepEqual(readdirSync(out).sort(), ['banner-1.0.0.png', 'banner-rollback-0.1.0.png']);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
