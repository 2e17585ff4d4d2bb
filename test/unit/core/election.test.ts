import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_ELECTION_CONFIG as CFG, decide, leaderHealthy, mustStepDown, nextEpoch, observe, parseEpochAnnotation, recordKey,
  releaseRecord, retryDelayMs, validateElectionConfig, type ElectionDecision, type ElectionInput, type LeaseRecord,
} from '../../../src/core/election.ts';

const NOW = Date.parse('2026-11-24T10:00:00.000Z');
const rec = (over: Partial<LeaseRecord> = {}): LeaseRecord => ({
  holderIdentity: 'other', leaseDurationSeconds: 15, acquireTimeMs: NOW - 60_000, renewTimeMs: NOW - 1000, leaseTransitions: 4, epoch: 7, ...over,
});
const step = (over: Partial<ElectionInput>): ElectionDecision =>
  decide({ record: rec(), observedTimeMs: NOW, now: NOW, identity: 'me', heldEpoch: null, config: CFG, ...over });

test('config validation follows client-go, with readable errors', () => {
  assert.deepEqual(validateElectionConfig(CFG), { ok: true, config: CFG });
  const bad = (c: Partial<typeof CFG>, re: RegExp, identity?: string) => {
    const r = validateElectionConfig({ ...CFG, ...c }, identity);
    assert.ok(!r.ok && r.errors.some((e) => re.test(e)), JSON.stringify(r));
  };
  bad({ leaseDurationMs: 10_000 }, /leaseDurationMs \(10000\) must be greater than renewDeadlineMs \(10000\)/);
  bad({ renewDeadlineMs: 2_400 }, /renewDeadlineMs \(2400\) must be greater than 1.2 × retryPeriodMs/);
  bad({ retryPeriodMs: 0 }, /retryPeriodMs must be a number greater than zero/);
  bad({ leaseDurationMs: -1 }, /leaseDurationMs must be/);
  bad({ renewDeadlineMs: Number.NaN }, /renewDeadlineMs must be/);
  bad({}, /identity must not be empty/, ' ');
  assert.ok(validateElectionConfig({ leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 }, 'me').ok);
  const r = validateElectionConfig(CFG);
  assert.ok(r.ok && Object.isFrozen(r.config));
});

test('no Lease → acquire by creating it with a fresh epoch', () => {
  const d = step({ record: null });
  assert.equal(d.action, 'acquire');
  assert.ok(d.action === 'acquire' && d.create && d.reason === 'NoLease');
  assert.deepEqual(d.action === 'acquire' && d.record, {
    holderIdentity: 'me', leaseDurationSeconds: 15, acquireTimeMs: NOW, renewTimeMs: NOW, leaseTransitions: 0, epoch: Math.floor(NOW / 1000),
  });
});

test('held by another, not expired by local observation → wait; expiry ignores the remote renewTime', () => {
  // renewTime far in the past (skewed clock) does not matter: we observed the record change 5 s ago
  const d = step({ record: rec({ renewTimeMs: NOW - 3_600_000 }), observedTimeMs: NOW - 5000 });
  assert.deepEqual(d, { action: 'wait', holder: 'other', expiresInMs: 10_000, lost: false });
  // the holder's leaseDurationSeconds counts, not ours
  const e = step({ record: rec({ leaseDurationSeconds: 60 }), observedTimeMs: NOW - 20_000 });
  assert.deepEqual(e, { action: 'wait', holder: 'other', expiresInMs: 40_000, lost: false });
});

test('held by another and expired → acquire: epoch and transitions go up', () => {
  const d = step({ observedTimeMs: NOW - 15_000 });
  assert.ok(d.action === 'acquire' && !d.create && d.reason === 'Expired');
  assert.equal(d.record.holderIdentity, 'me');
  assert.equal(d.record.leaseTransitions, 5);
  assert.equal(d.record.epoch, Math.floor(NOW / 1000));
  assert.deepEqual([d.record.acquireTimeMs, d.record.renewTimeMs, d.record.leaseDurationSeconds], [NOW, NOW, 15]);
});

test('released (empty holder) → acquire at once (SIGTERM hand-over)', () => {
  const released = releaseRecord(rec({ holderIdentity: 'other' }), NOW - 100);
  assert.deepEqual(released, { holderIdentity: '', leaseDurationSeconds: 1, acquireTimeMs: NOW - 100, renewTimeMs: NOW - 100, leaseTransitions: 4, epoch: 7 });
  const d = step({ record: released, observedTimeMs: NOW });
  assert.ok(d.action === 'acquire' && d.reason === 'Released');
  assert.equal(d.record.leaseTransitions, 5);
  assert.ok(d.record.epoch > 7);
});

test('leader renews, keeping acquireTime, transitions and epoch', () => {
  const mine = rec({ holderIdentity: 'me', epoch: 9 });
  const d = step({ record: mine, heldEpoch: 9, now: NOW + 2000 });
  assert.deepEqual(d, { action: 'renew', record: { ...mine, renewTimeMs: NOW + 2000 } });
});

test('leader sees another holder or another epoch → lost', () => {
  assert.deepEqual(step({ record: rec(), heldEpoch: 9, observedTimeMs: NOW }), { action: 'wait', holder: 'other', expiresInMs: 15_000, lost: true });
  const d = step({ record: rec({ holderIdentity: 'me', epoch: 10 }), heldEpoch: 9 });
  assert.ok(d.action === 'wait' && d.lost);
  const r = step({ record: rec({ holderIdentity: '' }), heldEpoch: 9 });
  assert.deepEqual(r, { action: 'wait', holder: '', expiresInMs: 0, lost: true });
});

