import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { defaultPerNamespace, heldBack, nextLane, type Lane } from '../../../src/core/push-fairness.ts';

const lane = (namespace: string, active: number, waiting: number, servedAt = 0): Lane => ({ namespace, active, waiting, servedAt });

test('nextLane: the waiting lane with the fewest in flight; ties to the least recently served, then the name', () => {
  const limits = { total: 8, perNamespace: 4 };
  assert.equal(nextLane([lane('a', 3, 5), lane('b', 1, 1), lane('c', 2, 9)], 6, limits), 'b');
  assert.equal(nextLane([lane('a', 1, 5, 7), lane('b', 1, 1, 3)], 2, limits), 'b', 'served longer ago');
  assert.equal(nextLane([lane('b', 1, 1, 3), lane('a', 1, 5, 3)], 2, limits), 'a', 'then by name');
  assert.equal(nextLane([lane('a', 0, 0), lane('b', 2, 0)], 2, limits), null, 'nothing waits');
});

test('nextLane: the global bound and the per-namespace bound', () => {
  const limits = { total: 4, perNamespace: 2 };
  assert.equal(nextLane([lane('a', 1, 3), lane('b', 1, 3)], 4, limits), null, 'all slots busy (activeTotal counts other lanes too)');
  assert.equal(nextLane([lane('hog', 2, 100)], 2, limits), null, 'a lane at its bound waits though slots are free');
  assert.equal(nextLane([lane('hog', 2, 100), lane('b', 0, 1)], 2, limits), 'b');
  assert.equal(heldBack(lane('hog', 2, 100), 2, limits), 'namespace');
  assert.equal(heldBack(lane('b', 1, 1), 4, limits), 'global');
  assert.equal(heldBack(lane('b', 1, 1), 3, limits), null);
  assert.equal(heldBack(lane('b', 0, 0), 4, limits), null, 'nothing waiting, nothing held back');
});

test('defaultPerNamespace: a quarter of the total, at least 1', () => {
  assert.deepEqual([1, 2, 4, 5, 64, 100].map(defaultPerNamespace), [1, 1, 1, 2, 16, 25]);
});

/**
 * A model of the pusher's use: lanes with FIFO counts; operations enqueue work, or end one
 * push of a lane; after each operation every push that may start does (as the pusher's pump).
 */
const ops = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('enqueue' as const), lane: fc.integer({ min: 0, max: 4 }), n: fc.integer({ min: 1, max: 6 }) }),
    fc.record({ kind: fc.constant('end' as const), lane: fc.integer({ min: 0, max: 4 }) }),
  ),
  { maxLength: 120 },
);
const limitsArb = fc.integer({ min: 1, max: 12 }).chain((total) => fc.record({ total: fc.constant(total), perNamespace: fc.integer({ min: 1, max: total }) }));

function simulate(limits: { total: number; perNamespace: number }, steps: Array<{ kind: 'enqueue' | 'end'; lane: number; n?: number }>, check: (lanes: Lane[], activeTotal: number, picked: string) => void) {
  const lanes = [0, 1, 2, 3, 4].map((i) => lane(`ns${i}`, 0, 0));
  let served = 0;
  const activeTotal = () => lanes.reduce((s, l) => s + l.active, 0);
  const pump = () => {
    for (;;) {
      const picked = nextLane(lanes, activeTotal(), limits);
      if (picked === null) return;
      check(lanes, activeTotal(), picked);
      const l = lanes.find((x) => x.namespace === picked)!;
      l.waiting--;
      l.active++;
      l.servedAt = ++served;
    }
  };
  for (const s of steps) {
    const l = lanes[s.lane]!;
    if (s.kind === 'enqueue') l.waiting += s.n ?? 1;
    else if (l.active > 0) l.active--;
    pump();
    // bounds hold, and the schedule is work-conserving: a free slot is idle only when every
    // waiting lane is at its own bound
    assert.ok(activeTotal() <= limits.total);
    for (const x of lanes) assert.ok(x.active <= limits.perNamespace);
    if (activeTotal() < limits.total) for (const x of lanes) assert.ok(x.waiting === 0 || x.active === limits.perNamespace, JSON.stringify({ lanes, limits }));
  }
  return { lanes, pump, served: () => served };
}

test('property: bounds hold, work-conserving, each start goes to an eligible lane with the fewest in flight', () => {
  fc.assert(
    fc.property(limitsArb, ops, (limits, steps) => {
      simulate(limits, steps, (lanes, _total, picked) => {
        const eligible = lanes.filter((l) => l.waiting > 0 && l.active < limits.perNamespace);
        const p = lanes.find((l) => l.namespace === picked)!;
        assert.ok(eligible.includes(p));
        assert.equal(p.active, Math.min(...eligible.map((l) => l.active)));
      });
    }),
    { numRuns: 500 },
  );
});

test('property: no lane starves — while pushes keep ending, every waiting push starts', () => {
  fc.assert(
    fc.property(limitsArb, ops, fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 200, maxLength: 200 }), (limits, steps, endOrder) => {
      const sim = simulate(limits, steps, () => {});
      // Drain: end pushes in an arbitrary (random) order of lanes; with everything eventually ending,
      // every waiting push must start. Bound: each end frees one slot that is refilled at once.
      const total = sim.lanes.reduce((s, l) => s + l.waiting, 0);
      let ends = 0;
      for (let i = 0; sim.lanes.some((l) => l.waiting > 0); i++) {
        const busy = sim.lanes.filter((l) => l.active > 0);
        assert.ok(busy.length > 0, 'something waits, so something is in flight');
        const l = busy[endOrder[i % endOrder.length]! % busy.length]!;
        l.active--;
        ends++;
        sim.pump();
        assert.ok(ends <= total + limits.total, 'every end starts a waiting push when one may start');
      }
    }),
    { numRuns: 300 },
  );
});

test('a namespace that never finishes holds only its own bound; another namespace gets every other slot', () => {
  const limits = { total: 8, perNamespace: 2 };
  const hog = lane('hog', 0, 1000);
  const other = lane('shop', 0, 0);
  let served = 0;
  const start = () => {
    const picked = nextLane([hog, other], hog.active + other.active, limits);
    if (picked === null) return false;
    const l = picked === 'hog' ? hog : other;
    l.waiting--;
    l.active++;
    l.servedAt = ++served;
    return true;
  };
  while (start());
  assert.deepEqual([hog.active, other.active], [2, 0], 'the hog is alone and still held to its bound');
  other.waiting = 6;
  while (start());
  assert.deepEqual([hog.active, other.active], [2, 2], 'the other namespace starts at once (up to its own bound), not after the hog');
  // the hog's pushes end (deadline) and it has more: the slot goes back to whoever has fewer in flight
  hog.active--;
  other.active--;
  while (start());
  assert.deepEqual([hog.active, other.active], [2, 2]);
});
