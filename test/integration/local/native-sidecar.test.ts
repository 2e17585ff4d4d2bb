/**
 * Native sidecars (an init container with restartPolicy Always) on the process kubelet, judged
 * by what the processes themselves recorded (test-server's EVENT_LOG: epoch ms per fact) and
 * by the pod status the API server holds:
 * - the app container starts only after the sidecar has started (its startup probe passed);
 * - killing the sidecar restarts it even in a restartPolicy Never pod, and the pod's Ready
 *   follows the sidecar's readiness, as the kubelet's status rules say;
 * - deleting the pod stops the app first and the sidecar only after the app has exited, and the
 *   sidecar still answers while the app drains.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Watch } from '@kubernetes/client-node';
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { apply, getPod, isReady, kubectl, sleep, waitFor } from '../../support/local-k8s.ts';
import { useCluster } from './cluster-fixture.ts';

const NS = 'default';
const local = useCluster('vo-sidecar-');


type Fact = { event: string; t: number; pid: number };
const facts = (name: string): Fact[] => {
  try {
    return readFileSync(join(local.dir, `${name}.log`), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Fact);
  } catch {
    return [];
  }
};
const firstAt = (name: string, event: string): number | undefined => facts(name).find((f) => f.event === event)?.t;
const lastAt = (name: string, event: string): number | undefined => facts(name).findLast((f) => f.event === event)?.t;

const sidecarStatus = (p: V1Pod): V1ContainerStatus | undefined => p.status?.initContainerStatuses?.find((c) => c.name === 'proxy');
const pidIn = (s: V1ContainerStatus | undefined) => Number(/^process:\/\/(\d+)$/.exec(s?.containerID ?? '')?.[1] ?? 0);

/** A pod whose sidecar listens 1.5 s after it starts (so "started" ≠ "spawned"), and an app that takes 1.5 s to shut down. */
const podYaml = (name: string, restartPolicy: string) => `
apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${NS} }
spec:
  restartPolicy: ${restartPolicy}
  terminationGracePeriodSeconds: 8
  initContainers:
  - name: proxy
    image: version-observer/test-server
    restartPolicy: Always
    env:
    - { name: PORT, value: "9000" }
    - { name: VERSION, value: sidecar }
    - { name: LISTEN_DELAY_MS, value: "1500" }
    - { name: EVENT_LOG, value: "${join(local.dir, `${name}-proxy.log`)}" }
    ports: [{ name: proxy, containerPort: 9000 }]
    startupProbe: { httpGet: { path: /healthz, port: 9000 }, periodSeconds: 1, failureThreshold: 30 }
    readinessProbe: { httpGet: { path: /healthz, port: 9000 }, periodSeconds: 1, failureThreshold: 1 }
  containers:
  - name: app
    image: version-observer/test-server
    env:
    - { name: VERSION, value: app }
    - { name: SHUTDOWN_DELAY_MS, value: "1500" }
    - { name: EVENT_LOG, value: "${join(local.dir, `${name}-app.log`)}" }
    readinessProbe: { httpGet: { path: /healthz, port: 8080 }, periodSeconds: 1 }
`;

/** Creates the pod and waits until it is Ready. */
async function readyPod(name: string, restartPolicy: string): Promise<V1Pod> {
  await apply(local.cluster, podYaml(name, restartPolicy));
  return waitFor(`pod ${name} Ready`, async () => {
    const p = await getPod(local.cluster, NS, name);
    return isReady(p) ? p : undefined;
  }, 60_000, 200);
}

test('the app container starts only after the sidecar has started', async () => {
  const pod = await readyPod('order', 'Always');
  const proxyListening = firstAt('order-proxy', 'listening');
  const appStart = firstAt('order-app', 'start');
  assert.ok(proxyListening && appStart, `both processes recorded their start: ${JSON.stringify({ proxy: facts('order-proxy'), app: facts('order-app') })}`);
  assert.ok(appStart >= proxyListening, `app started ${appStart - proxyListening} ms after the sidecar listened (must not be before)`);
  const s = sidecarStatus(pod)!;
  assert.deepEqual([s.started, s.ready, s.restartCount, s.state?.running !== undefined], [true, true, 0, true]);
  assert.equal(pod.status?.containerStatuses?.length, 1, 'the sidecar is reported among the init containers only');
  await kubectl(local.cluster, ['delete', 'pod', 'order', '-n', NS, '--wait=true']);
});

