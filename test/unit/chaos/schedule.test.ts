/**
 * The chaos schedule with node loss among its kinds, and the short run's size: the short run
 * (options.ts SHORT) has exactly as many steps as there are kinds, and its seeded first pass
 * holds each kind once, for any seed — so `npm test` injects node loss in every run.
 * Run: node --test test/unit/chaos/schedule.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FULL, SHORT } from '../../chaos/options.ts';
import { FAULT_KINDS, schedule } from '../../chaos/schedule.ts';

test('node loss is a fault kind, once, among 11', () => {
  assert.equal(FAULT_KINDS.filter((k) => k === 'node-loss').length, 1);
  assert.equal(new Set(FAULT_KINDS).size, FAULT_KINDS.length);
  assert.equal(FAULT_KINDS.length, 11);
});

test('the short run has one step per kind, and for any seed its schedule injects every kind exactly once', () => {
  assert.equal(SHORT.steps, FAULT_KINDS.length);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
      const steps = schedule(seed, SHORT.steps, SHORT.apps);
      assert.deepEqual([...steps.map((s) => s.kind)].sort(), [...FAULT_KINDS].sort());
      assert.ok(steps.every((s) => s.app >= 0 && s.app < SHORT.apps && s.delayMs >= 0 && s.delayMs <= 3000));
    }),
  );
});

test('the full run draws node loss too (the first pass holds each kind, the rest uniformly)', () => {
  const steps = schedule(1, FULL.steps, FULL.apps);
  const nodeLoss = steps.filter((s) => s.kind === 'node-loss').length;
  // uniform over 11 kinds after the first 11 steps: about 189/11 ≈ 17; far from 1 and from 189
  assert.ok(nodeLoss >= 5 && nodeLoss <= 40, `node-loss steps: ${nodeLoss}`);
  assert.ok(steps.slice(0, FAULT_KINDS.length).some((s) => s.kind === 'node-loss'));
});
