/**
 * The chaos checks and schedule on plain values: each check fails on the history it must reject
 * and passes on the one it must accept (so a clean chaos run cannot be a vacuous one).
 * Run: node --test test/unit/chaos/checks.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkNeverEarly, checkNeverTwice, percentile, type AnnouncementEvent, type DeploymentFact } from '../../chaos/checks.ts';
import type { ConnectionRecord, Receipt } from '../../chaos/client.ts';
import { FAULT_KINDS, schedule } from '../../chaos/schedule.ts';

const dep = (rv: number, version: string, complete: boolean): DeploymentFact => ({ rv: BigInt(rv), namespace: 'ns', name: 'web', version, complete });
const ev = (rv: number, version: string, from: string | null): AnnouncementEvent => ({
  rv: BigInt(rv), namespace: 'ns', name: 'web', instance: 'c-0',
  note: `ns/web converged on ${version}${from ? ` (patch from ${from})` : ''}; announced to its pods`,
});
const receipt = (epoch: number, seq: number, version: string, previousVersion: string | null, phase: Receipt['phase'] = 'converged'): Receipt => ({ epoch, seq, phase, version, previousVersion, atMs: 0 });
const conn = (receipts: Receipt[]): ConnectionRecord => ({ client: 7, conn: 0, source: '127.10.0.1', pod: '127.1.0.2', open: true, receipts });

test('never early: an Event above a status completing its version, after the previous announcement, proves the receipt', () => {
  const r = checkNeverEarly(1, [dep(10, '1.0.1', false), dep(12, '1.0.1', true)], [ev(13, '1.0.1', '1.0.0')], new Map([['ns/web', [conn([receipt(1, 2, '1.0.1', '1.0.0')])]]]));
  assert.deepEqual(r.violations, []);
  assert.equal(r.proven, 1);
});

test('never early: an Event with no completing status below it is a violation naming rvs and seed; its receipts too', () => {
  const r = checkNeverEarly(42, [dep(10, '1.0.1', false), dep(14, '1.0.1', true)], [ev(13, '1.0.1', '1.0.0')], new Map([['ns/web', [conn([receipt(1, 2, '1.0.1', '1.0.0')])]]]));
  assert.equal(r.violations.length, 2);
  assert.match(r.violations[0]!, /Event rv 13 .* between rv 0 and rv 13 \(seed 42\)/);
  assert.match(r.violations[1]!, /client 7 .*epoch 1, seq 2/);
});

test('never early: a completion older than the previous announcement does not justify a later one', () => {
  const r = checkNeverEarly(1, [dep(5, '1.0.1', true), dep(8, '1.0.2', true), dep(11, '1.0.1', false)], [ev(6, '1.0.1', '1.0.0'), ev(9, '1.0.2', '1.0.1'), ev(12, '1.0.1', '1.0.2')], new Map());
  assert.equal(r.violations.length, 1);
  assert.match(r.violations[0]!, /Event rv 12/);
});

test('never early: a receipt with no Event is unproven, not passed; a window over a history gap is unproven, not a violation', () => {
  const none = checkNeverEarly(1, [dep(12, '1.0.1', true)], [], new Map([['ns/web', [conn([receipt(1, 2, '1.0.1', '1.0.0')])]]]));
  assert.deepEqual([none.proven, none.unproven, none.violations.length], [0, 1, 0]);
  const gap = checkNeverEarly(1, [dep(20, '1.0.1', true)], [ev(13, '1.0.1', '1.0.0')], new Map([['ns/web', [conn([receipt(1, 2, '1.0.1', '1.0.0')])]]]), [{ after: 11, upTo: 15 }].map((g) => ({ after: BigInt(g.after), upTo: BigInt(g.upTo) })));
  assert.deepEqual([gap.proven, gap.unproven, gap.violations.length], [0, 1, 0]);
});

test('never early: the first announcement (no previous version) is read right; 1.0.1 is not 1.0.10', () => {
  const conns = new Map([['ns/web', [conn([receipt(1, 5, '1.0.0', null)])]]]);
  const first = checkNeverEarly(1, [dep(265, '1.0.0', true)], [ev(266, '1.0.0', null)], conns);
  assert.deepEqual([first.violations, first.proven], [[], 1]);
  const prefix = checkNeverEarly(1, [dep(10, '1.0.10', true)], [ev(13, '1.0.10', '1.0.9')], new Map([['ns/web', [conn([receipt(1, 2, '1.0.1', '1.0.9')])]]]));
  assert.deepEqual([prefix.proven, prefix.unproven], [0, 1]);
});

test('never early: with the Lease history, only the Event of the leader of the epoch of the receipt counts', () => {
  const conns = new Map([['ns/web', [conn([receipt(5, 2, '1.0.1', '1.0.0')])]]]);
  const facts = [dep(10, '1.0.1', true)];
  assert.equal(checkNeverEarly(1, facts, [ev(13, '1.0.1', '1.0.0')], conns, [], new Map([[5, 'c-0']])).proven, 1);
  const other = checkNeverEarly(1, facts, [ev(13, '1.0.1', '1.0.0')], conns, [], new Map([[5, 'c-9']]));
  assert.deepEqual([other.proven, other.unproven], [0, 1]);
});

test('never early: a gap before the recorded creation of the Deployment does not excuse an unjustified Event', () => {
  const created = { ...dep(10, '1.0.1', false), created: true };
  const r = checkNeverEarly(1, [created], [ev(13, '1.0.1', null)], new Map(), [{ after: 0n, upTo: 9n }]);
  assert.equal(r.violations.length, 1);
});

const fenced = (rv: string, version: string, previousVersion: string | null, epoch = 1, seq = 2): Receipt => ({ ...receipt(epoch, seq, version, previousVersion), resourceVersion: rv });

test('never early by resourceVersion: a receipt whose rv is a recorded status complete at its version is proven without any Event', () => {
  const r = checkNeverEarly(1, [dep(10, '1.0.1', false), dep(12, '1.0.1', true)], [], new Map([['ns/web', [conn([fenced('12', '1.0.1', '1.0.0')])]]]));
  assert.deepEqual([r.violations, r.proven, r.provenByResourceVersion, r.unproven], [[], 1, 1, 0]);
});

test('never early by resourceVersion: a receipt decided from a recorded status that is not complete is a violation naming rv, app, client, (epoch, seq), seed', () => {
  // Even with a justified Event for the announcement: the state's own fence contradicts it.
  const r = checkNeverEarly(9, [dep(10, '1.0.1', false), dep(12, '1.0.1', true)], [ev(13, '1.0.1', '1.0.0')], new Map([['ns/web', [conn([fenced('10', '1.0.1', '1.0.0', 3, 4)])]]]));
  assert.equal(r.violations.length, 1);
  assert.match(r.violations[0]!, /client 7 .*converged 1\.0\.1 at \(epoch 3, seq 4\) of ns\/web, decided from Deployment rv 10, recorded not complete .*\(seed 9\)/);
  assert.deepEqual([r.proven, r.unproven], [0, 0]);
});

test('never early by resourceVersion: an rv not in the history (a gap), not digits, or complete at another template falls back to the Event fence', () => {
  const facts = [dep(10, '1.0.1', false), dep(12, '1.0.1', true), dep(20, '1.0.2', true)];
  for (const rv of ['11', 'abc', '20']) {
    const withEvent = checkNeverEarly(1, facts, [ev(13, '1.0.1', '1.0.0')], new Map([['ns/web', [conn([fenced(rv, '1.0.1', '1.0.0')])]]]));
    assert.deepEqual([withEvent.violations, withEvent.proven, withEvent.provenByResourceVersion], [[], 1, 0], `rv ${rv}, Event`);
    const noEvent = checkNeverEarly(1, facts, [], new Map([['ns/web', [conn([fenced(rv, '1.0.1', '1.0.0')])]]]));
    assert.deepEqual([noEvent.violations, noEvent.proven, noEvent.unproven], [[], 0, 1], `rv ${rv}, no Event`);
  }
});

test('never early by resourceVersion: the fence is looked up in the receipt\'s own app only', () => {
  const other = { ...dep(12, '1.0.1', true), name: 'api' };
  const r = checkNeverEarly(1, [other], [], new Map([['ns/web', [conn([fenced('12', '1.0.1', '1.0.0')])]]]));
  assert.deepEqual([r.proven, r.unproven], [0, 1]);
});

test('never twice: a repeated or older (epoch, seq) on one connection is reported; strictly increasing passes', () => {
  assert.deepEqual(checkNeverTwice(1, 'ns/web', [conn([receipt(1, 1, '1.0.0', null), receipt(1, 2, '1.0.0', null), receipt(2, 1, '1.0.0', null)])]), []);
  assert.match(checkNeverTwice(3, 'ns/web', [conn([receipt(1, 2, '1.0.0', null), receipt(1, 2, '1.0.0', null)])])[0]!, /the same state twice: \(epoch 1, seq 2\) then \(epoch 1, seq 2\) \(seed 3\)/);
  assert.match(checkNeverTwice(3, 'ns/web', [conn([receipt(2, 1, '1.0.0', null), receipt(1, 9, '1.0.0', null)])])[0]!, /an older state after a newer one/);
});

test('percentile: p99 only from 100 samples', () => {
  assert.equal(percentile(Array.from({ length: 99 }, (_, i) => i), 0.99), null);
  assert.equal(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 0.99), 99);
  assert.equal(percentile([3, 1, 2], 0.5), 2);
});

test('schedule: same seed, same schedule; every kind once when there are enough steps', () => {
  assert.deepEqual(schedule(9, 30, 5), schedule(9, 30, 5));
  assert.notDeepEqual(schedule(9, 30, 5), schedule(10, 30, 5));
  assert.deepEqual(new Set(schedule(9, FAULT_KINDS.length, 2).map((s) => s.kind)), new Set(FAULT_KINDS));
});