test('re-acquisition by the same identity (restarted process) takes a new epoch but not a new transition', () => {
  const mine = rec({ holderIdentity: 'me', epoch: 2_000_000_000, leaseTransitions: 3 });
  const d = step({ record: mine, heldEpoch: null, observedTimeMs: NOW });
  assert.ok(d.action === 'acquire' && d.reason === 'OwnPreviousIncarnation');
  assert.equal(d.record.epoch, 2_000_000_001);
  assert.equal(d.record.leaseTransitions, 3);
});

test('Lease deleted under a leader → recreate with an epoch above the held one', () => {
  const d = step({ record: null, heldEpoch: 5_000_000_000 });
  assert.ok(d.action === 'acquire' && d.create && d.record.epoch === 5_000_000_001);
});

test('nextEpoch: strictly increasing, never below the acquisition second', () => {
  fc.assert(
    fc.property(fc.oneof(fc.nat(), fc.constant(-1), fc.constant(Number.NaN)), fc.integer({ min: 0, max: 4_000_000_000_000 }), (prev, now) => {
      const e = nextEpoch(prev, now);
      assert.ok(Number.isSafeInteger(e));
      if (Number.isSafeInteger(prev) && prev >= 0) assert.ok(e > prev);
      assert.ok(e >= Math.floor(now / 1000));
    }),
  );
});

test('property: a chain of acquisitions (any holders, any times, releases) has strictly increasing epochs', () => {
  const event = fc.record({ who: fc.constantFrom('a', 'b', 'c'), dt: fc.integer({ min: 0, max: 20_000 }), release: fc.boolean(), restart: fc.boolean() });
  fc.assert(
    fc.property(fc.array(event, { maxLength: 40 }), fc.integer({ min: 0, max: 2 ** 40 }), (events, start) => {
      let record: LeaseRecord | null = null;
      let observed = start;
      let now = start;
      const held = new Map<string, number>();
      const epochs: number[] = [];
      for (const ev of events) {
        now += ev.dt;
        if (ev.restart) held.delete(ev.who);
        const d = decide({ record, observedTimeMs: observed, now, identity: ev.who, heldEpoch: held.get(ev.who) ?? null, config: CFG });
        if (d.action === 'acquire') {
          record = d.record;
          observed = now;
          held.set(ev.who, d.record.epoch);
          epochs.push(d.record.epoch);
        } else if (d.action === 'renew') {
          assert.equal(d.record.epoch, held.get(ev.who));
          record = d.record;
          observed = now;
        } else if (d.lost) {
          held.delete(ev.who);
        }
        if (ev.release && record !== null && held.has(record.holderIdentity)) {
          held.delete(record.holderIdentity);
          record = releaseRecord(record, now);
          observed = now;
        }
        // at most one process believes it leads under the record's epoch
        const leaders = [...held].filter(([k, e]) => record !== null && record.holderIdentity === k && record.epoch === e);
        assert.ok(leaders.length <= 1);
      }
      for (let i = 1; i < epochs.length; i++) assert.ok((epochs[i] as number) > (epochs[i - 1] as number), `epochs ${epochs}`);
    }),
    { numRuns: 500 },
  );
});

test('step-down, health and retry timing', () => {
  assert.equal(mustStepDown(NOW - 9_999, NOW, CFG), false);
  assert.equal(mustStepDown(NOW - 10_000, NOW, CFG), true);
  assert.equal(leaderHealthy(false, 0, NOW, CFG), true);
  assert.equal(leaderHealthy(true, NOW - 15_000, NOW, CFG), true);
  assert.equal(leaderHealthy(true, NOW - 15_001, NOW, CFG), false);
  assert.equal(leaderHealthy(true, NOW - 16_000, NOW, CFG, 2000), true);
  assert.equal(retryDelayMs(CFG, 0), 2000);
  assert.equal(retryDelayMs(CFG, 0.999999), 2400);
  assert.ok(retryDelayMs(CFG, 0.999999) < 3000, 'a peer notices a release within 3 s');
  assert.equal(retryDelayMs(CFG, 0.5, 1.2), 3200);
});

test('observe: observed time moves only when the raw record changes', () => {
  const r1 = rec();
  const o1 = observe(null, r1, recordKey(r1), 100);
  assert.equal(o1.observedTimeMs, 100);
  const o2 = observe(o1, { ...r1 }, recordKey({ ...r1 }), 500);
  assert.equal(o2.observedTimeMs, 100);
  const r2 = { ...r1, renewTimeMs: (r1.renewTimeMs ?? 0) + 2000 };
  assert.equal(observe(o2, r2, recordKey(r2), 900).observedTimeMs, 900);
  assert.equal(observe(o2, null, null, 1000).observedTimeMs, 1000);
  assert.equal(recordKey(null), null);
});

test('parseEpochAnnotation', () => {
  assert.equal(parseEpochAnnotation('1764000000'), 1764000000);
  assert.equal(parseEpochAnnotation('0'), 0);
  for (const v of [undefined, null, '', '-1', '1.5', '01', 'abc', '99999999999999999999']) assert.equal(parseEpochAnnotation(v), 0, String(v));
});
