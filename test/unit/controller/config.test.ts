import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, usage } from '../../../src/controller/config.ts';
import { parseDuration } from '../../../src/platform/config.ts';
import { VoError } from '../../../src/core/errors.ts';

test('defaults, frozen', () => {
  const c = loadConfig([], {});
  assert.ok(c);
  assert.equal(c.leaseDurationMs, 15_000);
  assert.equal(c.renewDeadlineMs, 10_000);
  assert.equal(c.retryPeriodMs, 2_000);
  assert.equal(c.namespace, 'default');
  assert.equal(c.leaseNamespace, 'default');
  assert.equal(c.versionLabel, 'app.kubernetes.io/version');
  assert.deepEqual(c.namespaces, []);
  assert.equal(c.port, 8080);
  assert.equal(c.pushPort, 8788);
  assert.ok(Object.isFrozen(c));
});

test('flags beat env, env beats defaults', () => {
  const c = loadConfig(['--settle=2s', '--namespaces', 'a, b', '--identity', 'me'], { VERSION_OBSERVER_SETTLE: '5s', POD_NAME: 'pod-1', POD_NAMESPACE: 'vo', VERSION_OBSERVER_PUSH_CONCURRENCY: '8' });
  assert.ok(c);
  assert.equal(c.settleMs, 2000);
  assert.deepEqual(c.namespaces, ['a', 'b']);
  assert.equal(c.identity, 'me');
  assert.equal(c.namespace, 'vo');
  assert.equal(c.leaseNamespace, 'vo');
  assert.equal(c.pushConcurrency, 8);
});

test('durations', () => {
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('1.5s'), 1500);
  for (const bad of ['', '10', 's', '1x', '1s ']) if (bad.trim() !== '1s') assert.throws(() => parseDuration(bad));
});

test('invalid values fail naming the flag', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--lease-duration', '5s', '--renew-deadline', '10s'], /lease-duration must be greater/],
    [['--renew-deadline', '2s', '--retry-period', '2s', '--lease-duration', '15s'], /1.2/],
    [['--push-concurrency', '0'], /--push-concurrency/],
    [['--settle', 'soon'], /--settle/],
    [['--namespaces', 'Bad_NS'], /--namespaces/],
    [['--version-label', 'not a label'], /--version-label/],
    [['--nope', '1'], /unknown flag --nope/],
  ];
  for (const [argv, re] of cases) {
    assert.throws(() => loadConfig(argv, {}), (err: unknown) => err instanceof VoError && err.code === 'VO_CONFIG_INVALID' && re.test(err.message), argv.join(' '));
  }
});

test('--help returns null; usage lists every flag with its env', () => {
  assert.equal(loadConfig(['--help'], {}), null);
  assert.match(usage(), /--lease-duration.*VERSION_OBSERVER_LEASE_DURATION/);
  assert.match(usage(), /--identity.*POD_NAME/);
});
