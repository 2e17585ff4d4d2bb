/**
 * The process kubelet under bad input and failure: crashing containers restart with backoff
 * and count restarts; failing readiness takes a pod out of the service proxy; an unknown
 * command, a port already in use, an unresolvable env reference and a probe pointing at
 * nothing each give a clear pod status while the kubelet keeps working; deletion honours the
 * grace period and SIGKILLs a process that ignores SIGTERM, and a final delete that failed while
 * the API server was down is retried until it lands; virtual pods are cheap.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { startCluster, type Cluster } from '../../../src/local/cluster.ts';
import { formatLine, recordLogger, type LogRecord } from '../../../src/local/log.ts';
import { alive, apply, getJson, getPod, getPods, isReady, kubectl, pidOf, waitFor } from '../../support/local-k8s.ts';

const NS = 'default';
const MISSING = '/nonexistent/vo-no-such-binary';
const records: LogRecord[] = [];
let cluster: Cluster;

before(async () => {
  cluster = await startCluster({
    logger: recordLogger((r) => records.push(r)),
    images: { 'test/missing-command': () => ({ command: MISSING, args: ['--serve'] }) },
  });
});
after(async () => {
  const pids = cluster?.pids() ?? [];
  await cluster?.stop();
  if (process.env.VO_TEST_LOG) console.log(records.map(formatLine).join('\n'));
  assert.deepEqual(pids.filter(alive), [], 'no process left behind');
});

const pod = (name: string, spec: string, labels = '') => `
apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${NS}${labels ? `, labels: { ${labels} }` : ''} }
spec:
  terminationGracePeriodSeconds: 2
${spec}`;
const status = (p: V1Pod, c: string) => p.status?.containerStatuses?.find((s) => s.name === c);
const readyCond = (p: V1Pod) => p.status?.conditions?.find((c) => c.type === 'Ready');

test('a container that exits is restarted with backoff and its restartCount rises', async () => {
  await apply(cluster, pod('crasher', `  containers:
  - name: app
    image: version-observer/test-server
    env: [{ name: EXIT_AFTER_MS, value: "200" }]`));
  const p = await waitFor('restartCount >= 2', async () => {
    const p = await getPod(cluster, NS, 'crasher');
    return (status(p, 'app')?.restartCount ?? 0) >= 2 ? p : undefined;
  }, 30_000, 200);
  const s = status(p, 'app')!;
  assert.equal(s.lastState?.terminated?.exitCode, 1);
  assert.match(s.lastState?.terminated?.message ?? '', /EXIT_AFTER_MS/);
  await waitFor('CrashLoopBackOff shown while waiting', async () => {
    const w = status(await getPod(cluster, NS, 'crasher'), 'app')?.state?.waiting;
    return w?.reason === 'CrashLoopBackOff' && /back-off \d+s restarting failed container=app pod=crasher_default/.test(w.message ?? '');
  }, 20_000, 50);
  await kubectl(cluster, ['delete', 'pod', 'crasher', '-n', NS, '--wait=true']);
});

test('a failing liveness probe restarts the container', async () => {
  await apply(cluster, pod('not-alive', `  containers:
  - name: app
    image: version-observer/test-server
    livenessProbe: { tcpSocket: { port: 9999 }, periodSeconds: 1, failureThreshold: 1 }`));
  const s = await waitFor('restarted by liveness', async () => {
    const s = status(await getPod(cluster, NS, 'not-alive'), 'app');
    return (s?.restartCount ?? 0) >= 1 ? s : undefined;
  }, 30_000, 200);
  assert.match(s!.lastState?.terminated?.message ?? '', /failed liveness probe, will be restarted: liveness probe failed: dial tcp 127\.\d+\.\d+\.\d+:9999/);
  await kubectl(cluster, ['delete', 'pod', 'not-alive', '-n', NS, '--wait=true']);
});

test('failing readiness takes the pod out of the service proxy, and passing brings it back', async () => {
  const readyPod = (name: string) =>
    pod(name, `  containers:
  - name: app
    image: version-observer/test-server
    env: [{ name: VERSION, value: "${name}" }]
    readinessProbe: { httpGet: { path: /healthz, port: 8080 }, periodSeconds: 1, failureThreshold: 1 }`, 'app: rd');
  await apply(cluster, readyPod('rd-a') + '\n---\n' + readyPod('rd-b') + `
---
apiVersion: v1
kind: Service
metadata: { name: rd, namespace: ${NS} }
spec:
  selector: { app: rd }
  ports: [{ port: 80, targetPort: 8080 }]
`);
  const url = await cluster.serviceUrl(NS, 'rd');
  const answers = async (n: number) => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) seen.add((await getJson<{ version: string }>(url)).version);
    return [...seen].sort();
  };
  await waitFor('both pods behind the proxy', async () => (await answers(4)).length === 2, 30_000, 200);
  const a = await getPod(cluster, NS, 'rd-a');
  const res = await fetch(`http://${a.status!.podIP}:8080/fail-readiness`, { method: 'POST' });
  assert.equal(res.status, 204);
  await waitFor('rd-a NotReady', async () => readyCond(await getPod(cluster, NS, 'rd-a'))?.status === 'False', 10_000, 100);
  const notReady = readyCond(await getPod(cluster, NS, 'rd-a'))!;
  assert.match(notReady.message ?? '', /readiness probe failed: HTTP probe failed with statuscode: 503/);
  await waitFor('only rd-b answers', async () => JSON.stringify(await answers(6)) === '["rd-b"]', 10_000, 100);
  assert.deepEqual(await answers(10), ['rd-b']);
  await fetch(`http://${a.status!.podIP}:8080/pass-readiness`, { method: 'POST' });
  await waitFor('rd-a back behind the proxy', async () => (await answers(6)).length === 2, 10_000, 100);
  await kubectl(cluster, ['delete', 'pod', 'rd-a', 'rd-b', '-n', NS, '--wait=true']);
});

test('bad input gives a clear pod status and the kubelet keeps working', async () => {
  await apply(cluster, [
    pod('no-command', `  containers:
  - name: app
    image: test/missing-command:1`),
    pod('bad-env', `  containers:
  - name: app
    image: version-observer/test-server
    env: [{ name: X, valueFrom: { configMapKeyRef: { name: no-such-config, key: k } } }]`),
    pod('port-clash', `  containers:
  - name: first
    image: version-observer/test-server
  - name: second
    image: version-observer/test-server`),
    pod('probe-nowhere', `  containers:
  - name: app
    image: version-observer/test-server
    readinessProbe: { httpGet: { path: /healthz, port: 9999 }, periodSeconds: 1, failureThreshold: 1 }`),
  ].join('\n---\n'));

  const noCmd = await waitFor('RunContainerError', async () => {
    const w = status(await getPod(cluster, NS, 'no-command'), 'app')?.state?.waiting;
    return w?.reason === 'RunContainerError' ? w : undefined;
  }, 20_000, 100);
  assert.match(noCmd.message ?? '', new RegExp(`executable file not found: "${MISSING}"`));

  const badEnv = await waitFor('CreateContainerConfigError', async () => {
    const w = status(await getPod(cluster, NS, 'bad-env'), 'app')?.state?.waiting;
    return w?.reason === 'CreateContainerConfigError' ? w : undefined;
  }, 20_000, 100);
  assert.match(badEnv.message ?? '', /configmap "no-such-config" not found/);

  // both containers want $POD_IP:8080; whichever starts second crash-loops
  const clash = await waitFor('one container crash-looping on EADDRINUSE', async () => {
    const p = await getPod(cluster, NS, 'port-clash');
    const loser = ['first', 'second'].find((c) => status(p, c)?.state?.waiting?.reason === 'CrashLoopBackOff');
    return loser ? { p, loser, winner: loser === 'first' ? 'second' : 'first' } : undefined;
  }, 30_000, 100);
  assert.match(status(clash.p, clash.loser)!.state!.waiting!.message ?? '', /EADDRINUSE/);
  assert.match(status(clash.p, clash.loser)!.lastState?.terminated?.message ?? '', /cannot listen on 127\.\d+\.\d+\.\d+:8080: EADDRINUSE/);
  assert.ok(status(clash.p, clash.winner)?.state?.running, 'the other container keeps running');
  assert.equal(clash.p.status?.phase, 'Running');
  assert.equal(readyCond(clash.p)?.status, 'False');

  const nowhere = await waitFor('probe failure in the Ready condition', async () => {
    const p = await getPod(cluster, NS, 'probe-nowhere');
    return /readiness probe failed: .*:9999.*ECONNREFUSED/.test(readyCond(p)?.message ?? '') ? p : undefined;
  }, 20_000, 100);
  assert.equal(nowhere.status?.phase, 'Running');
  assert.equal(readyCond(nowhere)?.status, 'False');
  assert.ok(status(nowhere, 'app')?.state?.running);
  assert.equal(status(nowhere, 'app')?.ready, false);

  // and the kubelet still runs good pods
  await apply(cluster, pod('good', `  containers:
  - name: app
    image: version-observer/test-server`));
  await waitFor('a good pod becomes Ready after all that', async () => isReady(await getPod(cluster, NS, 'good')), 20_000, 100);
  await kubectl(cluster, ['delete', 'pod', 'no-command', 'bad-env', 'port-clash', 'probe-nowhere', 'good', '-n', NS, '--wait=true']);
});

/** A Ready pod whose one process ignores SIGTERM (so a delete waits out its 2 s grace); its pid. */
async function startIgnoringSigterm(name: string): Promise<number> {
  // The readiness probe makes Ready mean "listening", so the SIGTERM handler is installed:
  // without it a pod is Ready as soon as its process is spawned, and an early SIGTERM kills it.
  await apply(cluster, pod(name, `  containers:
  - name: app
    image: version-observer/test-server
    env: [{ name: IGNORE_SIGTERM, value: "1" }]
    readinessProbe: { httpGet: { path: /healthz, port: 8080 }, periodSeconds: 1 }`));
  const p = await waitFor(`${name} Ready`, async () => {
    const p = await getPod(cluster, NS, name);
    return isReady(p) ? p : undefined;
  }, 20_000, 100);
  return pidOf(p)!;
}

