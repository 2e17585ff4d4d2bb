/**
 * A failing test leaves no process behind: a child `node --test` run starts a cluster in
 * before(), stops it in after() as every integration test does, runs a pod, then fails. Once the
 * child has exited (non-zero), none of the cluster's processes (etcd, kube-apiserver, the
 * controller-manager, the pod's container) remains, no process anywhere still names the
 * cluster's temp dir on its command line, and the dir is gone.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { alive } from '../../support/local-k8s.ts';

/** Starting a cluster, running a pod and stopping it take well under this even on a loaded host. */
const CHILD_TIMEOUT_MS = 240_000;
const clusterModule = new URL('../../../src/local/cluster.ts', import.meta.url).pathname;
const loggerModule = new URL('../../../src/platform/logger.ts', import.meta.url).pathname;

// The child test: the usual before/after shape, a pod running, then an assertion that fails.
const childTest = (factsPath: string) => `
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { startCluster } from ${JSON.stringify(clusterModule)};
import { silentLogger } from ${JSON.stringify(loggerModule)};

let cluster;
before(async () => {
  cluster = await startCluster({ logger: silentLogger });
});
after(async () => {
  await cluster?.stop();
});

test('fails on purpose with a pod running', async () => {
  const controlPlane = cluster.pids().length;
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'victim' }, spec: { containers: [{ name: 'c', image: 'version-observer/test-server' }] } } });
  for (let i = 0; cluster.pids().length <= controlPlane; i++) {
    if (i > 600) throw new Error('the pod never started');
    await new Promise((r) => setTimeout(r, 100));
  }
  writeFileSync(${JSON.stringify(factsPath)}, JSON.stringify({ pids: cluster.pids(), dir: cluster.dir }));
  assert.equal(1, 2, 'failing on purpose');
});
`;

/** PIDs of live processes whose command line mentions `text`. */
function processesNaming(text: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

test('a failing test with a running cluster leaves no process and no temp dir', async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'vo-teardown-'));
  try {
    const factsPath = join(scratch, 'facts.json');
    // Inside the repo so that '@kubernetes/client-node' resolves from its node_modules.
    const file = join(new URL('../../../', import.meta.url).pathname, `test-results/teardown-child-${process.pid}.test.mjs`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, childTest(factsPath));
    try {
      // Without NODE_TEST_CONTEXT, which would make the child defer to this runner and run nothing.
      const { NODE_TEST_CONTEXT: _, ...env } = process.env;
      const child = spawn(process.execPath, ['--test', '--test-reporter=tap', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      // A teardown that never finishes keeps the child alive: that fails here, not at the suite timeout.
      const hung = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
      clearTimeout(hung);
      assert.equal(signal, null, `the child did not exit within ${CHILD_TIMEOUT_MS} ms after its failing test:\n${output}`);
      assert.notEqual(code, 0, `the child test must fail:\n${output}`);
      assert.match(output, /failing on purpose/, 'it failed at the planted assertion, not earlier');
      assert.ok(existsSync(factsPath), `the child reached its failing assertion:\n${output}`);
      const { pids, dir } = JSON.parse(readFileSync(factsPath, 'utf8')) as { pids: number[]; dir: string };
      assert.ok(pids.length >= 4, `control plane and the pod's container: ${pids.join(', ')}`);
      // The child has exited: its after() must already have stopped everything.
      assert.deepEqual(pids.filter(alive), [], 'no process of the cluster outlives the failing test');
      assert.deepEqual(processesNaming(dir), [], `no process still names ${dir}`);
      assert.equal(existsSync(dir), false, 'the temp dir is removed');
    } finally {
      rmSync(file, { force: true });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
