import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_LISTEN_BACKOFF, IDLE_POD, finished, listenRetryDelay, isPushTarget, needsPush, nextStep, outcomeOf, podKey, started,
  type PodPush,
} from '../../../src/core/push-policy.ts';
import { backoffCeilingMs, backoffStep } from '../../../src/core/backoff.ts';
import { compareOrder, type Order } from '../../../src/core/order.ts';

const o = (epoch: number, seq: number): Order => ({ epoch, seq });
const cfg = { baseMs: 100, maxMs: 1000 };

test('needsPush: only a newer (epoch, seq) than the acknowledged one (order: test/unit/core/order.test.ts)', () => {
  assert.equal(needsPush(o(1, 99), o(2, 0)), true);
  assert.equal(needsPush(undefined, o(1, 1)), true);
  assert.equal(needsPush(o(1, 1), o(1, 1)), false);
  assert.equal(needsPush(o(1, 2), o(1, 1)), false);
  assert.equal(needsPush(o(1, 1), null), false);
});

test('one pod: send, busy while in flight, latest state wins, idle when acked', () => {
  let pod: PodPush = IDLE_POD;
  assert.deepEqual(nextStep(pod, null, 0), { kind: 'idle' });
  assert.deepEqual(nextStep(pod, o(1, 1), 0), { kind: 'send', order: o(1, 1) });
  pod = started(pod, o(1, 1));
  // states 2 and 3 arrive while 1 is in flight: nothing more is started
  assert.deepEqual(nextStep(pod, o(1, 3), 1), { kind: 'busy' });
  pod = finished(pod, 'applied', 5, 0.5, cfg);
  assert.deepEqual(pod, { acked: o(1, 1), inFlight: null, failures: 0, refusals: 0, retryAtMs: 0 });
  // only the latest (3) is sent next; 2 is coalesced away
  assert.deepEqual(nextStep(pod, o(1, 3), 6), { kind: 'send', order: o(1, 3) });
  pod = finished(started(pod, o(1, 3)), 'applied', 7, 0.5, cfg);
  assert.deepEqual(nextStep(pod, o(1, 3), 8), { kind: 'idle' });
});

test('failures back off with full jitter; a success resets; 409 counts as acknowledged', () => {
  let pod = finished(started(IDLE_POD, o(1, 1)), 'failed', 1000, 0.5, cfg);
  assert.deepEqual(pod, { acked: null, inFlight: null, failures: 1, refusals: 0, retryAtMs: 1050 });
  assert.deepEqual(nextStep(pod, o(1, 1), 1010), { kind: 'wait', delayMs: 40 });
  // a newer state does not jump the backoff queue (an unreachable pod is not hammered)
  assert.deepEqual(nextStep(pod, o(1, 2), 1010), { kind: 'wait', delayMs: 40 });
  assert.deepEqual(nextStep(pod, o(1, 2), 1050), { kind: 'send', order: o(1, 2) });
  pod = finished(started(pod, o(1, 2)), 'failed', 1050, 0.5, cfg);
  assert.deepEqual([pod.failures, pod.retryAtMs], [2, 1150]);
  pod = finished(started(pod, o(1, 2)), 'stale', 1200, 0.5, cfg);
  assert.deepEqual(pod, { acked: o(1, 2), inFlight: null, failures: 0, refusals: 0, retryAtMs: 0 });
  // an ack of an older order never moves acked backwards
  const back = finished(started({ ...pod }, o(1, 1)), 'applied', 1300, 0, cfg);
  assert.deepEqual(back.acked, o(1, 2));
});

test('a failure waits a full-jitter step of core backoffStep, growing with failures and capped', () => {
  assert.deepEqual(finished(started(IDLE_POD, o(1, 1)), 'failed', 0, 0.999999).retryAtMs, 249, 'default: 250 ms first ceiling');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 60 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.nat({ max: 1e9 }), (prior, r, now) => {
      const pod = finished(started({ ...IDLE_POD, failures: prior }, o(1, 1)), 'failed', now, r, cfg);
      assert.equal(pod.failures, prior + 1);
      assert.equal(pod.retryAtMs - now, backoffStep(prior + 1, { ...cfg, jitter: 'full' }, r));
      assert.ok(pod.retryAtMs - now <= backoffCeilingMs(prior + 1, cfg));
    }),
  );
});

test('outcomeOf maps sidecar answers; a refused connect is "not listening", not a failure', () => {
  assert.equal(outcomeOf(204), 'applied');
  assert.equal(outcomeOf(409), 'stale');
  for (const s of [null, 400, 401, 413, 500, 503]) assert.equal(outcomeOf(s), 'failed');
  assert.equal(outcomeOf(null, 'refused'), 'not_listening');
  for (const e of ['timeout', 'reset', 'unreachable', 'network', 'too_large']) assert.equal(outcomeOf(null, e), 'failed');
});

