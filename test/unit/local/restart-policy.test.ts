import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  containerRole,
  crashLoopMessage,
  exitCodeOf,
  nextRestart,
  shouldRestart,
  terminatedReason,
} from '../../../src/local/kubelet/restart-policy.ts';
import type { ContainerRole, RestartBackoff } from '../../../src/local/kubelet/restart-policy.ts';

const backoff: RestartBackoff = { initialMs: 1000, maxMs: 60_000, resetAfterMs: 60_000 };

test('roles: spec.containers are main; init containers are sidecars only with restartPolicy Always', () => {
  assert.equal(containerRole({}, false), 'main');
  assert.equal(containerRole({ restartPolicy: 'Always' }, false), 'main');
  assert.equal(containerRole({}, true), 'init');
  assert.equal(containerRole({ restartPolicy: 'Always' }, true), 'sidecar');
});

test('restart table: role × pod restartPolicy × exit code', () => {
  const cases: Array<[ContainerRole, string, number, boolean]> = [
    ['main', 'Always', 0, true],
    ['main', 'Always', 1, true],
    ['main', 'OnFailure', 0, false],
    ['main', 'OnFailure', 2, true],
    ['main', 'Never', 0, false],
    ['main', 'Never', 1, false],
    ['init', 'Always', 0, false],
    ['init', 'Always', 1, true],
    ['init', 'OnFailure', 1, true],
    ['init', 'Never', 1, false],
    ['sidecar', 'Always', 0, true],
    ['sidecar', 'Never', 0, true],
    ['sidecar', 'OnFailure', 137, true],
  ];
  for (const [role, policy, code, want] of cases) assert.equal(shouldRestart(role, policy, code), want, `${role} ${policy} exit ${code}`);
});

test('backoff: 1 s, 2 s, 4 s … capped at the maximum, the same delays as before core took over', () => {
  let crashes = 0;
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    const next = nextRestart(crashes, 10, backoff);
    crashes = next.crashes;
    delays.push(next.delayMs);
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
});

test('backoff: a run of resetAfterMs or longer starts the count again; a failed start never does', () => {
  assert.deepEqual(nextRestart(5, 60_000, backoff), { crashes: 1, delayMs: 1000 });
  assert.deepEqual(nextRestart(5, 59_999, backoff), { crashes: 6, delayMs: 32_000 });
  assert.deepEqual(nextRestart(5, undefined, backoff), { crashes: 6, delayMs: 32_000 });
});

test('backoff: delay = min(max, initial × 2^(crashes−1)) for every count (the formula the container used)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 80 }), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 600_000 }), (crashes, initialMs, maxMs) => {
      const b = { initialMs, maxMs, resetAfterMs: 60_000 };
      const next = nextRestart(crashes, undefined, b);
      assert.equal(next.crashes, crashes + 1);
      assert.equal(next.delayMs, Math.min(maxMs, initialMs * 2 ** Math.max(0, next.crashes - 1)));
    }),
  );
});

test('exit codes: the code, else 128 + signal number, else 1; reason Completed only for 0', () => {
  assert.equal(exitCodeOf(3, null), 3);
  assert.equal(exitCodeOf(null, 'SIGTERM'), 143);
  assert.equal(exitCodeOf(null, 'SIGKILL'), 137);
  assert.equal(exitCodeOf(null, null), 1);
  assert.equal(terminatedReason(0), 'Completed');
  assert.equal(terminatedReason(143), 'Error');
});

test('CrashLoopBackOff message names the delay in seconds, the pod and the last output', () => {
  const base = { container: 'app', pod: 'web', namespace: 'shop', delayMs: 2000, exitCode: 1 };
  assert.equal(crashLoopMessage({ ...base, outputTail: 'boom' }), 'back-off 2s restarting failed container=app pod=web_shop; last exit code 1: boom');
  assert.equal(crashLoopMessage({ ...base, outputTail: '' }), 'back-off 2s restarting failed container=app pod=web_shop; last exit code 1');
});
