import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import semver from 'semver';
import {
  backoffMs, reconnectDelayMs, changeBetween, compareVersions, decide, parseVersion, policyAllows, socketUrl, RECONNECT_BACKOFF,
  FAILURE_BACKOFF, OVERLOAD_HINT_MS, MAX_HINT_MS, overloadHintMs, type AppState,
} from '../../../src/client/decide.ts';
import { backoffStep } from '../../../src/core/backoff.ts';
import { compareVersions as coreCompare, mustParseVersion } from '../../../src/core/version.ts';
import { classify } from '../../../src/core/change.ts';

const state = (over: Partial<AppState> = {}): AppState => ({
  app: 'shop/storefront', phase: 'converged', version: '1.1.0', previousVersion: '1.0.0', change: 'minor',
  serving: { '1.1.0': 3 }, reason: null, epoch: 1, seq: 1, since: '2026-01-01T00:00:00.000Z', ...over,
});

const ident = fc.oneof(fc.nat({ max: 20 }).map(String), fc.constantFrom('alpha', 'beta', 'rc', 'x-1', 'a.b'));
const version = fc
  .tuple(fc.nat({ max: 5 }), fc.nat({ max: 5 }), fc.nat({ max: 5 }), fc.array(ident, { maxLength: 3 }))
  .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre.length ? `-${pre.join('.')}` : ''}`);

test('compareVersions agrees with the semver package on precedence', () => {
  fc.assert(
    fc.property(version, version, (a, b) => {
      const mine = Math.sign(compareVersions(parseVersion(a)!, parseVersion(b)!));
      assert.equal(mine, semver.compare(a, b), `${a} vs ${b}`);
    }),
    { numRuns: 2000 },
  );
});

test('parseVersion accepts a leading v and build metadata, refuses non-semver', () => {
  assert.deepEqual(parseVersion('v1.2.3-rc.1+b7'), [1, 2, 3, ['rc', '1']]);
  for (const bad of ['', '1.2', 'latest', '1.2.3.4', 'v', '1.2.x']) assert.equal(parseVersion(bad), null, bad);
});

test('changeBetween names the largest differing component', () => {
  const c = (a: string, b: string) => changeBetween(parseVersion(a)!, parseVersion(b)!);
  assert.equal(c('1.0.0', '2.0.0'), 'major');
  assert.equal(c('1.0.0', '1.1.5'), 'minor');
  assert.equal(c('1.0.0', '1.0.1'), 'patch');
  assert.equal(c('1.4.0-rc.1', '1.4.0'), 'prerelease');
  assert.equal(c('v1.0.0', '1.0.0'), 'none');
});

test('policy: the smallest change announced', () => {
  const table: Array<[string, string, boolean]> = [
    ['major', 'major', true], ['minor', 'major', false], ['patch', 'major', false],
    ['major', 'minor', true], ['minor', 'minor', true], ['patch', 'minor', false],
    ['patch', 'patch', true], ['prerelease', 'patch', false], ['prerelease', 'any', true], ['unknown', 'major', true],
  ];
  for (const [change, policy, want] of table) assert.equal(policyAllows(change, policy as 'any'), want, `${change} under ${policy}`);
});

test('decide: only a converged state can be an update', () => {
  assert.deepEqual(decide(state(), '1.0.0'), { kind: 'update', version: '1.1.0', change: 'minor' });
  assert.deepEqual(decide(state({ phase: 'progressing', reason: 'MixedVersions', serving: { '1.0.0': 2, '1.1.0': 1 } }), '1.0.0'), { kind: 'progress' });
  assert.deepEqual(decide(state({ phase: 'degraded', reason: 'ProgressDeadlineExceeded' }), '1.0.0'), { kind: 'progress' });
  assert.deepEqual(decide(state({ version: null }), '1.0.0'), { kind: 'none' });
});

test('decide: the page at the served version is current; lower served version is a rollback', () => {
  assert.deepEqual(decide(state(), '1.1.0'), { kind: 'current' });
  assert.deepEqual(decide(state(), 'v1.1.0'), { kind: 'current' });
  assert.deepEqual(decide(state({ version: '1.0.0', change: 'rollback' }), '1.1.0'), { kind: 'rollback', version: '1.0.0', change: 'rollback' });
  // a rollback is announced whatever the policy
  assert.equal(decide(state({ version: '1.0.0', change: 'rollback' }), '1.0.1', 'major').kind, 'rollback');
});

test('decide: the client policy overrides the state policy, which overrides the default (patch)', () => {
  assert.equal(decide(state({ version: '1.0.1' }), '1.0.0').kind, 'update');
  assert.equal(decide(state({ version: '1.0.1', policy: 'minor' }), '1.0.0').kind, 'none');
  assert.equal(decide(state({ version: '1.0.1', policy: 'minor' }), '1.0.0', 'patch').kind, 'update');
  assert.equal(decide(state({ version: '2.0.0', policy: 'major' }), '1.9.9').kind, 'update');
  assert.equal(decide(state({ version: '1.4.0' }), '1.4.0-rc.1').kind, 'none');
  assert.equal(decide(state({ version: '1.4.0' }), '1.4.0-rc.1', 'any').kind, 'update');
});

test('decide: versions that are not semver announce when they differ, never when equal', () => {
  assert.deepEqual(decide(state({ version: 'build-42' }), 'build-41'), { kind: 'update', version: 'build-42', change: 'unknown' });
  assert.deepEqual(decide(state({ version: 'build-42' }), 'build-42'), { kind: 'current' });
  assert.equal(decide(state({ version: 'build-40', change: 'rollback' }), 'build-41').kind, 'rollback');
});

test('decide is total: any state and page version give a decision; converged-only updates', () => {
  const phase = fc.constantFrom('converged', 'progressing', 'degraded') as fc.Arbitrary<AppState['phase']>;
  fc.assert(
    fc.property(phase, fc.option(version, { nil: null }), version, fc.constantFrom(undefined, 'major', 'minor', 'patch', 'any') as fc.Arbitrary<undefined | 'any'>, (p, v, page, pol) => {
      const d = decide(state({ phase: p, version: v }), page, pol);
      if (d.kind === 'update') {
        assert.equal(p, 'converged');
        assert.ok(semver.gt(v!, page));
      }
      if (d.kind === 'rollback') assert.ok(semver.lt(v!, page));
      if (d.kind === 'current') assert.ok(semver.eq(v!, page));
    }),
    { numRuns: 1000 },
  );
});

test('backoffMs: full jitter between 0 and min(30 s, 0.5 s · 2^attempt)', () => {
  assert.equal(backoffMs(0, 0.999999) < 500, true);
  assert.equal(backoffMs(0, 0), 0);
  assert.equal(Math.round(backoffMs(1, 0.5)), 500);
  assert.equal(Math.round(backoffMs(6, 1)), 30_000);
  assert.equal(Math.round(backoffMs(1000, 1)), 30_000);
  fc.assert(fc.property(fc.nat({ max: 100 }), fc.double({ min: 0, max: 1, noNaN: true }), (a, r) => {
    const ms = backoffMs(a, r);
    assert.ok(ms >= 0 && ms <= 30_000 && ms <= 500 * 2 ** a);
    assert.equal(ms, backoffStep(a + 1, RECONNECT_BACKOFF, r), 'core\'s step, the client\'s attempt 0 being core\'s 1');
  }));
});

test('socketUrl: same origin /version/ws by default, ws/wss by page scheme, page version as v', () => {
  assert.equal(socketUrl('https://shop.example.com/cart?x=1', undefined, '1.2.3'), 'wss://shop.example.com/version/ws?v=1.2.3');
  assert.equal(socketUrl('http://127.0.0.1:8080/', undefined, '1.0.0-rc.1'), 'ws://127.0.0.1:8080/version/ws?v=1.0.0-rc.1');
  assert.equal(socketUrl('https://a.example/', 'https://b.example/v/ws', '1.0.0'), 'wss://b.example/v/ws?v=1.0.0');
});

test('reconnectDelayMs: the first retry after a 1001 is spread over 100 ms; anything else backs off', () => {
  for (const r of [0, 0.25, 0.999999]) {
    assert.ok(reconnectDelayMs(0, r, 1001) < 100);
    assert.equal(reconnectDelayMs(0, r, 1006), backoffMs(0, r));
    assert.equal(reconnectDelayMs(0, r), backoffMs(0, r));
    assert.equal(reconnectDelayMs(1, r, 1001), backoffStep(2, FAILURE_BACKOFF, r), 'a failing reconnect backs off as usual');
  }
});

test('reconnectDelayMs after failures: equal jitter, so every draw waits at least half the ceiling', () => {
  // the floors (random 0) and ceilings (random → 1) of attempts 0..8: the bounds every tab obeys
  const floors = [0, 500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000];
  const ceilings = [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000];
  floors.forEach((floor, attempt) => {
    assert.equal(reconnectDelayMs(attempt, 0, 1006), floor, `floor of attempt ${attempt}`);
    assert.equal(reconnectDelayMs(attempt, 0.9999999, 1006), ceilings[attempt]! - 1, `ceiling of attempt ${attempt}`);
  });
  fc.assert(fc.property(fc.integer({ min: 1, max: 200 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(1001, 1006, 1008, 1011), (a, r, code) => {
    const ms = reconnectDelayMs(a, r, code);
    const ceiling = Math.min(30_000, 500 * 2 ** a);
    assert.ok(ms >= ceiling / 2 && ms <= ceiling, `${ms} for attempt ${a}`);
  }));
});

test('overload: a 1013 waits [5 s, 10 s) more; a `retry-after=<s>` reason sets the hint, capped at 10 min', () => {
  assert.equal(overloadHintMs(1013, 'VO_WS_AT_CAPACITY'), OVERLOAD_HINT_MS);
  assert.equal(overloadHintMs(1013, 'VO_WS_AT_CAPACITY retry-after=12'), 12_000);
  assert.equal(overloadHintMs(1008, 'VO_WS_RATE_LIMITED retry-after=3'), 3_000, 'any close may carry a hint');
  assert.equal(overloadHintMs(1013, 'retry-after=99999'), MAX_HINT_MS);
  assert.equal(overloadHintMs(1006, ''), 0);
  assert.equal(overloadHintMs(1001), 0);
  assert.equal(reconnectDelayMs(0, 0, 1013), 5_000);
  assert.equal(reconnectDelayMs(0, 0.5, 1013), 7_500 + 250);
  assert.equal(reconnectDelayMs(3, 0.5, 1013), 7_500 + 3_000, 'the hint adds to the failure backoff');
  assert.equal(reconnectDelayMs(0, 0.5, 1001, 'retry-after=2'), 3_000 + 250, 'a 1001 with a hint is not the quick path');
  fc.assert(fc.property(fc.nat({ max: 50 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 3600 }), (a, r, s) => {
    const hint = Math.min(s * 1000, MAX_HINT_MS);
    const ms = reconnectDelayMs(a, r, 1013, `VO_WS_AT_CAPACITY retry-after=${s}`);
    assert.ok(ms >= hint && ms <= 2 * hint + 30_000, `${ms} for hint ${hint}`);
  }));
});

// The client keeps its own version/policy copy (see the top of src/client/decide.ts); these hold
// the two copies together where they are meant to agree, so neither drifts unnoticed.
const label = version.map((v) => v.replace(/(^|[.-])0+(\d)/g, '$1$2')); // core refuses leading zeros

test('the client\'s version precedence is core\'s on every valid label', () => {
  fc.assert(
    fc.property(label, label, (a, b) => {
      const client = Math.sign(compareVersions(parseVersion(a)!, parseVersion(b)!));
      assert.equal(client, coreCompare(mustParseVersion(a), mustParseVersion(b)), `${a} vs ${b}`);
    }),
    { numRuns: 2000 },
  );
});

test('the client\'s change is core\'s classify, except from a pre-release page to a release', () => {
  fc.assert(
    fc.property(label, label, (page, served) => {
      const client = changeBetween(parseVersion(page)!, parseVersion(served)!);
      const core = classify(page, served);
      if (core === 'rollback' || core === 'none') return; // decide() answers these before asking for a change
      if (mustParseVersion(page).prerelease.length > 0 && mustParseVersion(served).prerelease.length === 0) return;
      assert.equal(client, core, `${page} → ${served}`);
    }),
    { numRuns: 2000 },
  );
  // the documented difference: core says the app took a minor step, the page hears of a pre-release change
  assert.equal(classify('1.4.0-rc.1', '1.4.0'), 'minor');
  assert.equal(changeBetween(parseVersion('1.4.0-rc.1')!, parseVersion('1.4.0')!), 'prerelease');
});
