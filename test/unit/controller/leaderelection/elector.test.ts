/**
 * The election loop with a stepped clock and an in-memory lock that keeps the Lease's
 * optimistic-concurrency rules (client-go's tests use a fake clientset the same way).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createElector } from '../../../../src/controller/leaderelection/elector.ts';
import type { Elector } from '../../../../src/controller/leaderelection/elector.ts';
import type { ElectorConfig } from '../../../../src/controller/leaderelection/config.ts';
import { VoError } from '../../../../src/core/errors.ts';
import { KubeConfig } from '@kubernetes/client-node';

const kubeConfig = new KubeConfig(); // unused: the lock is injected
import { FakeClock, MemoryLeaseStore, MemoryLock, record, settle } from './helpers.ts';

interface Harness {
  elector: Elector;
  events: string[];
  signals: AbortSignal[];
  ac: AbortController;
  done: Promise<void>;
  lock: MemoryLock;
}

function start(store: MemoryLeaseStore, clock: FakeClock, identity: string, over: Partial<ElectorConfig> = {}): Harness {
  const lock = new MemoryLock(store, identity);
  const events: string[] = [];
  const signals: AbortSignal[] = [];
  const elector = createElector(
    { kubeConfig, namespace: 'test', name: 'lease', identity, ...over },
    {
      onStartedLeading(leading, epoch) {
        events.push(`started:${epoch}`);
        signals.push(leading);
        leading.addEventListener('abort', () => events.push(`aborted:${epoch}:writes=${store.writes.length}`));
      },
      onStoppedLeading() {
        events.push(`stopped:writes=${store.writes.length}`);
      },
      onNewLeader(id) {
        events.push(`new:${id}`);
      },
    },
    { lock, clock },
  );
  const ac = new AbortController();
  const done = elector.run(ac.signal);
  return { elector, events, signals, ac, done, lock };
}

const T0 = 1_700_000_000_000;
const firstEpoch = Math.floor(T0 / 1000);

test('config is validated in the constructor with readable errors naming each field', () => {
  const cb = { onStartedLeading() {}, onStoppedLeading() {} };
  const bad = (cfg: Partial<ElectorConfig>, callbacks: object, re: RegExp) => {
    assert.throws(
      () => createElector({ namespace: 'ns', name: 'l', identity: 'a', ...cfg } as ElectorConfig, callbacks as typeof cb),
      (err: unknown) => err instanceof VoError && err.code === 'VO_CONFIG_INVALID' && re.test(err.message),
    );
  };
  bad({}, cb, /kubeConfig is required/);
  const lock = new MemoryLock(new MemoryLeaseStore(), 'a');
  const mk = (cfg: Partial<ElectorConfig>, callbacks: object = cb) =>
    createElector({ kubeConfig, namespace: 'ns', name: 'l', identity: 'a', ...cfg } as ElectorConfig, callbacks as typeof cb, { lock });
  assert.throws(() => mk({ leaseDurationMs: 10_000 }), /leaseDurationMs \(10000\) must be greater than renewDeadlineMs \(10000\)/);
  assert.throws(() => mk({ renewDeadlineMs: 2_400 }), /renewDeadlineMs \(2400\) must be greater than 1.2 × retryPeriodMs/);
  assert.throws(() => mk({ retryPeriodMs: 0 }), /retryPeriodMs must be a number greater than zero/);
  assert.throws(() => mk({ identity: ' ' }), /identity must be a non-empty string/);
  assert.throws(() => mk({ namespace: '' }), /namespace must be a non-empty string/);
  assert.throws(() => mk({}, { onStartedLeading() {} }), /onStoppedLeading must be a function/);
  assert.throws(() => mk({ healthToleranceMs: -1 }), /healthToleranceMs must be a number >= 0/);
  // Several problems are reported together.
  assert.throws(() => mk({ identity: '', retryPeriodMs: -5 }, {}), (err: Error) => err.message.split(';').length >= 4);
  assert.doesNotThrow(() => mk({}));
});

test('acquires an absent Lease by creating it; renews every retryPeriod with the same epoch', async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryLeaseStore();
  const h = start(store, clock, 'a');
  await settle();
  assert.deepEqual(h.events, ['new:a', `started:${firstEpoch}`]);
  assert.equal(h.elector.isLeader(), true);
  assert.equal(h.elector.epoch(), firstEpoch);
  assert.equal(h.elector.leaderIdentity(), 'a');
  assert.equal(store.writes[0]?.op, 'create');
  assert.deepEqual(store.lease?.record, { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTimeMs: T0, renewTimeMs: T0, leaseTransitions: 0, epoch: firstEpoch });

  await clock.advance(2_000);
  assert.equal(store.writes.length, 2);
  assert.equal(store.lease?.record.renewTimeMs, T0 + 2_000);
  assert.equal(store.lease?.record.acquireTimeMs, T0);
  assert.equal(store.lease?.record.epoch, firstEpoch);
  await clock.advance(6_000);
  assert.equal(store.writes.length, 5, 'one renewal per retryPeriod');
  assert.equal(h.elector.isLeader(), true);

  h.ac.abort();
  await h.done;
  assert.equal(store.lease?.record.holderIdentity, '', 'released on cancel');
  assert.equal(store.lease?.record.leaseDurationSeconds, 1);
  assert.equal(store.lease?.record.epoch, firstEpoch, 'release keeps the epoch');
  assert.equal(clock.pending(), 0, 'no timer left behind');
});

test('a held Lease is judged from the local observation time, never from its remote renewTime', async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryLeaseStore();
  // The holder's clock is an hour behind ours: its renewTime looks long expired.
  store.put(record({ holderIdentity: 'b', renewTimeMs: T0 - 3_600_000, acquireTimeMs: T0 - 3_600_000, leaseTransitions: 4, epoch: 50 }));
  const h = start(store, clock, 'a');
  await settle();
  assert.deepEqual(h.events, ['new:b']);
  assert.equal(h.elector.isLeader(), false);
  assert.equal(h.elector.leaderIdentity(), 'b');

  // b renews (its record changes) every 2 s for 20 s: a never takes over.
  let lastPut = 0;
  for (let i = 1; i <= 10; i++) {
    store.put(record({ holderIdentity: 'b', renewTimeMs: T0 - 3_600_000 + i * 2_000, leaseTransitions: 4, epoch: 50 }));
    lastPut = clock.now();
    await clock.advance(2_000);
    assert.equal(h.elector.isLeader(), false);
  }
  // b stopped renewing at lastPut; a saw that change at its next attempt (≤ 2.2 s later).
  await clock.advance(lastPut + 14_999 - clock.now());
  assert.equal(h.elector.isLeader(), false, 'not before leaseDuration has passed since the last observed change');
  await clock.advance(2_300);
  assert.equal(h.elector.isLeader(), true);
  const took = store.writes[0];
  assert.ok(took && took.by === 'a');
  const after = took.record.acquireTimeMs! - lastPut;
  assert.ok(after >= 15_000 && after <= 15_000 + 2_200 + 1, `took over ${after} ms after the last renewal`);
  assert.equal(took.record.leaseTransitions, 5, 'leaseTransitions +1 on a change of holder');
  assert.ok(took.record.epoch > 50);
  assert.deepEqual(h.events.slice(-2), ['new:a', `started:${took.record.epoch}`]);
  h.ac.abort();
  await h.done;
});

test('a released Lease (holder empty) is taken at the next attempt with a higher epoch', async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryLeaseStore();
  store.put(record({ holderIdentity: 'b', epoch: firstEpoch + 10 }));
  const h = start(store, clock, 'a');
  await settle();
  assert.equal(h.elector.isLeader(), false);
  store.put(record({ holderIdentity: '', leaseDurationSeconds: 1, epoch: firstEpoch + 10 }));
  await clock.advance(2_200); // retryPeriod × (1 + 0.2 × 0.5)
  assert.equal(h.elector.isLeader(), true);
  assert.equal(h.elector.epoch(), firstEpoch + 11);
  h.ac.abort();
  await h.done;
});

test('renewal failing: the leading signal aborts exactly at renewDeadline, before onStoppedLeading; re-acquisition gets a new epoch', async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryLeaseStore();
  const h = start(store, clock, 'a');
  await settle();
  await clock.advance(2_000); // renewed at T0 + 2 s
  assert.equal(store.writes.length, 2);
  store.mode = 'fail';
  await clock.advance(9_999); // deadline is T0 + 2 s + 10 s
  assert.equal(h.elector.isLeader(), true);
  assert.equal(h.signals[0]?.aborted, false);
  await clock.advance(1);
  assert.equal(h.signals[0]?.aborted, true);
  assert.equal(h.elector.isLeader(), false);
  assert.equal(h.elector.epoch(), null);
  assert.deepEqual(h.events.slice(-2), [`aborted:${firstEpoch}:writes=2`, 'stopped:writes=2']);
  assert.equal(h.elector.healthy(), true, 'a non-leader is healthy');

  // The API comes back; the Lease still names us: we re-acquire at once, with a higher epoch.
  store.mode = 'ok';
  clock.t += 1_000; // a second later, so the epoch is not merely +1 of the clock
  await clock.advance(2_200);
  assert.equal(h.elector.isLeader(), true);
  const e2 = h.elector.epoch()!;
  assert.ok(e2 > firstEpoch);
  assert.deepEqual(h.events.slice(-1), [`started:${e2}`]);
  assert.ok(!h.events.includes('new:a') || h.events.filter((e) => e === 'new:a').length === 1, 'same leader is not reported twice');
  h.ac.abort();
  await h.done;
});

test('a hanging renewal cannot keep us leading past renewDeadline', async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryLeaseStore();
  const h = start(store, clock, 'a', { releaseOnCancel: false });
  await settle();
  store.mode = 'hang';
  await clock.advance(9_999);
  assert.equal(h.elector.isLeader(), true);
  await clock.advance(1);
  assert.equal(h.signals[0]?.aborted, true);
  assert.equal(h.events.at(-1), 'stopped:writes=1');
  h.ac.abort();
  await h.done;
  assert.equal(clock.pending(), 0);
});

test('isLeader() steps down synchronously once renewDeadline has passed, even before timers run', async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryLeaseStore();
  const h = start(store, clock, 'a', { releaseOnCancel: false });
  await settle();
  clock.t += 10_000; // time jumps (a stalled event loop) without firing any timer
  assert.equal(h.elector.isLeader(), false);
  assert.equal(h.signals[0]?.aborted, true);
  h.ac.abort();
  await h.done;
});

test('another acquisition seen at renewal (409 then a foreign record): stop leading at once', async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryLeaseStore();
  const h = start(store, clock, 'a');
  await settle();
  store.put(record({ holderIdentity: 'b', epoch: firstEpoch + 1, leaseTransitions: 1 }));
  await clock.advance(2_000);
  assert.equal(h.signals[0]?.aborted, true);
  assert.equal(h.elector.isLeader(), false);
  assert.equal(h.elector.leaderIdentity(), 'b');
  const i = (e: string) => h.events.indexOf(e);
  assert.ok(i(`aborted:${firstEpoch}:writes=1`) >= 0 && i('new:b') >= 0 && i(`aborted:${firstEpoch}:writes=1`) < i('stopped:writes=1'));
  assert.equal(store.lease?.record.holderIdentity, 'b', 'we never overwrite the new holder');
  // The same identity in another process re-acquiring (epoch moved) is also a loss.
  h.ac.abort();
  await h.done;
  assert.equal(store.lease?.record.holderIdentity, 'b', 'release does not touch a Lease we no longer hold');
});

test('release(): leading signal first, then the Lease written released, then onStoppedLeading; run() returns', async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryLeaseStore();
  const h = start(store, clock, 'a');
  await settle();
  await clock.advance(2_000);
  await h.elector.release();
  await h.done;
  assert.deepEqual(h.events.slice(-2), [`aborted:${firstEpoch}:writes=2`, 'stopped:writes=3']);
  const last = store.writes.at(-1)!;
  assert.deepEqual(last.record, { holderIdentity: '', leaseDurationSeconds: 1, acquireTimeMs: T0 + 2_000, renewTimeMs: T0 + 2_000, leaseTransitions: 0, epoch: firstEpoch });
  assert.equal(h.elector.isLeader(), false);
  assert.equal(clock.pending(), 0);
});

test('cancel with releaseOnCancel false leaves the Lease to expire', async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryLeaseStore();
  const h = start(store, clock, 'a', { releaseOnCancel: false });
  await settle();
  h.ac.abort();
  await h.done;
  assert.equal(store.lease?.record.holderIdentity, 'a');
  assert.deepEqual(h.events.slice(-2), [`aborted:${firstEpoch}:writes=1`, 'stopped:writes=1']);
});

test('onStoppedLeading runs once when run() ends without ever leading', async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryLeaseStore();
  store.put(record({ holderIdentity: 'b' }));
  const h = start(store, clock, 'a');
  await clock.advance(5_000);
  h.ac.abort();
  await h.done;
  assert.deepEqual(h.events, ['new:b', 'stopped:writes=0']);
});

test('onNewLeader fires only when the leader changes (a release in between is not a change)', async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryLeaseStore();
  store.put(record({ holderIdentity: 'b', epoch: firstEpoch + 100 }));
  const h = start(store, clock, 'a', { leaseDurationMs: 60_000, renewDeadlineMs: 50_000 });
  await settle();
  for (const holder of ['b', 'b', 'c', 'c', 'b']) {
    store.put(record({ holderIdentity: holder, renewTimeMs: clock.now(), epoch: firstEpoch + 100 }));
    await clock.advance(2_200);
  }
  assert.deepEqual(h.events, ['new:b', 'new:c', 'new:b']);
  h.ac.abort();
  await h.done;
});

test('API errors and throwing callbacks never escape run()', async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryLeaseStore();
  store.mode = 'fail';
  const logged: string[] = [];
  const log = { debug() {}, info() {}, warn: (_: object, m?: string) => void logged.push(m ?? ''), error: (_: object, m?: string) => void logged.push(m ?? '') };
  const elector = createElector(
    { kubeConfig, namespace: 'n', name: 'l', identity: 'a', log },
    {
      onStartedLeading() {
        throw new Error('boom');
      },
      onStoppedLeading() {
        throw new Error('boom');
      },
    },
    { lock: new MemoryLock(store, 'a'), clock },
  );
  const ac = new AbortController();
  const done = elector.run(ac.signal);
  await clock.advance(10_000);
  assert.equal(elector.isLeader(), false);
  assert.ok(logged.includes('error retrieving the lease'));
  store.mode = 'ok';
  await clock.advance(2_200);
  assert.equal(elector.isLeader(), true, 'leads although onStartedLeading threw');
  ac.abort();
  await done;
  assert.ok(logged.includes('onStartedLeading callback threw'));
  assert.ok(logged.includes('onStoppedLeading callback threw'));
  await assert.rejects(elector.run(new AbortController().signal), /only once/);
});

test('healthy(): false only when leading without a renewal for leaseDuration + tolerance', async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryLeaseStore();
  const h = start(store, clock, 'a', { healthToleranceMs: 5_000 });
  await settle();
  assert.equal(h.elector.healthy(), true);
  assert.equal(h.elector.healthy(T0 + 20_000), true);
  assert.equal(h.elector.healthy(T0 + 20_001), false);
  h.ac.abort();
  await h.done;
  assert.equal(h.elector.healthy(T0 + 1e9), true, 'not leading');
});

test('two electors racing on one Lease: never two leaders, and every acquisition has a higher epoch', async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryLeaseStore();
  const a = start(store, clock, 'a', { leaseDurationMs: 3_000, renewDeadlineMs: 2_500, retryPeriodMs: 1_000 });
  const b = start(store, clock, 'b', { leaseDurationMs: 3_000, renewDeadlineMs: 2_500, retryPeriodMs: 1_000 });
  const epochs: number[] = [];
  let lastEpochSeen = 0;
  let outages = 0;
  for (let step = 0; step < 800; step++) {
    // Cut the current leader off from the API now and then (3.5 s), so leadership moves; at
    // other times the whole API fails briefly.
    if (step % 40 === 0) {
      const leader = [a, b].find((h) => h.elector.isLeader());
      if (leader) {
        leader.lock.mode = 'fail';
        outages++;
      }
    }
    if (step % 40 === 14) for (const h of [a, b]) h.lock.mode = null;
    store.mode = step % 53 < 3 ? 'fail' : 'ok';
    await clock.advance(250);
    const leaders = [a, b].filter((h) => h.elector.isLeader());
    assert.ok(leaders.length <= 1, `two leaders at step ${step}`);
    const e = leaders[0]?.elector.epoch();
    if (e != null && e !== lastEpochSeen) {
      assert.ok(e > lastEpochSeen, 'epochs strictly increase');
      epochs.push(e);
      lastEpochSeen = e;
    }
  }
  assert.ok(outages >= 10 && epochs.length >= outages, `leadership moved (${epochs.length} terms, ${outages} outages)`);
  const holders = new Set(store.writes.filter((w) => w.record.holderIdentity !== '').map((w) => w.record.holderIdentity));
  assert.deepEqual([...holders].sort(), ['a', 'b'], 'both led at some point');
  a.ac.abort();
  b.ac.abort();
  await Promise.all([a.done, b.done]);
});
