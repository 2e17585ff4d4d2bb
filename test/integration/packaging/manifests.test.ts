/**
 * manifests/ is the chart rendered with default values; `scripts/render-manifests.sh --check`
 * fails when it is out of date, and this test runs it (and proves the check can fail).
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helmPath, repoRoot, run } from './support.ts';

it('manifests/version-observer.yaml is the chart rendered with default values', async () => {
  const HELM = await helmPath();
  const r = run('bash', ['scripts/render-manifests.sh', '--check'], { env: { HELM } });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
});

it('the check fails on a stale copy and says how to fix it', async () => {
  const HELM = await helmPath();
  const dir = mkdtempSync(join(tmpdir(), 'vo-manifests-'));
  try {
    const stale = join(dir, 'stale.yaml');
    writeFileSync(stale, readFileSync(`${repoRoot}manifests/version-observer.yaml`, 'utf8').replace('replicas: 2', 'replicas: 1'));
    const r = run('bash', ['scripts/render-manifests.sh', '--check'], { env: { HELM, VO_MANIFESTS_FILE: stale } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /out of date: run bash scripts\/render-manifests.sh/);
    assert.match(r.stdout, /-\s+replicas: 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
