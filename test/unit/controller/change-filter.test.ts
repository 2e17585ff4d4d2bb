import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appsToReconcile } from '../../../src/controller/change-filter.ts';
import type { SlimPod } from '../../../src/controller/slim.ts';

const pod = (over: Partial<SlimPod['view']> = {}, app = 'shop'): SlimPod => ({
  metadata: { name: 'p', namespace: 'ns', uid: 'u', resourceVersion: '1' },
  app,
  view: { name: 'p', namespace: 'ns', versionLabel: '1.0.0', ready: true, terminating: false, podIP: '10.0.0.1', phase: 'Running', ...over },
});

test('an update that keeps app, Ready, terminating and version label queues nothing', () => {
  const before = pod();
  assert.deepEqual(appsToReconcile({ apps: ['ns/shop'], before, after: pod({ podIP: '10.0.0.2' }) }, pod({ podIP: '10.0.0.2' })), []);
});

test('anything the evaluator reads, a relabel or a new pod queues the touched apps', () => {
  const before = pod();
  for (const over of [{ ready: false }, { terminating: true }, { versionLabel: '1.1.0' }]) {
    const after = pod(over);
    assert.deepEqual(appsToReconcile({ apps: ['ns/shop'], before, after }, after), ['ns/shop'], JSON.stringify(over));
  }
  const moved = pod({}, 'blog');
  assert.deepEqual(appsToReconcile({ apps: ['ns/shop', 'ns/blog'], before, after: moved }, moved), ['ns/shop', 'ns/blog']);
  assert.deepEqual(appsToReconcile({ apps: ['ns/shop'], before: undefined, after: pod() }, pod()), ['ns/shop'], 'first sight of a pod');
  const unlabelled = pod({}, '');
  assert.deepEqual(appsToReconcile({ apps: ['ns/shop'], before, after: undefined }, unlabelled), ['ns/shop'], 'label removed');
});
