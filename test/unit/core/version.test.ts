import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import semver from 'semver';
import { compareVersions, mustParseVersion, normalizeVersion, parseVersion } from '../../../src/core/version.ts';
import { anyVersion, versionLabel } from './arbitraries.ts';

test('accepts semver with an optional leading v and normalizes it', () => {
  for (const [label, normalized] of [
    ['1.2.3', '1.2.3'],
    ['v1.2.3', '1.2.3'],
    ['0.0.0', '0.0.0'],
    ['1.4.0-rc.1', '1.4.0-rc.1'],
    ['v10.20.30-alpha.beta-1.0', '10.20.30-alpha.beta-1.0'],
    ['1.0.0-0a', '1.0.0-0a'],
    ['1.0.0--', '1.0.0--'],
  ]) {
    assert.equal(normalizeVersion(label), normalized, label);
  }
  const v = mustParseVersion('v1.4.0-rc.12');
  assert.deepEqual([v.major, v.minor, v.patch, v.prerelease, v.text], [1, 4, 0, ['rc', 12], '1.4.0-rc.12']);
});

test('rejects everything else with a readable reason', () => {
  for (const label of [
    undefined, null, 42, '', 'banana', 'latest', '1', '1.2', '1.2.3.4', 'V1.2.3', 'vv1.2.3', '=1.2.3', ' 1.2.3', '1.2.3 ',
    '01.2.3', '1.02.3', '1.2.03', '1.2.3-01', '1.2.3-rc.01', '1.2.3-', '1.2.3-a..b', '1.2.3-rc_1', '1.2.3+build', 'v1.2.3+b.1',
    '^1.2.3', '>=1.2.3', '1.2.x', '1.2.3-ü', '99999999999999999999.0.0', '1.2.3-99999999999999999999', `1.2.3-${'a'.repeat(60)}`,
  ]) {
    const r = parseVersion(label);
    assert.equal(r.ok, false, String(label));
    if (!r.ok) assert.match(r.reason, /\w/);
  }
  const r = parseVersion('1.2.3+abc');
  assert.ok(!r.ok && /build metadata/.test(r.reason));
  const missing = parseVersion(undefined);
  assert.ok(!missing.ok && /missing/.test(missing.reason));
});

test('property: every generated label parses, and semver agrees on the normalized form', () => {
  fc.assert(
    fc.property(versionLabel, (label) => {
      const r = parseVersion(label);
      assert.ok(r.ok, label);
      assert.equal(r.version.text, semver.valid(label));
      assert.equal(normalizeVersion(r.version.text), r.version.text, 'normalization is idempotent');
    }),
    { numRuns: 2000 },
  );
});

test('property: anything we accept, semver accepts as the same version (soundness on arbitrary strings)', () => {
  const candidates = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.stringMatching(/^v?[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(-[0-9A-Za-z.-]{0,8})?$/),
  );
  fc.assert(
    fc.property(candidates, (s) => {
      const r = parseVersion(s);
      if (r.ok) assert.equal(semver.valid(s), r.version.text, s);
      else if (semver.valid(s) !== null) {
        // the only strict-semver strings we reject: whitespace semver trims, and build metadata
        assert.ok(s !== s.trim() || s.includes('+'), `rejected ${JSON.stringify(s)} which semver accepts`);
      }
    }),
    { numRuns: 5000 },
  );
});

test('property: precedence matches semver.compare', () => {
  fc.assert(
    fc.property(anyVersion, anyVersion, (a, b) => {
      assert.equal(compareVersions(mustParseVersion(a), mustParseVersion(b)), semver.compare(a, b), `${a} vs ${b}`);
    }),
    { numRuns: 5000 },
  );
});

test('mustParseVersion throws on invalid input', () => {
  assert.throws(() => mustParseVersion('banana'), TypeError);
});
