import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TerminalError, WorkQueue, runWorker } from '../../../src/controller/queue.ts';

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

test('per-item exponential backoff, forget resets', () => {
  const q = new WorkQueue({ baseMs: 10, maxMs: 100 });
  q.addRateLimited('k');
  q.addRateLimited('k');
  assert.equal(q.numRequeues('k'), 2);
  q.forget('k');
  assert.equal(q.numRequeues('k'), 0);
  q.shutdown();
});

test('runWorker: errors retried with backoff, terminal errors counted and not retried, success forgets', async () => {
  const q = new WorkQueue({ baseMs: 5, maxMs: 20 });
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
  await new Promise((r) => setTimeout(r, 100));
  q.shutdown();
  await worker;
  assert.deepEqual(calls.sort(), ['retry', 'retry', 'terminal']);
  assert.deepEqual(errors.sort(), [['retry', false], ['terminal', true]]);
  assert.equal(q.numRequeues('retry'), 0);
  assert.equal(q.numRequeues('terminal'), 0);
});

test('requeueAfterMs re-adds the key; addAfter keeps the earliest', async () => {
  const q = new WorkQueue();
  let n = 0;
  const worker = runWorker(q, () => (++n === 1 ? { requeueAfterMs: 20 } : undefined));
  q.add('s');
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(n, 2);
  q.shutdown();
  await worker;
});