test('a killed sidecar restarts even with restartPolicy Never, and the pod Ready follows its readiness', async () => {
  const before = await readyPod('restart', 'Never');
  const pid = pidIn(sidecarStatus(before));
  assert.ok(pid > 0);

  // every status the API server holds from now on
  const seen: Array<{ ready: boolean; sidecarReady: boolean; restarts: number }> = [];
  const watch = await new Watch(local.cluster.kubeConfig).watch(
    `/api/v1/namespaces/${NS}/pods`,
    { fieldSelector: 'metadata.name=restart', resourceVersion: before.metadata!.resourceVersion },
    (_type: string, p: V1Pod) => seen.push({ ready: isReady(p), sidecarReady: sidecarStatus(p)?.ready === true, restarts: sidecarStatus(p)?.restartCount ?? 0 }),
    () => {},
  );
  try {
    process.kill(-pid, 'SIGKILL');
    const after = await waitFor('sidecar restarted and the pod Ready again', async () => {
      const p = await getPod(local.cluster, NS, 'restart');
      return isReady(p) && (sidecarStatus(p)?.restartCount ?? 0) >= 1 ? p : undefined;
    }, 60_000, 200);
    assert.equal(sidecarStatus(after)!.restartCount, 1);
    assert.equal(sidecarStatus(after)!.lastState?.terminated?.signal, 9);
    assert.notEqual(pidIn(sidecarStatus(after)), pid, 'a new process');
    assert.equal(after.status?.containerStatuses?.[0]?.restartCount, 0, 'the app container was not touched');
    await sleep(300); // the watch delivers the last update
    const down = seen.find((s) => !s.sidecarReady);
    assert.ok(down, `the sidecar was reported unready while down: ${JSON.stringify(seen)}`);
    assert.equal(down.ready, false, 'Ready is False while the sidecar is not ready (generate.go counts restartable init containers)');
    assert.ok(seen.every((s) => s.ready === s.sidecarReady), `Ready followed the sidecar at every step: ${JSON.stringify(seen)}`);
  } finally {
    watch.abort();
  }
  await kubectl(local.cluster, ['delete', 'pod', 'restart', '-n', NS, '--wait=true']);
});

test('on deletion the app stops first; the sidecar serves during the app drain and stops after it exited', async () => {
  const pod = await readyPod('stop', 'Always');
  const sidecarUrl = `http://${pod.status!.podIP}:9000/`;
  // ask the sidecar every 50 ms until it stops answering, recording when it answered
  const answered: number[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      try {
        const res = await fetch(sidecarUrl, { signal: AbortSignal.timeout(1000) });
        if ((await res.json() as { version: string }).version === 'sidecar') answered.push(Date.now());
      } catch {
        // not answering (yet, or any more)
      }
      await sleep(50);
    }
  })();
  try {
    await kubectl(local.cluster, ['delete', 'pod', 'stop', '-n', NS, '--wait=true']);
  } finally {
    polling = false;
    await poller;
  }
  const app = { sigterm: lastAt('stop-app', 'sigterm'), exit: lastAt('stop-app', 'exit') };
  const proxy = { sigterm: lastAt('stop-proxy', 'sigterm'), exit: lastAt('stop-proxy', 'exit') };
  const all = JSON.stringify({ app: facts('stop-app'), proxy: facts('stop-proxy') });
  assert.ok(app.sigterm && app.exit && proxy.sigterm && proxy.exit, `both got SIGTERM and exited: ${all}`);
  assert.ok(app.exit - app.sigterm >= 1400, `the app took its 1.5 s to shut down: ${all}`);
  assert.ok(proxy.sigterm >= app.exit, `the sidecar got SIGTERM ${proxy.sigterm - app.exit} ms after the app exited (must not be before): ${all}`);
  assert.ok(
    answered.some((t) => t > app.sigterm! + 200 && t < app.exit!),
    `the sidecar answered while the app drained (${app.sigterm}..${app.exit}); answers at ${JSON.stringify(answered.slice(-10))}`,
  );
});

test('when the app of a restartPolicy Never pod has finished, the sidecar is stopped and not restarted', async () => {
  const yaml = podYaml('job', 'Never').replace('    - { name: VERSION, value: app }', '    - { name: VERSION, value: app }\n    - { name: EXIT_AFTER_MS, value: "1000" }');
  await apply(local.cluster, yaml);
  const done = await waitFor('sidecar terminated after the app finished', async () => {
    const p = await getPod(local.cluster, NS, 'job');
    return sidecarStatus(p)?.state?.terminated ? p : undefined;
  }, 60_000, 200);
  assert.equal(done.status?.phase, 'Failed', 'the app exited 1 and is not restarted');
  assert.equal(sidecarStatus(done)!.restartCount, 0);
  const appExit = lastAt('job-app', 'exit');
  const proxySigterm = lastAt('job-proxy', 'sigterm');
  assert.ok(appExit && proxySigterm && proxySigterm >= appExit, `the sidecar got SIGTERM after the app exited: ${JSON.stringify({ app: facts('job-app'), proxy: facts('job-proxy') })}`);
  await kubectl(local.cluster, ['delete', 'pod', 'job', '-n', NS, '--wait=true']);
});
