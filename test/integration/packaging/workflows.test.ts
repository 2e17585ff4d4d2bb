/**
 * The GitHub Actions workflows, checked here because no runner is: actionlint (built from its Go
 * module) accepts every workflow and rejects a broken one; every action is pinned by a full
 * commit SHA with its tag in a comment; CI runs exactly `bash .ci/run`; the release workflow
 * builds both architectures with SBOM and provenance, signs keylessly, pushes the chart to an
 * OCI registry and publishes to npm with provenance, each job holding only the permissions it
 * uses. actionlint runs without shellcheck/pyflakes (`-shellcheck= -pyflakes=`) so its verdict
 * does not depend on what else a machine has installed.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadYaml } from '@kubernetes/client-node';
import { repoRoot } from './support.ts';
import { toolsDir } from './tools.ts';

const workflowsDir = join(repoRoot, '.github/workflows');
const workflowFiles = readdirSync(workflowsDir).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(workflowsDir, f));

interface Step { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }
interface Job { permissions?: Record<string, string>; steps: Step[]; needs?: string | string[] }
interface Workflow { on: Record<string, any>; permissions?: Record<string, string>; jobs: Record<string, Job> }

const load = (name: string) => loadYaml<Workflow>(readFileSync(join(workflowsDir, name), 'utf8'));

let actionlint: string;
before(() => {
  actionlint = join(toolsDir(), 'actionlint');
});

function lint(files: string[]) {
  return spawnSync(actionlint, ['-no-color', '-shellcheck=', '-pyflakes=', ...files], { cwd: repoRoot, encoding: 'utf8' });
}

describe('actionlint', () => {
  it('accepts every workflow', () => {
    assert.ok(workflowFiles.length >= 3, 'ci, release and e2e-kind');
    const r = lint(workflowFiles);
    assert.equal(r.status, 0, `actionlint found problems:\n${r.stdout}${r.stderr}`);
  });

  it('rejects a broken workflow (so the check above can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vo-actionlint-'));
    try {
      const broken = join(dir, 'broken.yml');
      writeFileSync(broken, [
        'on: push',
        'jobs:',
        '  build:',
        '    runs-on: ubuntu-24.04',
        '    needs: no-such-job',
        '    steps:',
        '      - run: echo "${{ steps.nope.outputs.value }}"',
        '',
      ].join('\n'));
      const r = lint([broken]);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /broken\.yml:\d+:\d+: .*no-such-job/);
      assert.match(r.stdout, /property "nope" is not defined/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

it('every action is pinned by a full commit SHA, with its tag in a comment', () => {
  const bad: string[] = [];
  for (const file of workflowFiles) {
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      const m = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
      if (!m) return;
      const [, ref, rest] = m as unknown as [string, string, string];
      if (ref.startsWith('./') || /^docker:\/\/\S+@sha256:[0-9a-f]{64}$/.test(ref)) return;
      if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(ref) || !/^\s+#\s*v\d+(\.\d+)*\s*$/.test(rest)) bad.push(`${file.slice(repoRoot.length)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(bad, []);
});

it('ci.yml runs exactly `bash .ci/run` on pull requests and pushes to main', () => {
  const wf = load('ci.yml');
  assert.ok('pull_request' in wf.on);
  assert.deepEqual(wf.on.push?.branches, ['main']);
  assert.deepEqual(wf.permissions, { contents: 'read' });
  const runs = Object.values(wf.jobs).flatMap((j) => j.steps.filter((s) => s.run !== undefined).map((s) => s.run!.trim()));
  assert.equal(runs.filter((r) => r.includes('.ci/run')).length, 1);
  assert.ok(runs.includes('bash .ci/run'));
});

describe('release.yml', () => {
  const wf = load('release.yml');
  const steps = Object.values(wf.jobs).flatMap((j) => j.steps);
  const script = steps.map((s) => s.run ?? '').join('\n');

  it('runs on v* tags only', () => {
    assert.deepEqual(Object.keys(wf.on), ['push']);
    assert.deepEqual(wf.on.push, { tags: ['v*'] });
  });

  it('grants nothing by default and each job only what it uses', () => {
    assert.deepEqual(wf.permissions, {});
    const writes: Record<string, string[]> = {};
    for (const [name, job] of Object.entries(wf.jobs)) {
      assert.ok(job.permissions, `job ${name} declares its permissions`);
      writes[name] = Object.entries(job.permissions).filter(([, v]) => v === 'write').map(([k]) => k).sort();
    }
    assert.deepEqual(writes, {
      verify: [],
      image: ['id-token', 'packages'],
      chart: ['id-token', 'packages'],
      npm: ['id-token'],
      'github-release': ['contents'],
    });
  });

  it('builds amd64 and arm64 with buildx, SBOM and provenance, and signs the pushed digest', () => {
    const build = steps.find((s) => s.uses?.startsWith('docker/build-push-action@'));
    assert.ok(build?.with);
    assert.deepEqual(String(build.with.platforms).split(',').sort(), ['linux/amd64', 'linux/arm64']);
    assert.equal(build.with.push, true);
    assert.equal(build.with.sbom, true);
    assert.match(String(build.with.provenance), /^(true|mode=max)$/);
    for (const arg of ['VERSION=', 'REVISION=', 'SOURCE=']) assert.match(String(build.with['build-args']), new RegExp(`^${arg}`, 'm'));
    for (const action of ['docker/setup-qemu-action@', 'docker/setup-buildx-action@', 'sigstore/cosign-installer@']) assert.ok(steps.some((s) => s.uses?.startsWith(action)), action);
    assert.match(script, /cosign sign --yes "\$IMAGE@\$DIGEST"/);
  });

  it('pushes the chart to an OCI registry and publishes to npm with provenance', () => {
    assert.match(script, /helm push \S+ "oci:\/\/\$CHARTS"/);
    assert.match(script, /ghcr\.io/);
    assert.match(script, /^npm publish --provenance\b/m);
  });
});
