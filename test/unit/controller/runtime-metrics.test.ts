import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { TerminalError, WorkQueue, runWorker } from '../../../src/controller/queue.ts';
import { createRuntimeMetrics } from '../../../src/controller/runtime-metrics.ts';
import { metric } from '../../support/metrics-text.ts';
import { FakeClock, settle } from '../../support/fake-clock.ts';

test('work-queue metrics: adds after dedup, depth, wait and work time on the queue clock, retries, work in progress', async () => {
  const registry = new Registry();
  const m = createRuntimeMetrics(registry);
  const clock = new FakeClock();
  const q = new WorkQueue({ clock, observer: m.queue, baseMs: 10 });
  q.add('a/x');
  q.add('a/x');
  q.add('a/y');
  let text = await registry.metrics();
  assert.equal(metric(text, 'version_observer_workqueue_adds_total{name="app"}'), 2, 'the duplicate is not an add');
  assert.equal(metric(text, 'version_observer_workqueue_depth{name="app"}'), 2);
  await clock.advance(250);
  const key = await q.get();
  await clock.advance(1500);
  text = await registry.metrics();
  assert.equal(metric(text, 'version_observer_workqueue_queue_duration_seconds_sum{name="app"}'), 0.25);
  assert.equal(metric(text, 'version_observer_workqueue_depth{name="app"}'), 1);
  assert.equal(metric(text, 'version_observer_workqueue_longest_running_processor_seconds{name="app"}'), 1.5);
  assert.equal(metric(text, 'version_observer_workqueue_unfinished_work_seconds{name="app"}'), 1.5);
  q.done(key as string);
  q.addRateLimited('a/x');
  text = await registry.metrics();
  assert.equal(metric(text, 'version_observer_workqueue_work_duration_seconds_sum{name="app"}'), 1.5);
  assert.equal(metric(text, 'version_observer_workqueue_longest_running_processor_seconds{name="app"}'), 0);
  assert.equal(metric(text, 'version_observer_workqueue_retries_total{name="app"}'), 1);
  q.shutdown();
});

test('reconcile metrics: success, requeue_after, error and terminal counted as controller-runtime does', async () => {
  const registry = new Registry();
  const m = createRuntimeMetrics(registry);
  const q = new WorkQueue({ clock: new FakeClock(), observer: m.queue });
  const outcomes: Record<string, () => { requeueAfterMs?: number } | void> = {
    ok: () => {},
    later: () => ({ requeueAfterMs: 60_000 }),
    fail: () => {
      throw new Error('retry me');
    },
    never: () => {
      throw new TerminalError('give up');
    },
  };
  const worker = runWorker(q, (key) => outcomes[key]!());
  for (const key of Object.keys(outcomes)) q.add(key);
  await settle();
  q.shutdown();
  await worker;
  const text = await registry.metrics();
  assert.equal(metric(text, 'version_observer_reconcile_total{controller="app",result="success"}'), 1);
  assert.equal(metric(text, 'version_observer_reconcile_total{controller="app",result="requeue_after"}'), 1);
  assert.equal(metric(text, 'version_observer_reconcile_total{controller="app",result="error"}'), 2, 'terminal errors are errors too');
  assert.equal(metric(text, 'version_observer_reconcile_errors_total{controller="app"}'), 2);
  assert.equal(metric(text, 'version_observer_terminal_reconcile_errors_total{controller="app"}'), 1);
  assert.equal(metric(text, 'version_observer_reconcile_duration_seconds_count{controller="app"}'), 4);
});

test('API requests by verb and code; app (epoch, seq) read from the bound states at scrape time', async () => {
  const registry = new Registry();
  const m = createRuntimeMetrics(registry);
  m.apiRequest('GET', '200', 0.01);
  m.apiRequest('WATCH', '410', 0.02);
  m.bindStates(() => [{ app: 'shop/web', epoch: 3, seq: 7 } as never]);
  const text = await registry.metrics();
  assert.equal(metric(text, 'version_observer_rest_client_requests_total{verb="GET",code="200"}'), 1);
  assert.equal(metric(text, 'version_observer_rest_client_requests_total{verb="WATCH",code="410"}'), 1);
  assert.equal(metric(text, 'version_observer_rest_client_request_duration_seconds_count{verb="WATCH"}'), 1);
  assert.equal(metric(text, 'version_observer_app_state_epoch{app="shop/web"}'), 3);
  assert.equal(metric(text, 'version_observer_app_state_seq{app="shop/web"}'), 7);
});
