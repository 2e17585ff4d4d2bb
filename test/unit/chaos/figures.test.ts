import { test } from 'node:test';
import assert from 'node:assert/strict';
import { figures, type ChaosResult, type StepRecord } from '../../chaos/suite.ts';

const settled = (ms: number): StepRecord['settled'] => ({ completeMs: ms, ms, deliverMs: 0, detail: '' });

const result = (steps: StepRecord[]): ChaosResult => ({
  seed: 1,
  options: { seed: 1, apps: 2, podsMin: 3, podsMax: 3, clients: 300, procsPerApp: 1, steps: steps.length },
  loadAtStart: [0.5, 0.5, 0.5],
  rollouts: steps.length,
  steps,
  violations: steps.filter((s) => s.problem).map((s) => `not injected: step ${s.index}`),
  proven: 10,
  provenByResourceVersion: 7,
  unproven: 0,
  terms: 1,
  events: 3,
  gaps: 0,
  connections: 300,
  receipts: 900,
  rss: { controllerWarm: 1, controllerAfter: 1, sidecarWarm: 1, sidecarAfter: 1 },
  boundMs: 64_600,
  durationMs: 1000,
});

test('figures: proven receipts split by the state\'s resourceVersion and by Event', () => {
  const md = figures(result([{ index: 1, kind: 'none', app: 'a/b', what: 'rollout', settled: settled(2000) }]));
  assert.match(md, /converged receipts proven \(by rv \/ by Event\)/);
  assert.match(md, /\| 10 \(7 \/ 3\) \|/);
});

test('figures: a fault not injected as designed is not counted as a recovery of its kind', () => {
  const md = figures(result([
    { index: 1, kind: 'node-loss', app: 'a/b', what: 'node silent, not marked', problem: 'not marked', settled: settled(9000) },
    { index: 2, kind: 'node-loss', app: 'a/b', what: 'node silent (marked)', settled: settled(3000) },
  ]));
  assert.match(md, /^\| node-loss \| 1 \| 3\.0 s \| max of 1 \| 3\.0 s \|$/m);
  assert.match(md, /1 step\(s\) did not inject their fault as designed/);
  assert.match(md, /\*\*1\*\*/);
});
