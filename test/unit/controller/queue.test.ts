import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TerminalError, WorkQueue, runWorker } from '../../../src/controller/queue.ts';
import { FakeClock, settle } from '../../support/fake-clock.ts';

test('dedups keys waiting in the queue', async () => {
  const q = new WorkQueue();
  q.add('a/x');
  q.add('a/x');
  q.add('a/y');
  assert.equal(q.length, 2);
  assert.equal(await q.get(), 'a/x');
  assert.equal(await q.get(), 'a/y');
  q.shutdown();
});

test('a key added while processing is queued again on done, never processed twice at once', async () => {
  const q = new WorkQueue();
  q.add('k');
  const k = await q.get();
  q.add('k');
  assert.equal(q.length, 0, 'not queued while processing');
  q.done(k as string);
  assert.equal(q.length, 1);
  q.shutdown();
});

test('per-item exponential backoff without jitter (base × 2^(n-1), capped), forget resets', async () => {
  const clock = new FakeClock();
  const q = new WorkQueue({ baseMs: 10, maxMs: 100, clock });
  for (const delay of [10, 20, 40, 80, 100, 100]) {
    q.addRateLimited('k');
    await clock.advance(delay - 1);
    assert.equal(q.length, 0, `not before ${delay} ms`);
    await clock.advance(1);
    assert.equal(q.length, 1, `after ${delay} ms`);
    q.done((await q.get()) as string);
  }
  assert.equal(q.numRequeues('k'), 6);
  q.forget('k');
  assert.equal(q.numRequeues('k'), 0);
  q.addRateLimited('k');
  await clock.advance(10);
  assert.equal(q.length, 1, 'after forget the first delay again');
  q.shutdown();
  assert.equal(clock.pending(), 0);
});

test('runWorker: errors retried with backoff, terminal errors counted and not retried, success forgets', async () => {
  const clock = new FakeClock();
  const q = new WorkQueue({ baseMs: 5, maxMs: 20, clock });
  const calls: string[] = [];
  const errors: Array<[string, boolean]> = [];
  let failOnce = true;
  const worker = runWorker(
    q,
    (key) => {
      calls.push(key);
      if (key === 'retry' && failOnce) {
        failOnce = false;
        throw new Error('transient');
      }
      if (key === 'terminal') throw new TerminalError('bad input');
    },
    { onError: (key, _err, terminal) => errors.push([key, terminal]) },
  );
  q.add('retry');
  q.add('terminal');
  await settle();
  assert.deepEqual(calls.sort(), ['retry', 'terminal']);
  await clock.advance(4);
  assert.equal(calls.length, 2, 'the retry waits its 5 ms');
  await clock.advance(1);
  q.shutdown();
  await worker;
  assert.deepEqual(calls.sort(), ['retry', 'retry', 'terminal']);
  assert.deepEqual(errors.sort(), [['retry', false], ['terminal', true]]);
  assert.equal(q.numRequeues('retry'), 0);
  assert.equal(q.numRequeues('terminal'), 0);
});

test('requeueAfterMs re-adds the key; addAfter keeps the earliest', async () => {
  const clock = new FakeClock();
  const q = new WorkQueue({ clock });
  let n = 0;
  const worker = runWorker(q, () => (++n === 1 ? { requeueAfterMs: 20 } : undefined));
  q.add('s');
  await clock.advance(19);
  assert.equal(n, 1);
  await clock.advance(1);
  assert.equal(n, 2);
  q.addAfter('x', 50);
  q.addAfter('x', 30);
  q.addAfter('x', 40);
  await clock.advance(30);
  assert.equal(n, 3, 'the earliest delayed add wins');
  await clock.advance(100);
  assert.equal(n, 3, 'the later ones were dropped');
  q.shutdown();
  await worker;
});
