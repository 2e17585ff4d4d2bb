import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, usage } from '../../../src/controller/config.ts';
import { DEFAULT_HEALTH_TOLERANCE_MS } from '../../../src/controller/leaderelection/config.ts';
import { DEFAULT_VERSION_LABEL } from '../../../src/core/labels.ts';
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

test('durations are Go durations (the parser itself: test/unit/platform/config.test.ts)', () => {
  const c = loadConfig(['--push-timeout', '1m30s', '--settle=500ms'], { VERSION_OBSERVER_HEALTH_TOLERANCE: '1.5s' });
  assert.ok(c);
  assert.equal(c.pushTimeoutMs, 90_000);
  assert.equal(c.settleMs, 500);
  assert.equal(c.healthToleranceMs, 1500);
  assert.throws(() => loadConfig(['--settle', '10'], {}), /--settle must be a duration/);
});

test('the defaults shared with other modules are theirs: health tolerance 5s (the elector), version label (core)', () => {
  const c = loadConfig([], {});
  assert.ok(c);
  assert.equal(c.healthToleranceMs, 5_000);
  assert.equal(c.healthToleranceMs, DEFAULT_HEALTH_TOLERANCE_MS);
  assert.equal(c.versionLabel, DEFAULT_VERSION_LABEL);
  assert.equal(c.resyncMs, 5 * 60_000);
  assert.equal(c.watchSilenceMs, 10 * 60_000);
  assert.equal(c.eventDedupMs, 10 * 60_000);
  assert.equal(c.pushTimeoutMs, 5_000);
  assert.equal(c.pushConcurrency, 64);
  assert.equal(c.settleMs, 0);
  assert.equal(c.listenHost, '0.0.0.0');
  assert.equal(c.logLevel, 'info');
  assert.equal(c.kubeconfig, null);
  assert.match(c.identity, /^.+_[0-9a-f]{8}$/);
  assert.ok(Object.isFrozen(c.namespaces));
});

test('invalid values fail naming the flag', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--lease-duration', '5s', '--renew-deadline', '10s'], /lease-duration must be greater/],
    [['--renew-deadline', '2s', '--retry-period', '2s', '--lease-duration', '15s'], /--renew-deadline must be greater than 1.2 × --retry-period$/],
    [['--retry-period', '0'], /--retry-period must be a number greater than zero/],
    [['--resync-period', '500ms'], /--resync-period must be 0 \(off\) or ≥ 1s/],
    [['--log-level', 'loud'], /--log-level must be one of/],
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

test('a value from the env is named by its env variable; the Lease rules by their flags', () => {
  const bad = (env: Record<string, string>, re: RegExp) =>
    assert.throws(() => loadConfig([], env), (err: unknown) => err instanceof VoError && re.test(err.message), JSON.stringify(env));
  bad({ VERSION_OBSERVER_PORT: '70000' }, /VERSION_OBSERVER_PORT must be an integer in \[0, 65535\], got "70000"/);
  bad({ VERSION_OBSERVER_LEASE_DURATION: '5s' }, /--lease-duration must be greater than --renew-deadline$/);
});

test('--help returns null; usage lists every flag with its env', () => {
  assert.equal(loadConfig(['--help'], {}), null);
  assert.match(usage(), /--lease-duration.*VERSION_OBSERVER_LEASE_DURATION/);
  assert.match(usage(), /--identity.*POD_NAME/);
});
