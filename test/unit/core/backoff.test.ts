import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { backoffCeilingMs, backoffStep, type BackoffPolicy } from '../../../src/core/backoff.ts';

const policy = (jitter: BackoffPolicy['jitter']): BackoffPolicy => ({ baseMs: 100, maxMs: 1000, jitter });

test('the ceiling doubles from baseMs per attempt and stops at maxMs; attempt ≤ 0 counts as 1', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffCeilingMs(n, policy('none'))), [100, 200, 400, 800, 1000, 1000]);
  assert.equal(backoffCeilingMs(0, policy('none')), 100);
  assert.equal(backoffCeilingMs(-3, policy('none')), 100);
  assert.equal(backoffCeilingMs(1e9, policy('none')), 1000);
});

test('jitter kinds: none = ceiling, full = random × ceiling, equal = ceiling/2 + random × ceiling/2', () => {
  assert.equal(backoffStep(3, policy('none'), 0.9), 400);
  assert.equal(backoffStep(3, policy('full'), 0.5), 200);
  assert.equal(backoffStep(3, policy('full'), 0), 0);
  assert.equal(backoffStep(3, policy('equal'), 0), 200);
  assert.equal(backoffStep(3, policy('equal'), 0.999999), 399);
  assert.equal(backoffStep(2, policy('full'), Number.NaN), 0, 'a broken random source never makes a delay up');
});

test('every step is a whole number within [0, ceiling] and never shrinks as attempts grow (same draw)', () => {
  fc.assert(
    fc.property(fc.integer({ min: -5, max: 80 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.constantFrom('none', 'full', 'equal') as fc.Arbitrary<BackoffPolicy['jitter']>, (n, r, jitter) => {
      const p = policy(jitter);
      const d = backoffStep(n, p, r);
      assert.ok(Number.isInteger(d) && d >= 0 && d <= backoffCeilingMs(n, p));
      assert.ok(backoffStep(n + 1, p, r) >= d);
      if (jitter === 'equal') assert.ok(d >= backoffCeilingMs(n, p) / 2 - 1);
    }),
  );
});
