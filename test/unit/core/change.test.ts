import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import semver from 'semver';
import type { Change, Policy } from '../../../src/core/app-state.ts';
import { CHANGES, POLICIES } from '../../../src/core/app-state.ts';
import { classify, matters, parsePolicy } from '../../../src/core/change.ts';
import { anyVersion } from './arbitraries.ts';

test('classify: documented examples', () => {
  const cases: Array<[string | null, string, Change]> = [
    [null, '1.0.0', 'none'],
    ['1.0.0', '1.0.0', 'none'],
    ['v1.0.0', '1.0.0', 'none'],
    ['1.3.2', '2.0.0', 'major'],
    ['1.3.2', '1.4.0', 'minor'],
    ['1.3.2', '1.3.3', 'patch'],
    ['1.4.0', '1.3.2', 'rollback'],
    ['2.0.0', '1.9.9', 'rollback'],
    ['1.4.0', '1.4.0-rc.1', 'rollback'],
    ['1.4.0-rc.2', '1.4.0-rc.1', 'rollback'],
    ['1.4.0-rc.1', '1.4.0-rc.2', 'prerelease'],
    ['1.4.0-alpha', '1.4.0-beta', 'prerelease'],
    ['1.4.0-rc.1', '1.4.0', 'minor'],
    ['1.4.1-rc.1', '1.4.1', 'patch'],
    ['2.0.0-rc.1', '2.0.0', 'major'],
    ['1.0.0-1', '1.1.1', 'major'],
    ['1.3.2', '1.4.0-rc.1', 'minor'],
    ['1.3.2', '1.3.3-rc.1', 'patch'],
    ['1.3.2', '2.0.0-rc.1', 'major'],
    ['1.4.1-rc.1', '1.5.0', 'minor'],
  ];
  for (const [from, to, want] of cases) assert.equal(classify(from, to), want, `${from} → ${to}`);
});

test('classify throws on an invalid version', () => {
  assert.throws(() => classify('1.0.0', 'banana'), TypeError);
  assert.throws(() => classify('banana', '1.0.0'), TypeError);
  assert.throws(() => classify(null, 'banana'), TypeError);
});

/** The oracle: semver.compare + semver.diff with pre* folded into the main kind. */
function oracle(from: string, to: string): Change {
  const cmp = semver.compare(from, to);
  if (cmp === 0) return 'none';
  if (cmp > 0) return 'rollback';
  const d = semver.diff(from, to);
  switch (d) {
    case 'major':
    case 'premajor':
      return 'major';
    case 'minor':
    case 'preminor':
      return 'minor';
    case 'patch':
    case 'prepatch':
      return 'patch';
    case 'prerelease':
      return 'prerelease';
    default:
      throw new Error(`unexpected diff ${String(d)}`);
  }
}

test('property: classify matches semver on a generated corpus', () => {
  const seen = new Set<Change>();
  fc.assert(
    fc.property(anyVersion, anyVersion, (a, b) => {
      const got = classify(a, b);
      seen.add(got);
      assert.equal(got, oracle(a, b), `${a} → ${b}`);
    }),
    { numRuns: 10000 },
  );
  assert.deepEqual([...seen].sort(), [...CHANGES].sort(), 'the corpus exercised every kind of change');
});

test('property: rollback is exactly the reverse of an upgrade', () => {
  fc.assert(
    fc.property(anyVersion, anyVersion, (a, b) => {
      const up = classify(a, b);
      const down = classify(b, a);
      if (up === 'none') assert.equal(down, 'none');
      else assert.ok((up === 'rollback') !== (down === 'rollback'), `${a} ↔ ${b}: ${up}/${down}`);
    }),
    { numRuns: 3000 },
  );
});

test('matters: policy table', () => {
  const table: Record<Policy, Record<Change, boolean>> = {
    major: { major: true, minor: false, patch: false, prerelease: false, rollback: true, none: false },
    minor: { major: true, minor: true, patch: false, prerelease: false, rollback: true, none: false },
    patch: { major: true, minor: true, patch: true, prerelease: false, rollback: true, none: false },
    any: { major: true, minor: true, patch: true, prerelease: true, rollback: true, none: false },
  };
  for (const policy of POLICIES) for (const change of CHANGES) assert.equal(matters(change, policy), table[policy][change], `${change} under ${policy}`);
  // default and unknown policies behave as patch
  for (const change of CHANGES) {
    assert.equal(matters(change), table.patch[change]);
    assert.equal(matters(change, null), table.patch[change]);
    assert.equal(matters(change, 'bogus'), table.patch[change]);
  }
});

test('property: a broader policy announces everything a narrower one does', () => {
  const order: Policy[] = ['major', 'minor', 'patch', 'any'];
  fc.assert(
    fc.property(fc.constantFrom(...CHANGES), fc.nat({ max: 3 }), fc.nat({ max: 3 }), (change, i, j) => {
      const [lo, hi] = i <= j ? [i, j] : [j, i];
      if (matters(change, order[lo])) assert.ok(matters(change, order[hi]));
    }),
  );
});

test('parsePolicy', () => {
  assert.equal(parsePolicy('minor'), 'minor');
  assert.equal(parsePolicy(' any '), 'any');
  assert.equal(parsePolicy('MINOR'), null);
  assert.equal(parsePolicy(undefined), null);
  assert.equal(parsePolicy(''), null);
});
