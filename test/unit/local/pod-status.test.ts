import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import type { ContainerSnapshot } from '../../../src/local/kubelet/container.ts';
import { RingBuffer } from '../../../src/local/kubelet/ring-buffer.ts';
import { buildPodStatus } from '../../../src/local/kubelet/status.ts';
import type { PodView } from '../../../src/local/kubelet/status.ts';

const pod: V1Pod = { metadata: { name: 'p', namespace: 'n', uid: 'u' }, spec: { containers: [{ name: 'web', image: 'i' }] } };
const snap = (over: Partial<ContainerSnapshot> = {}): ContainerSnapshot => ({
  state: { running: { startedAt: '2026-01-01T00:00:00Z' as unknown as Date } },
  lastState: {},
  ready: true,
  started: true,
  restartCount: 0,
  containerID: 'process://42',
  imageID: 'process://node',
  probeMessage: '',
  ...over,
});
const view = (over: Partial<PodView>): PodView => ({
  pod,
  podIP: '127.1.0.1',
  hostIP: '127.0.0.1',
  startTime: 't0',
  initDone: true,
  initContainers: [],
  containers: [{ name: 'web', image: 'i', snap: snap() }],
  previous: [],
  now: 't1',
  ...over,
});
const cond = (s: ReturnType<typeof buildPodStatus>, type: string) => s.conditions!.find((c) => c.type === type)!;

test('a ready container makes the pod Running and Ready with IPs', () => {
  const s = buildPodStatus(view({}));
  assert.equal(s.phase, 'Running');
  assert.equal(cond(s, 'Ready').status, 'True');
  assert.equal(cond(s, 'ContainersReady').status, 'True');
  assert.equal(s.podIP, '127.1.0.1');
  assert.deepEqual(s.podIPs, [{ ip: '127.1.0.1' }]);
  assert.equal(s.containerStatuses![0]!.containerID, 'process://42');
});

test('lastTransitionTime moves only when the status flips', () => {
  const first = buildPodStatus(view({ now: 't1' }));
  const same = buildPodStatus(view({ now: 't2', previous: first.conditions! }));
  assert.equal(cond(same, 'Ready').lastTransitionTime, 't1');
  const flipped = buildPodStatus(view({ now: 't3', previous: same.conditions!, containers: [{ name: 'web', image: 'i', snap: snap({ ready: false, probeMessage: 'readiness probe failed: Get "http://127.1.0.1:1/": ECONNREFUSED' }) }] }));
  assert.equal(cond(flipped, 'Ready').status, 'False');
  assert.equal(cond(flipped, 'Ready').lastTransitionTime, 't3');
  assert.match(cond(flipped, 'Ready').message!, /unready status: \[web\].*readiness probe failed.*ECONNREFUSED/);
  assert.equal(cond(flipped, 'PodScheduled').lastTransitionTime, 't1');
});

test('a waiting container shows its reason in the Ready condition; the phase stays Pending until it ran', () => {
  const s = buildPodStatus(view({ containers: [{ name: 'web', image: 'i', snap: snap({ ready: false, started: false, containerID: undefined, state: { waiting: { reason: 'RunContainerError', message: 'exec: "nope" not found' } } }) }] }));
  assert.equal(s.phase, 'Pending');
  assert.match(cond(s, 'Ready').message!, /web: RunContainerError: exec: "nope" not found/);
});

test('readiness gates keep Ready false; foreign conditions pass through', () => {
  const gated: V1Pod = { ...pod, spec: { ...pod.spec!, readinessGates: [{ conditionType: 'example.com/gate' }] }, status: { conditions: [{ type: 'example.com/gate', status: 'False' }] } };
  const s = buildPodStatus(view({ pod: gated }));
  assert.equal(cond(s, 'ContainersReady').status, 'True');
  assert.equal(cond(s, 'Ready').status, 'False');
  assert.equal(cond(s, 'Ready').reason, 'ReadinessGatesNotReady');
  assert.equal(cond(s, 'example.com/gate').status, 'False');
});

test('virtual containers are running and ready; finished containers give Succeeded/Failed', () => {
  const v = buildPodStatus(view({ containers: [{ name: 'web', image: 'i', snap: undefined }] }));
  assert.equal(v.containerStatuses![0]!.ready, true);
  assert.equal(v.containerStatuses![0]!.containerID, 'virtual://u/web');
  const done = (code: number) => ({ name: 'web', image: 'i', done: true, snap: snap({ ready: false, state: { terminated: { exitCode: code } } }) });
  assert.equal(buildPodStatus(view({ containers: [done(0)] })).phase, 'Succeeded');
  assert.equal(buildPodStatus(view({ containers: [done(2)] })).phase, 'Failed');
  assert.equal(buildPodStatus(view({ initDone: false, initContainers: [{ name: 'init', image: 'i', snap: undefined, pending: true }] })).phase, 'Pending');
});

test('ring buffer keeps the tail', () => {
  const r = new RingBuffer(10);
  r.write(Buffer.from('hello\n'));
  r.write(Buffer.from('world\nxy'));
  assert.equal(r.toString(), 'o\nworld\nxy');
  assert.equal(r.tail(1), 'xy');
  r.write(Buffer.from('0123456789abc'));
  assert.equal(r.toString(), '3456789abc');
});

const sidecarPod: V1Pod = {
  metadata: { name: 'p', namespace: 'n', uid: 'u' },
  spec: { initContainers: [{ name: 'migrate', image: 'i' }, { name: 'proxy', image: 'i', restartPolicy: 'Always' }], containers: [{ name: 'web', image: 'i' }] },
};
const completed = snap({ ready: false, started: false, state: { terminated: { exitCode: 0, reason: 'Completed' } } });

