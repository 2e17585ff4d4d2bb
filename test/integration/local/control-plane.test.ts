import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { alive } from '../../support/local-k8s.ts';
import { CoreV1Api } from '@kubernetes/client-node';
import { startCluster, type Cluster } from '../../../src/local/cluster.ts';
import { silentLogger } from '../../../src/platform/logger.ts';


let cluster: Cluster;
before(async () => {
  cluster = await startCluster({ logger: silentLogger });
});
after(async () => {
  await cluster?.stop();
});

test('the cluster answers the system kubectl with its kubeconfig', () => {
  const out = execFileSync('kubectl', ['--kubeconfig', cluster.kubeconfigPath, 'get', 'namespaces', '-o', 'name'], { encoding: 'utf8' });
  assert.match(out, /namespace\/default/);
  assert.match(out, /namespace\/kube-system/);
});

test('the process kubelet registered a Ready node', async () => {
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const nodes = await core.listNode();
  const node = nodes.items.find((n) => n.metadata?.name === cluster.kubelet?.nodeName);
  assert.ok(node, 'node registered');
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  assert.equal(ready?.status, 'True');
});

test('the apiserver can be stopped and started again on the same address', async () => {
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  await cluster.stopApiServer();
  await assert.rejects(core.listNamespace());
  await cluster.startApiServer();
  const ns = await core.listNamespace();
  assert.ok(ns.items.length >= 4);
});

test('stop() leaves no process and no temp dir behind', async () => {
  const pids = cluster.pids();
  const dir = cluster.dir;
  assert.ok(pids.length >= 3, `expected etcd, apiserver and controller manager, got ${pids.length} pids`);
  assert.ok(pids.every(alive));
  await cluster.stop();
  assert.deepEqual(pids.filter(alive), [], 'processes still alive after stop()');
  assert.equal(existsSync(dir), false, 'temp dir removed');
});
