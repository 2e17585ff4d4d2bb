import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StateBody } from '../../../src/core/evaluate.ts';
import { invalidVersionLabelEvent, transitionEvent } from '../../../src/core/transition-events.ts';

const body = (over: Partial<StateBody>): StateBody => ({
  app: 'shop/web', phase: 'converged', version: '1.1.0', previousVersion: '1.0.0', change: 'minor', serving: { '1.1.0': 3 }, reason: null, since: '2026-01-01T00:00:00.000Z', ...over,
});

test('an announcement is one Normal VersionConverged naming the step', () => {
  assert.deepEqual(transitionEvent(body({ phase: 'progressing', reason: 'MixedVersions' }), body({}), true), {
    type: 'Normal', reason: 'VersionConverged', note: 'shop/web converged on 1.1.0 (minor from 1.0.0); announced to its pods', action: 'Announce',
  });
  assert.equal(
    transitionEvent(null, body({ previousVersion: null, change: 'none', version: '1.0.0' }), true)?.note,
    'shop/web converged on 1.0.0; announced to its pods',
    'the first convergence has no step',
  );
});

test('entering degraded or progressing, or a new reason, is an Event; converged without announcement and repeats are not', () => {
  const degraded = body({ phase: 'degraded', reason: 'ProgressDeadlineExceeded', serving: { '1.0.0': 2, '1.1.0': 1 } });
  assert.deepEqual(transitionEvent(body({}), degraded, false), {
    type: 'Warning', reason: 'RolloutDegraded', note: 'shop/web is degraded: ProgressDeadlineExceeded; serving 1.0.0, 1.1.0; nothing is announced until it converges', action: 'Evaluate',
  });
  const progressing = body({ phase: 'progressing', reason: 'NoServingPods', serving: {} });
  assert.deepEqual(transitionEvent(null, progressing, false), {
    type: 'Normal', reason: 'RolloutProgressing', note: 'shop/web is rolling out (NoServingPods); serving none', action: 'Evaluate',
  });
  assert.equal(transitionEvent(progressing, { ...progressing, serving: { '1.1.0': 1 } }, false), null, 'same phase and reason: nothing new');
  assert.equal(transitionEvent(progressing, { ...progressing, reason: 'MixedVersions' }, false)?.reason, 'RolloutProgressing', 'a new reason is news');
  assert.equal(transitionEvent(degraded, body({}), false), null, 'back to the announced version: no Event');
  assert.equal(transitionEvent(null, body({}), false), null, 'a first sighting of a converged app: no Event');
});

test('InvalidVersionLabel names the label, the reason and the app', () => {
  assert.deepEqual(invalidVersionLabelEvent('shop/web', 'app.kubernetes.io/version', { reason: 'missing' }), {
    type: 'Warning', reason: 'InvalidVersionLabel', note: 'label app.kubernetes.io/version: missing; app shop/web is degraded and nothing is announced', action: 'Evaluate',
  });
});
