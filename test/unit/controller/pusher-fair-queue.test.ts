import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FairQueue } from '../../../src/controller/fair-queue.ts';

test('FIFO per namespace, the fewest-in-flight namespace first, bounds, and lanes forgotten when empty', () => {
  const q = new FairQueue<string>({ total: 3, perNamespace: 2 });
  for (let i = 0; i < 200; i++) q.enqueue('big', `b${i}`);
  q.enqueue('small', 's0');
  q.enqueue('small', 's1');
  const take = () => {
    const next = q.take();
    if (next) q.begin(next.namespace);
    return next?.item ?? null;
  };
  // both at 0 in flight: never served → by name (big < small); then small has fewer in flight
  assert.deepEqual([take(), take(), take(), take()], ['b0', 's0', 'b1', null], 'total bound 3');
  assert.deepEqual([q.active, q.waiting, q.activeIn('big'), q.activeIn('small')], [3, 199, 2, 1]);
  q.end('big');
  assert.equal(q.lanesAtNamespaceBound, 0, 'slots are full: held back by the total, not the namespace');
  assert.equal(take(), 's1', 'small has fewer in flight');
  q.end('small');
  q.end('small');
  assert.equal(q.lanesAtNamespaceBound, 0);
  assert.equal(take(), 'b2');
  assert.equal(take(), null, 'big is at its bound of 2 while a slot is free');
  assert.equal(q.lanesAtNamespaceBound, 1);
  // drain big in order (the head index compacts the array on the way)
  const seen: string[] = [];
  for (;;) {
    q.end('big');
    const item = take();
    if (item === null) break;
    seen.push(item);
  }
  assert.deepEqual(seen, Array.from({ length: 197 }, (_, i) => `b${i + 3}`));
  q.end('big');
  q.end('big'); // an extra end is ignored
  assert.deepEqual([q.active, q.waiting, q.activeIn('big')], [0, 0, 0]);
});

test('clearWaiting forgets the queues; pushes in flight still end', () => {
  const q = new FairQueue<number>({ total: 2, perNamespace: 1 });
  for (const ns of ['a', 'b', 'c']) for (let i = 0; i < 3; i++) q.enqueue(ns, i);
  const first = q.take()!;
  q.begin(first.namespace);
  q.clearWaiting();
  assert.deepEqual([q.waiting, q.active, q.take()], [0, 1, null]);
  q.end(first.namespace);
  assert.equal(q.active, 0);
});

test('a lone namespace borrows idle slots but one share; the metric counts it at its bound only when it is held', () => {
  const q = new FairQueue<number>({ total: 8, perNamespace: 2 });
  for (let i = 0; i < 20; i++) q.enqueue('big', i);
  const startAll = () => {
    const started: string[] = [];
    for (let next = q.take(); next !== null; next = q.take()) {
      q.begin(next.namespace);
      started.push(next.namespace);
    }
    return started;
  };
  assert.equal(startAll().length, 6, 'total − share');
  assert.deepEqual([q.active, q.activeIn('big'), q.lanesAtNamespaceBound], [6, 6, 1]);
  q.enqueue('small', 0);
  q.enqueue('small', 1);
  q.enqueue('small', 2);
  assert.deepEqual(startAll(), ['small', 'small'], 'the free share goes to the newcomer at once');
  assert.equal(q.lanesAtNamespaceBound, 2, 'both wait at their share');
  q.end('big');
  assert.deepEqual(startAll(), [], 'the borrower starts nothing while another namespace waits');
  q.end('small');
  assert.deepEqual(startAll(), ['small']);
});