test('a refused connect waits the short listen backoff and leaves the failure count alone', () => {
  const listen = { baseMs: 100, maxMs: 2000 };
  // two real failures, then the sidecar restarts: refused connects do not grow the failure backoff
  let pod = finished(started({ ...IDLE_POD, failures: 2, acked: o(1, 1) }, o(1, 2)), 'not_listening', 1000, 0.5, cfg, listen);
  assert.deepEqual(pod, { acked: o(1, 1), inFlight: null, failures: 2, refusals: 1, retryAtMs: 1050 });
  pod = finished(started(pod, o(1, 2)), 'not_listening', 2000, 0.5, cfg, listen);
  assert.deepEqual([pod.failures, pod.refusals, pod.retryAtMs], [2, 2, 2100]);
  for (let i = 0; i < 10; i++) pod = finished(started(pod, o(1, 2)), 'not_listening', 5000, 0.999999, cfg, listen);
  assert.equal(pod.retryAtMs - 5000, 1999, 'capped at the listen maximum, far below the failure cap');
  // the default: quick retries first ([25, 50) ms), a starting sidecar's window
  assert.equal(finished(started(IDLE_POD, o(1, 1)), 'not_listening', 0, 0.999999).retryAtMs, 49);
  assert.equal(finished(started(IDLE_POD, o(1, 1)), 'not_listening', 0, 0).retryAtMs, 25);
  // listening again: an answer resets both counts
  pod = finished(started(pod, o(1, 2)), 'applied', 6000, 0.5, cfg, listen);
  assert.deepEqual(pod, { acked: o(1, 2), inFlight: null, failures: 0, refusals: 0, retryAtMs: 0 });
  // a failure after listening resets the refusals (the sidecar was there)
  pod = finished(started({ ...IDLE_POD, refusals: 3 }, o(1, 3)), 'failed', 0, 0.5, cfg, listen);
  assert.deepEqual([pod.failures, pod.refusals, pod.retryAtMs], [1, 0, 50]);
});

test('listen retries: fastTries quick ones within [fastMs/2, fastMs], then 100 ms → 2 s with full jitter', () => {
  const listen = DEFAULT_LISTEN_BACKOFF;
  const fast = listen.fastTries!;
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 400 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (refusals, r) => {
      const d = listenRetryDelay(refusals, listen, r);
      if (refusals <= fast) return d >= listen.fastMs! / 2 && d <= listen.fastMs!;
      return d >= 0 && d <= Math.min(listen.maxMs, listen.baseMs * 2 ** (refusals - fast - 1));
    }),
  );
  // the quick window covers a slow start (~80 × 37 ms ≈ 3 s at the mean), then at most 2 s apart
  assert.ok(fast * (listen.fastMs! * 0.75) >= 2_500);
  assert.equal(listenRetryDelay(fast + 100, listen, 0.999999), 1999);
  // without fast settings the exponential starts at the first refusal
  assert.equal(listenRetryDelay(1, { baseMs: 100, maxMs: 2000 }, 0.999999), 99);
});

test('push targets and pod keys', () => {
  assert.equal(isPushTarget({ podIP: '127.0.0.5', phase: 'Running' }), true);
  assert.equal(isPushTarget({ podIP: '127.0.0.5' }), true);
  assert.equal(isPushTarget({ podIP: '127.0.0.5', phase: 'Pending' }), false);
  assert.equal(isPushTarget({ podIP: '', phase: 'Running' }), false);
  assert.equal(isPushTarget({ phase: 'Running' }), false);
  assert.equal(podKey({ namespace: 'ns', name: 'a', podIP: '10.0.0.1' }), 'ns/a@10.0.0.1', 'a new IP is a new key');
});

test('property: a simulated pod converges to the latest state, with at most one push in flight', () => {
  const op = fc.oneof(
    fc.record({ t: fc.constant('state' as const) }),
    fc.record({ t: fc.constant('tick' as const), dt: fc.nat({ max: 500 }) }),
    fc.record({ t: fc.constant('done' as const), status: fc.constantFrom<number | null>(204, 409, 500, null), error: fc.constantFrom<string | null>(null, 'refused', 'timeout'), r: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      let pod: PodPush = IDLE_POD;
      let current: Order | null = null;
      let now = 0;
      let inFlight = 0;
      const sent: Order[] = [];
      const pump = () => {
        const s = nextStep(pod, current, now);
        if (s.kind === 'send') {
          assert.equal(inFlight, 0, 'one in flight');
          assert.deepEqual(s.order, current, 'only the latest state is sent');
          pod = started(pod, s.order);
          inFlight++;
          sent.push(s.order);
        }
      };
      for (const x of ops) {
        if (x.t === 'state') current = o(1, (current?.seq ?? 0) + 1);
        else if (x.t === 'tick') now += x.dt;
        else if (inFlight === 1) {
          pod = finished(pod, outcomeOf(x.status, x.error), now, x.r, cfg);
          inFlight--;
        }
        pump();
      }
      for (let i = 1; i < sent.length; i++) assert.ok(compareOrder(sent[i]!, sent[i - 1]!) >= 0, 'sends never go backwards');
      // drain: everything succeeds from now on
      for (let i = 0; i < 5 && current !== null; i++) {
        if (inFlight === 1) {
          pod = finished(pod, 'applied', now, 0, cfg);
          inFlight--;
        }
        now += cfg.maxMs;
        pump();
      }
      if (inFlight === 1) pod = finished(pod, 'applied', now, 0, cfg);
      assert.deepEqual(nextStep(pod, current, now + cfg.maxMs), { kind: 'idle' });
    }),
    { numRuns: 1000 },
  );
});