test('a native sidecar: reported in initContainerStatuses, its readiness counts toward ContainersReady and Ready', () => {
  const ready = buildPodStatus(view({ pod: sidecarPod, initContainers: [{ name: 'migrate', image: 'i', snap: completed, done: true }, { name: 'proxy', image: 'i', snap: snap(), sidecar: true }] }));
  assert.equal(cond(ready, 'Ready').status, 'True');
  const [migrate, proxy] = ready.initContainerStatuses!;
  assert.deepEqual([migrate!.ready, migrate!.started], [true, false], 'a completed init container is ready, not started');
  assert.deepEqual([proxy!.ready, proxy!.started, proxy!.state?.running !== undefined], [true, true, true]);

  const restarting = snap({ ready: false, started: false, restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } } });
  const s = buildPodStatus(view({ pod: sidecarPod, initContainers: [{ name: 'migrate', image: 'i', snap: completed, done: true }, { name: 'proxy', image: 'i', snap: restarting, sidecar: true }] }));
  assert.equal(cond(s, 'ContainersReady').status, 'False');
  assert.equal(cond(s, 'Ready').status, 'False');
  assert.match(cond(s, 'Ready').message!, /^containers with unready status: \[proxy\]/);
  assert.equal(cond(s, 'Initialized').status, 'True', 'the app containers have started: stays initialized');
  assert.equal(s.initContainerStatuses![1]!.restartCount, 1);
  assert.equal(s.phase, 'Running');
});

test('sidecars are listed before app containers when several are unready; an unstarted sidecar leaves the pod uninitialized', () => {
  const notReady = snap({ ready: false });
  const both = buildPodStatus(view({ pod: sidecarPod, initContainers: [{ name: 'migrate', image: 'i', snap: completed, done: true }, { name: 'proxy', image: 'i', snap: notReady, sidecar: true }], containers: [{ name: 'web', image: 'i', snap: notReady }] }));
  assert.match(cond(both, 'ContainersReady').message!, /^containers with unready status: \[proxy web\]/);

  const starting = snap({ ready: false, started: false });
  const init = buildPodStatus(view({ pod: sidecarPod, initDone: false, initContainers: [{ name: 'migrate', image: 'i', snap: completed, done: true }, { name: 'proxy', image: 'i', snap: starting, sidecar: true }], containers: [{ name: 'web', image: 'i', snap: snap({ ready: false, started: false, state: { waiting: { reason: 'ContainerCreating' } } }) }] }));
  assert.equal(cond(init, 'Initialized').status, 'False');
  assert.equal(cond(init, 'Initialized').message, 'containers with incomplete status: [proxy]');
  assert.equal(init.phase, 'Pending');
});

test('a virtual sidecar runs and is ready like a virtual app container', () => {
  const s = buildPodStatus(view({ pod: sidecarPod, initContainers: [{ name: 'migrate', image: 'i', snap: undefined, done: true }, { name: 'proxy', image: 'i', snap: undefined, sidecar: true }] }));
  const [migrate, proxy] = s.initContainerStatuses!;
  assert.ok(migrate!.state?.terminated && migrate!.ready);
  assert.ok(proxy!.state?.running && proxy!.ready && proxy!.started);
  assert.equal(cond(s, 'Ready').status, 'True');
});

test('a pod whose app containers stopped while its native sidecar still runs (a deletion: sidecars stop last) stays Running', () => {
  const stopped = { name: 'web', image: 'i', done: true, snap: snap({ ready: false, state: { terminated: { exitCode: 0 } } }) };
  const draining = buildPodStatus(view({ pod: sidecarPod, initContainers: [{ name: 'migrate', image: 'i', snap: completed, done: true }, { name: 'proxy', image: 'i', snap: snap(), sidecar: true }], containers: [stopped] }));
  assert.equal(draining.phase, 'Running', 'the sidecar serves until it stops; the pod is no terminal pod before that');
  const gone = buildPodStatus(view({ pod: sidecarPod, initContainers: [{ name: 'migrate', image: 'i', snap: completed, done: true }, { name: 'proxy', image: 'i', snap: snap({ ready: false, state: { terminated: { exitCode: 0 } } }), done: true, sidecar: true }], containers: [stopped] }));
  assert.equal(gone.phase, 'Succeeded', 'terminal once every container, the sidecar included, has stopped');
});

test('a deleted pod whose app container (restartPolicy Always, so not "done") exited while its sidecar drains is Running, not Pending', () => {
  const exited = { name: 'web', image: 'i', snap: snap({ ready: false, state: { terminated: { exitCode: 0 } } }) };
  const s = buildPodStatus(view({ pod: sidecarPod, initContainers: [{ name: 'migrate', image: 'i', snap: completed, done: true }, { name: 'proxy', image: 'i', snap: snap(), sidecar: true }], containers: [exited] }));
  assert.equal(s.phase, 'Running');
});

test('a Never pod whose app finished and whose sidecar has just exited is terminal in that same status', () => {
  const failed = { name: 'web', image: 'i', done: true, snap: snap({ ready: false, state: { terminated: { exitCode: 1 } } }) };
  const s = buildPodStatus(view({ pod: sidecarPod, initContainers: [{ name: 'migrate', image: 'i', snap: completed, done: true }, { name: 'proxy', image: 'i', snap: snap({ ready: false, state: { terminated: { exitCode: 0 } } }), sidecar: true }], containers: [failed] }));
  assert.equal(s.phase, 'Failed');
});
