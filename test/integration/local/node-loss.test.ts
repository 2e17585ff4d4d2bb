/**
 * Node loss in the local cluster (cluster option nodeLifecycle: kcm's node-lifecycle-controller
 * runs): while the process kubelet's reporting is paused, its own probe sees a readiness change
 * the API does not get; its Lease stays as it was; the node controller marks the node
 * Ready=Unknown and the pod Ready=False after its grace; a pod created meanwhile is bound but not
 * started; the container keeps running. On resume the kubelet re-sends the pod's status — even
 * though it equals the one it last wrote before the pause — renews its Lease, posts a Ready node
 * and starts the new pod.
 *
 * Every "not while paused" is read as a positive fact: an unchanged resourceVersion recorded
 * after the kubelet's own view had changed, a start time after the resume. Bounds come from
 * NODE_MONITOR_GRACE_MS and NODE_LEASE_RENEW_MS (src/local/cluster.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CoordinationV1Api, CoreV1Api, type V1Pod, type V1PodStatus } from '@kubernetes/client-node';
import { NODE_LEASE_RENEW_MS, NODE_MONITOR_GRACE_MS, startCluster, type Cluster } from '../../../src/local/cluster.ts';
import { formatLine, recordLogger, type LogRecord } from '../../../src/local/log.ts';
import { alive, apply, pidOf, waitFor } from '../../support/local-k8s.ts';
import { kubectl } from '../../support/kubectl.ts';

const NS = 'default';
/** The node controller checks every 1 s (components.ts); the rest is a loaded machine's slack. */
const MARK_MARGIN_MS = 10_000;
const records: LogRecord[] = [];
let cluster: Cluster;
let core: CoreV1Api;
let leases: CoordinationV1Api;

before(async () => {
  cluster = await startCluster({ nodeLifecycle: true, logger: recordLogger((r) => records.push(r)) });
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  leases = cluster.kubeConfig.makeApiClient(CoordinationV1Api);
});
after(async () => {
  const pids = cluster?.pids() ?? [];
  await cluster?.stop();
  if (process.env.VO_TEST_LOG) console.log(records.map(formatLine).join('\n'));
  assert.deepEqual(pids.filter(alive), [], 'no process left behind');
});

const pod = (name: string) => `
apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${NS} }
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: version-observer/test-server
    readinessProbe: { httpGet: { path: /healthz, port: 8080 }, periodSeconds: 1, failureThreshold: 1 }`;

const ready = (s: V1PodStatus | undefined) => s?.conditions?.find((c) => c.type === 'Ready')?.status;
const readPod = (name: string): Promise<V1Pod> => core.readNamespacedPod({ namespace: NS, name });
const rv = (o: { metadata?: { resourceVersion?: string } }) => BigInt(o.metadata!.resourceVersion!);
const post = async (p: V1Pod, path: string) => assert.equal((await fetch(`http://${p.status!.podIP}:8080${path}`, { method: 'POST' })).status, 204);