test('deletion waits the grace period, then SIGKILLs a process that ignores SIGTERM and removes the pod', async () => {
  const pid = await startIgnoringSigterm('stubborn');
  assert.ok(alive(pid));
  const t0 = Date.now();
  await kubectl(cluster, ['delete', 'pod', 'stubborn', '-n', NS, '--wait=true']);
  const took = Date.now() - t0;
  assert.ok(took >= 1800, `deletion waited the 2 s grace period (took ${took} ms)`);
  assert.ok(took < 10_000, `deletion did not hang (took ${took} ms)`);
  assert.equal(alive(pid), false, 'SIGKILLed');
  assert.ok(
    records.some((r) => r.component === 'kubelet' && r.pod === `${NS}/stubborn` && r.container === 'app' && r.pid === pid && r.msg.includes('SIGKILL')),
    'the kubelet logged the SIGKILL',
  );
});

test('virtual containers: 150 pods become Ready without a single process', async () => {
  const before = cluster.kubelet!.pids().length;
  await apply(cluster, `
apiVersion: apps/v1
kind: Deployment
metadata: { name: many, namespace: ${NS} }
spec:
  replicas: 150
  selector: { matchLabels: { app: many } }
  template:
    metadata: { labels: { app: many } }
    spec:
      containers: [{ name: app, image: "example.com/virtual/app:1" }]
`);
  await waitFor('150 available', async () => JSON.parse(await kubectl(cluster, ['get', 'deployment', 'many', '-n', NS, '-o', 'json'])).status?.availableReplicas === 150, 60_000, 250);
  assert.equal(cluster.kubelet!.pids().length, before);
  const pods = await getPods(cluster, NS, 'app=many');
  assert.equal(new Set(pods.map((p) => p.status?.podIP)).size, 150, 'unique IPs');
  assert.ok(pods.every((p) => status(p, 'app')?.containerID?.startsWith('virtual://')));
  await kubectl(cluster, ['scale', 'deployment', 'many', '-n', NS, '--replicas=0']);
  await waitFor('virtual pods removed', async () => (await getPods(cluster, NS, 'app=many')).length === 0, 60_000, 250);
});

test('a pod whose final delete failed while the API server was down is removed once it is back', async () => {
  // A relist after the restart sends no event for a pod that did not change, so only the
  // kubelet's own retry can finish the delete; without it the pod stays Terminating for good.
  const pid = await startIgnoringSigterm('orphan');
  await kubectl(cluster, ['delete', 'pod', 'orphan', '-n', NS, '--wait=false']);
  // The kubelet is now waiting out the 2 s grace period of a process that ignores SIGTERM.
  await cluster.stopApiServer();
  try {
    await waitFor('the kubelet failed the final delete', () =>
      records.some((r) => r.component === 'kubelet' && r.pod === `${NS}/orphan` && r.msg.startsWith('pod delete failed')), 30_000, 100);
    assert.equal(alive(pid), false, 'its process is gone');
  } finally {
    await cluster.startApiServer();
  }
  await waitFor('orphan removed', async () => (await kubectl(cluster, ['get', 'pod', 'orphan', '-n', NS, '--ignore-not-found', '-o', 'name'])).trim() === '', 30_000, 250);
  assert.ok(records.some((r) => r.component === 'kubelet' && r.pod === `${NS}/orphan` && r.msg === 'pod removed'), 'the kubelet removed it itself');
});
