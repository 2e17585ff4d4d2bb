import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interleave, medianSpread, samplesFor, summary, tail } from '../../../bench/stats.ts';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

test('a p99 needs 100 samples; below that the tail is the maximum and says so', () => {
  assert.equal(samplesFor(99), 100);
  assert.equal(samplesFor(95), 20);
  assert.deepEqual(tail(range(24)), { label: 'max of 24', value: 24, n: 24, supported: false });
  assert.deepEqual(tail(range(99)), { label: 'max of 99', value: 99, n: 99, supported: false });
  assert.deepEqual(tail(range(200)), { label: 'p99', value: 198, n: 200, supported: true });
  assert.equal(summary(range(50)).tail.label, 'max of 50');
  assert.equal(summary([]).tail.label, 'max of 0');
});

test('medianSpread: the median of the rounds and their range', () => {
  assert.deepEqual(medianSpread([30, 10, 20]), { n: 3, median: 20, min: 10, max: 30, spreadPct: 100 });
  assert.equal(medianSpread([1, 2, 3, 4]).median, 2.5);
});

test('interleave alternates the order of the arms each round and refuses fewer than 3 rounds', async () => {
  const order: string[] = [];
  const out = await interleave({ a: async () => (order.push('a'), 1), b: async () => (order.push('b'), 2) }, 3);
  assert.deepEqual(order, ['a', 'b', 'b', 'a', 'a', 'b']);
  assert.deepEqual(out, { a: [1, 1, 1], b: [2, 2, 2] });
  await assert.rejects(interleave({ a: async () => 1, b: async () => 2 }, 2), /at least 3/);
});
