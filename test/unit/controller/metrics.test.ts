import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics, phaseCounter, recordPushResult, resetControllerGauges } from '../../../src/controller/metrics.ts';

test('push results: duration by applied/stale/failed/not_listening, failures by network reason or http_<status>', async () => {
  const m = createMetrics({ defaultMetrics: false });
  recordPushResult(m, { status: 204, error: null, seconds: 0.01 });
  recordPushResult(m, { status: 200, error: null, seconds: 0.01 });
  recordPushResult(m, { status: 409, error: null, seconds: 0.01 });
  recordPushResult(m, { status: null, error: 'refused', seconds: 0.01 });
  recordPushResult(m, { status: 503, error: null, seconds: 0.01 });
  recordPushResult(m, { status: null, error: 'timeout', seconds: 5, queueSeconds: 0.5, stats: { inFlight: 3, queued: 7, namespacesAtBound: 1, notListening: 2 } });
  const text = await m.registry.metrics();
  assert.match(text, /version_observer_push_duration_seconds_count\{result="applied"\} 2/);
  assert.match(text, /version_observer_push_duration_seconds_count\{result="stale"\} 1/);
  assert.match(text, /version_observer_push_duration_seconds_count\{result="failed"\} 2/);
  // a refused connect: the sidecar is not listening yet; not a failure
  assert.match(text, /version_observer_push_duration_seconds_count\{result="not_listening"\} 1/);
  assert.match(text, /version_observer_push_not_listening_total 1/);
  assert.doesNotMatch(text, /reason="refused"/);
  assert.match(text, /version_observer_push_failures_total\{reason="timeout"\} 1/);
  assert.match(text, /version_observer_push_queue_wait_seconds_count 1/);
  assert.match(text, /version_observer_push_in_flight 3/);
  assert.match(text, /version_observer_push_queued 7/);
  assert.match(text, /version_observer_push_namespaces_at_bound 1/);
  assert.match(text, /version_observer_push_sidecars_not_listening 2/);
  assert.match(text, /version_observer_push_failures_total\{reason="http_503"\} 1/);
});

test('apps gauge: every phase starts at 0 and follows the counter', async () => {
  const m = createMetrics({ defaultMetrics: false });
  resetControllerGauges(m);
  const count = phaseCounter(m);
  count('progressing', 1);
  count('progressing', 1);
  count('progressing', -1);
  count('converged', 1);
  const text = await m.registry.metrics();
  assert.match(text, /version_observer_apps\{phase="converged"\} 1/);
  assert.match(text, /version_observer_apps\{phase="progressing"\} 1/);
  assert.match(text, /version_observer_apps\{phase="degraded"\} 0/);
  assert.match(text, /version_observer_leader 0/);
});
