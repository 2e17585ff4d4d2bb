import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ClientVersionCounts } from '../../../src/sidecar/client-version-counts.ts';

const nonZero = (c: ClientVersionCounts) => Object.fromEntries([...c.counts].filter(([, n]) => n > 0));

test('version-like page versions become labels up to the limit; the rest are "other", none is "unknown"', () => {
  const c = new ClientVersionCounts(2);
  const labels = ['1.0.0', '1.0.0', '1.1.0', '1.2.0', 'not-a-version', '', undefined, `1.0.0-${'x'.repeat(60)}`].map((v) => c.add(v));
  assert.deepEqual(labels, ['1.0.0', '1.0.0', '1.1.0', 'other', 'other', 'unknown', 'unknown', 'other']);
  assert.deepEqual(nonZero(c), { '1.0.0': 2, '1.1.0': 1, other: 3, unknown: 2 });
});

test('a label at 0 keeps its slot until a new version needs one', () => {
  const c = new ClientVersionCounts(1);
  assert.equal(c.add('1.0.0'), '1.0.0');
  c.remove('1.0.0');
  assert.equal(c.counts.get('1.0.0'), 0, 'still listed at 0');
  assert.equal(c.add('1.0.0'), '1.0.0', 'the same version takes its old slot back');
  assert.equal(c.add('2.0.0'), 'other', 'no free slot while 1.0.0 is connected');
  c.remove('1.0.0');
  assert.equal(c.add('2.0.0'), '2.0.0', 'the unused slot is reused');
  assert.equal(c.counts.has('1.0.0'), false);
});

test('never more than `maxLabels` version labels; every socket is counted once', () => {
  fc.assert(
    fc.property(
      fc.nat({ max: 4 }),
      fc.array(fc.oneof(fc.constantFrom('1.0.0', '1.1.0', '2.0.0-rc.1', 'v3.0.0', 'x', ''), fc.string({ maxLength: 8 })), { maxLength: 40 }),
      fc.array(fc.boolean(), { maxLength: 40 }),
      (max, versions, removals) => {
        const c = new ClientVersionCounts(max);
        const open: string[] = [];
        versions.forEach((v, i) => {
          open.push(c.add(v));
          if (removals[i] && open.length > 0) c.remove(open.shift()!);
          const versionLabels = [...c.counts.keys()].filter((l) => l !== 'other' && l !== 'unknown');
          assert.ok(versionLabels.length <= max, `${versionLabels.length} labels over ${max}`);
          assert.equal([...c.counts.values()].reduce((a, b) => a + b, 0), open.length);
        });
      },
    ),
  );
});
