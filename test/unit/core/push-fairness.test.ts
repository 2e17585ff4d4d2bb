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

test('nextLane: the global bound and the per-namespace share', () => {
  const limits = { total: 4, perNamespace: 2 };
  assert.equal(nextLane([lane('a', 1, 3), lane('b', 1, 3)], 4, limits), null, 'all slots busy (activeTotal counts other lanes too)');
  assert.equal(nextLane([lane('hog', 2, 100), lane('b', 0, 1)], 2, limits), 'b');
  assert.equal(nextLane([lane('hog', 2, 100), lane('b', 2, 1)], 4, limits), null);
  assert.equal(heldBack(lane('hog', 2, 100), 2, limits, true), 'namespace');
  assert.equal(heldBack(lane('b', 1, 1), 4, limits, true), 'global');
  assert.equal(heldBack(lane('b', 1, 1), 3, limits, true), null);
  assert.equal(heldBack(lane('b', 0, 0), 4, limits, false), null, 'nothing waiting, nothing held back');
});

test('nextLane: a lane alone borrows idle slots, never the last share; not while another lane waits', () => {
  const limits = { total: 8, perNamespace: 2 };
  assert.equal(nextLane([lane('hog', 2, 100)], 2, limits), 'hog', 'alone, at its share, slots idle: it borrows');
  assert.equal(nextLane([lane('hog', 5, 100)], 5, limits), 'hog', 'up to total − share = 6 in flight');
  assert.equal(nextLane([lane('hog', 6, 100)], 6, limits), null, 'the last share stays free');
  assert.equal(nextLane([lane('hog', 4, 100), lane('b', 1, 0)], 5, limits), 'hog', 'a lane in flight but not waiting does not stop the lending');
  assert.equal(nextLane([lane('hog', 4, 100), lane('b', 1, 0)], 6, limits), null, 'but its slots count toward the reserve');
  assert.equal(nextLane([lane('hog', 2, 100), lane('b', 2, 1)], 4, limits), null, 'two lanes waiting, both at their share: nobody borrows');
  assert.equal(heldBack(lane('hog', 2, 100), 2, limits, false), null, 'alone with idle slots: not held back');
  assert.equal(heldBack(lane('hog', 6, 100), 6, limits, false), 'namespace', 'at total − share: held by its own bound');
  assert.equal(heldBack(lane('hog', 3, 100), 3, limits, true), 'namespace', 'another lane waits: held at its share');
  // the share itself is the whole total: nothing to lend
  assert.equal(nextLane([lane('all', 4, 9)], 4, { total: 8, perNamespace: 8 }), 'all');
  assert.equal(nextLane([lane('all', 8, 9)], 8, { total: 8, perNamespace: 8 }), null);
  assert.equal(nextLane([lane('one', 1, 9)], 1, { total: 1, perNamespace: 1 }), null);
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
    // waiting lane is at its share and none may borrow (another lane waits, or the reserve)
    const busy = activeTotal();
    assert.ok(busy <= limits.total);
    for (const x of lanes) assert.ok(x.active <= Math.max(limits.perNamespace, limits.total - limits.perNamespace));
    const waiting = lanes.filter((x) => x.waiting > 0);
    if (busy < limits.total) {
      for (const x of waiting) assert.ok(x.active >= limits.perNamespace, JSON.stringify({ lanes, limits }));
      if (waiting.length === 1) assert.ok(busy + 1 > limits.total - limits.perNamespace, `a lone lane would borrow: ${JSON.stringify({ lanes, limits })}`);
    }
  }
  return { lanes, pump, served: () => served };
}

test('property: bounds hold, work-conserving, each start goes to a lane below its share with the fewest in flight, or lends', () => {
  fc.assert(
    fc.property(limitsArb, ops, (limits, steps) => {
      simulate(limits, steps, (lanes, activeTotal, picked) => {
        const belowShare = lanes.filter((l) => l.waiting > 0 && l.active < limits.perNamespace);
        const p = lanes.find((l) => l.namespace === picked)!;
        if (belowShare.length > 0) {
          assert.ok(belowShare.includes(p));
          assert.equal(p.active, Math.min(...belowShare.map((l) => l.active)));
        } else {
          // a borrowed slot: the only lane waiting, and a whole share stays free after it starts
          assert.deepEqual(lanes.filter((l) => l.waiting > 0), [p]);
          assert.ok(activeTotal + 1 <= limits.total - limits.perNamespace);
        }
      });
    }),
    { numRuns: 500 },
  );
});

test("property: when another namespace's work arrives, a share of it starts at once, whatever a borrower holds", () => {
  fc.assert(
    fc.property(limitsArb, fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 12 }), (limits, hogWork, newWork) => {
      // the hog alone, never finishing: it takes what it may
      const sim = simulate(limits, [{ kind: 'enqueue', lane: 0, n: hogWork }], () => {});
      const hog = sim.lanes[0]!;
      const fresh = sim.lanes[1]!;
      fresh.waiting = newWork;
      sim.pump();
      assert.equal(hog.active, Math.min(hogWork, Math.max(limits.perNamespace, limits.total - limits.perNamespace)), 'the hog took what it may');
      // at least its share (or what the hog's own share leaves); more only when it is the one lane waiting (it borrows)
      const atOnce = Math.min(newWork, limits.perNamespace, limits.total - hog.active);
      if (hog.waiting > 0) assert.equal(fresh.active, atOnce);
      else assert.ok(fresh.active >= atOnce);
      if (hog.active > limits.perNamespace) assert.ok(fresh.active >= Math.min(newWork, limits.perNamespace), 'borrowing never eats into the newcomer\'s share');
    }),
    { numRuns: 300 },
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

test('a namespace that never finishes borrows idle slots but one share; another namespace starts at once and the borrowed slots come back', () => {
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
  assert.deepEqual([hog.active, other.active], [6, 0], 'the hog is alone: it borrows every idle slot but one share');
  other.waiting = 100;
  while (start());
  assert.deepEqual([hog.active, other.active], [6, 2], 'the other namespace starts at once (up to its share), not after the hog');
  // the hog's pushes end (deadline) and it has more: while the other waits, the hog starts
  // nothing until it is back at its share; the other keeps its share
  for (let i = 0; i < 4; i++) {
    hog.active--;
    other.active--;
    while (start());
    assert.deepEqual([hog.active, other.active], [5 - i, 2]);
  }
  hog.active--;
  other.active--;
  while (start());
  assert.deepEqual([hog.active, other.active], [2, 2], 'back to one share each');
});
