import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppIndex } from '../../../src/controller/index-by-app.ts';
import { slimDeployment, slimPod } from '../../../src/controller/slim.ts';

const VL = 'app.kubernetes.io/version';
function pod(name: string, app: string | undefined, version: string, ready: boolean, extra: Record<string, unknown> = {}) {
  return {
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: '1', labels: { ...(app ? { 'version-observer.io/app': app } : {}), [VL]: version }, managedFields: [{ big: 'x'.repeat(1000) }], ...extra },
    spec: { containers: [{ name: 'c', image: 'i', env: [] }] },
    status: { phase: 'Running', podIP: '127.0.0.5', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
  };
}

test('slimPod keeps only what the evaluator and pusher read; Date and string timestamps agree', () => {
  const raw = pod('p1', 'shop', 'v1.2.3', true, { deletionTimestamp: '2026-01-01T00:00:01Z' });
  const s = slimPod(raw, VL);
  assert.deepEqual(s, {
    metadata: { name: 'p1', namespace: 'ns', uid: 'uid-p1', resourceVersion: '1' },
    app: 'shop',
    view: { name: 'p1', namespace: 'ns', versionLabel: 'v1.2.3', ready: true, terminating: true, podIP: '127.0.0.5', phase: 'Running' },
  });
  const typed = structuredClone(raw) as any;
  typed.status.conditions[0].lastTransitionTime = new Date('2026-01-01T00:00:00Z');
  typed.metadata.deletionTimestamp = new Date('2026-01-01T00:00:01Z');
  assert.deepEqual(slimPod(typed, VL), s);
});

test('slimDeployment reads rollout-status fields, pause, deadline, policy', () => {
  const d = slimDeployment({
    metadata: { name: 'd', namespace: 'ns', uid: 'u', resourceVersion: '7', generation: 3, labels: { 'version-observer.io/app': 'shop' }, annotations: { 'version-observer.io/policy': 'minor' } },
    spec: { replicas: 3, paused: true, template: {} },
    status: { observedGeneration: 2, replicas: 4, updatedReplicas: 1, availableReplicas: 3, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] },
  });
  assert.deepEqual(d.view, { name: 'd', namespace: 'ns', generation: 3, observedGeneration: 2, specReplicas: 3, replicas: 4, updatedReplicas: 1, availableReplicas: 3, paused: true, progressDeadlineExceeded: true, policy: 'minor' });
  assert.equal(d.app, 'shop');
});

test('index groups by app, moves on relabel, drops empty buckets', () => {
  const idx = new AppIndex();
  assert.deepEqual(idx.upsertPod(slimPod(pod('a', 'shop', '1.0.0', true), VL), 1).apps, ['ns/shop']);
  idx.upsertPod(slimPod(pod('b', 'shop', '1.0.0', false), VL), 2);
  idx.upsertPod(slimPod(pod('c', 'blog', '1.0.0', true), VL), 3);
  assert.deepEqual([...idx.pods('ns/shop')].map((p) => p.metadata.name).sort(), ['a', 'b']);
  const moved = idx.upsertPod(slimPod(pod('b', 'blog', '1.0.0', false), VL), 4);
  assert.deepEqual(moved.apps, ['ns/shop', 'ns/blog']);
  assert.deepEqual([...idx.pods('ns/shop')].map((p) => p.metadata.name), ['a']);
  const unlabelled = idx.upsertPod(slimPod(pod('a', undefined, '1.0.0', true), VL), 5);
  assert.deepEqual(unlabelled.apps, ['ns/shop']);
  assert.deepEqual([...idx.apps()], ['ns/blog']);
  idx.deletePod(slimPod(pod('c', 'blog', '1.0.0', true), VL));
  idx.deletePod(slimPod(pod('b', 'blog', '1.0.0', true), VL));
  assert.equal(idx.apps().size, 0);
  assert.equal(idx.podCount, 0);
});

test('lastReadyObservedAt is the latest local time a serving pod was first seen Ready', () => {
  const idx = new AppIndex();
  idx.upsertPod(slimPod(pod('a', 'shop', '1.0.0', true), VL), 100);
  idx.upsertPod(slimPod(pod('b', 'shop', '1.0.0', false), VL), 150);
  assert.equal(idx.lastReadyObservedAt('ns/shop'), 100);
  idx.upsertPod(slimPod(pod('b', 'shop', '1.0.0', true), VL), 200);
  idx.upsertPod(slimPod(pod('b', 'shop', '1.0.0', true), VL), 300); // still ready: keeps 200
  assert.equal(idx.lastReadyObservedAt('ns/shop'), 200);
});