test('a paused kubelet: its changes are held, the node controller marks the node; on resume every status is re-sent', async () => {
  const node = cluster.kubelet!.nodeName;
  const readNode = () => core.readNode({ name: node });
  const readLease = () => leases.readNamespacedLease({ namespace: 'kube-node-lease', name: node });
  // steady: nothing changes on the node while paused, so its status on resume equals the last one
  // written before; flaky: its readiness fails while paused.
  await apply(cluster, `${pod('steady')}\n---\n${pod('flaky')}`);
  const readyPod = (name: string) =>
    waitFor(`${name} Ready in the API`, async () => {
      const p = await readPod(name);
      return ready(p.status) === 'True' ? p : undefined;
    }, 60_000, 200);
  await readyPod('steady');
  await readyPod('flaky');
  await waitFor('the kubelet idle', async () => (await cluster.kubelet!.idle(), true));

  const pausedAt = Date.now();
  await cluster.pauseNodeReporting();
  const leaseAtPause = await readLease();
  const steadyAtPause = await readPod('steady');
  const flakyAtPause = await readPod('flaky');
  const pid = pidOf(steadyAtPause)!;
  assert.ok(pid && alive(pid));

  // A pod created now is bound (the binder stands in for the scheduler) but not started.
  await apply(cluster, pod('late'));
  await waitFor('late bound to the node', async () => (await readPod('late')).spec?.nodeName === node, 30_000, 100);

  // The kubelet's own probe sees flaky's readiness fail; the API keeps the status of before the pause.
  await post(flakyAtPause, '/fail-readiness');
  await waitFor('the kubelet sees flaky not ready', () => {
    const s = cluster.kubelet!.podStatus(NS, 'flaky');
    return ready(s) === 'False' && /readiness probe failed/.test(s!.conditions!.find((c) => c.type === 'Ready')!.message ?? '');
  }, 10_000, 100);
  const flakyWhilePaused = await readPod('flaky');
  const sincePause = Date.now() - pausedAt;
  assert.ok(sincePause < NODE_MONITOR_GRACE_MS - NODE_LEASE_RENEW_MS, `the probe changed ${sincePause} ms into the pause: the node controller may have written already`);
  assert.equal(rv(flakyWhilePaused), rv(flakyAtPause), 'no status write while paused');
  assert.equal(ready(flakyWhilePaused.status), 'True');

  // The node controller marks the silent node, then its pods; not before its grace from the last renewal.
  const marked = await waitFor('the node Ready=Unknown', async () => {
    const c = (await readNode()).status?.conditions?.find((x) => x.type === 'Ready');
    return c?.status !== 'True' ? c : undefined;
  }, NODE_MONITOR_GRACE_MS + MARK_MARGIN_MS, 200);
  const markedAfterMs = Date.now() - pausedAt;
  assert.equal(marked.status, 'Unknown');
  assert.ok(markedAfterMs >= NODE_MONITOR_GRACE_MS - NODE_LEASE_RENEW_MS, `marked ${markedAfterMs} ms after the pause, before the grace`);
  const notReady = (name: string) =>
    waitFor(`${name} Ready=False, written by the node controller`, async () => {
      const p = await readPod(name);
      return ready(p.status) === 'False' ? p : undefined;
    }, 10_000, 100);
  const steadyMarked = await notReady('steady');
  const flakyMarked = await notReady('flaky');
  assert.ok(rv(steadyMarked) > rv(steadyAtPause));
  assert.doesNotMatch(flakyMarked.status!.conditions!.find((c) => c.type === 'Ready')!.message ?? '', /readiness probe failed/, 'the kubelet\'s held status was not written');
  const leaseMarked = await readLease();
  assert.equal(rv(leaseMarked), rv(leaseAtPause), 'the Lease was not renewed while paused');
  assert.equal(pidOf(steadyMarked), pid, 'the container ran on');
  assert.ok(alive(pid));
  assert.equal(cluster.kubelet!.podStatus(NS, 'late'), undefined, 'late not started while paused');

  const resumedAtS = Math.floor(Date.now() / 1000);
  cluster.resumeNodeReporting();

  // steady's status equals the one the kubelet last wrote, but the node controller wrote over it: re-sent all the same.
  const steadyResumed = await readyPod('steady');
  assert.ok(rv(steadyResumed) > rv(steadyMarked));
  assert.equal(pidOf(steadyResumed), pid);
  const flakyResumed = await waitFor('flaky\'s held status written', async () => {
    const p = await readPod('flaky');
    return /readiness probe failed/.test(p.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? '') ? p : undefined;
  }, 10_000, 100);
  assert.ok(rv(flakyResumed) > rv(flakyMarked));
  const late = await readyPod('late');
  const startedAt = new Date(late.status!.startTime as unknown as string | Date);
  assert.ok(startedAt.getTime() / 1000 >= resumedAtS, `late started at ${startedAt.toISOString()}, before the resume`);
  await waitFor('the Lease renewed', async () => rv(await readLease()) > rv(leaseMarked), 10_000, 100);
  await waitFor('the node Ready again', async () => (await readNode()).status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True', 10_000, 100);
  assert.ok(records.some((r) => r.msg === 'reporting resumed' && Number(r.changes) >= 1), 'the held pod change was acted on at the resume');
});

test('a Ready=False written by someone else (the node controller, after a resume) is written over with the kubelet\'s own', async () => {
  await apply(cluster, pod('marked'));
  const readyPod = await waitFor('marked Ready', async () => {
    const p = await readPod('marked');
    return ready(p.status) === 'True' ? p : undefined;
  }, 60_000);
  // What the node lifecycle controller's MarkPodsNotReady does: a status patch of the Ready condition only.
  const conditions = readyPod.status!.conditions!.map((c) => (c.type === 'Ready' ? { ...c, status: 'False', reason: 'NodeNotReady' } : c));
  const r = await kubectl(cluster, ['patch', 'pod', 'marked', '-n', NS, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions } }), '-o', 'json']);
  assert.equal(r.status, 0, r.stderr);
  const marked = JSON.parse(r.stdout) as V1Pod;
  assert.equal(ready(marked.status), 'False');
  const healed = await waitFor('the kubelet writes Ready=True over the foreign Ready=False', async () => {
    const p = await readPod('marked');
    return ready(p.status) === 'True' && rv(p) > rv(marked) ? p : undefined;
  }, 30_000, 100);
  assert.ok(rv(healed) > rv(marked));
});
