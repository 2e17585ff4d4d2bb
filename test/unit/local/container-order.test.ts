import assert from 'node:assert/strict';
import { test } from 'node:test';
import { graceAfterWait, MIN_GRACE_MS, nextInitStep, stopPrerequisites } from '../../../src/local/kubelet/container-order.ts';
import type { InitSlotState } from '../../../src/local/kubelet/container-order.ts';

const slot = (over: Partial<InitSlotState>): InitSlotState => ({ role: 'init', virtual: false, launched: false, started: false, succeeded: false, ...over });

test('init containers launch one at a time, in declaration order', () => {
  const slots = [slot({}), slot({ role: 'sidecar' })];
  assert.deepEqual(nextInitStep(slots, 0), { kind: 'launch', index: 0 });
  slots[0]!.launched = true;
  assert.deepEqual(nextInitStep(slots, 0), { kind: 'wait', index: 0 }, 'a running regular init container holds the next one back');
  slots[0]!.succeeded = true;
  assert.deepEqual(nextInitStep(slots, 0), { kind: 'launch', index: 1 });
});

test('a sidecar lets the next container start once started, not once exited', () => {
  const slots = [slot({ role: 'sidecar', launched: true }), slot({})];
  assert.deepEqual(nextInitStep(slots, 0), { kind: 'wait', index: 0 }, 'running but its startup probe has not passed');
  slots[0]!.started = true;
  assert.deepEqual(nextInitStep(slots, 0), { kind: 'launch', index: 1 });
  slots[1]!.launched = true;
  slots[1]!.succeeded = true;
  assert.deepEqual(nextInitStep(slots, 1), { kind: 'done', index: 2 });
});

test('a failed regular init container holds init back; virtual containers are passed over', () => {
  assert.deepEqual(nextInitStep([slot({ launched: true, succeeded: false })], 0), { kind: 'wait', index: 0 });
  assert.deepEqual(nextInitStep([slot({ virtual: true }), slot({ virtual: true, role: 'sidecar' })], 0), { kind: 'done', index: 2 });
  assert.deepEqual(nextInitStep([], 0), { kind: 'done', index: 0 });
});

test('sidecars stop after every app container, in reverse declaration order; others at once', () => {
  const waits = stopPrerequisites(
    [
      { name: 'log', role: 'sidecar' },
      { name: 'migrate', role: 'init' },
      { name: 'mesh', role: 'sidecar' },
    ],
    ['app', 'worker'],
  );
  assert.deepEqual(Object.fromEntries(waits), { mesh: ['app', 'worker'], log: ['app', 'worker', 'mesh'] });
  assert.equal(stopPrerequisites([{ name: 'migrate', role: 'init' }], ['app']).size, 0);
});

test('a sidecar gets what is left of the grace period, at least the kubelet minimum, at most the whole', () => {
  assert.equal(graceAfterWait(30_000, 1_000), 29_000);
  assert.equal(graceAfterWait(30_000, 29_500), MIN_GRACE_MS);
  assert.equal(graceAfterWait(30_000, 40_000), MIN_GRACE_MS);
  assert.equal(graceAfterWait(500, 600), 500, 'a grace shorter than the minimum is not extended');
  assert.equal(graceAfterWait(30_000, 0), 30_000);
});
