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
