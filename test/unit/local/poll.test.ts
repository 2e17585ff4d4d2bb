import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pollUntil } from '../../../src/local/poll.ts';

test('resolves with the first defined answer, checking again after each pause', async () => {
  let calls = 0;
  const value = await pollUntil(() => (++calls === 3 ? 'ready' : undefined), { timeoutMs: 5000, intervalMs: 1, timeoutError: () => new Error('late') });
  assert.equal(value, 'ready');
  assert.equal(calls, 3);
});

test('false is an answer; only undefined means not yet', async () => {
  assert.equal(await pollUntil(() => false, { timeoutMs: 0, timeoutError: () => new Error('late') }), false);
});

test('an error thrown by the check ends the poll with that error', async () => {
  await assert.rejects(
    pollUntil(
      () => {
        throw new Error('process died');
      },
      { timeoutMs: 5000, timeoutError: () => new Error('late') },
    ),
    /process died/,
  );
});

test('past the deadline it rejects with the timeout error, after checking at least once', async () => {
  let calls = 0;
  await assert.rejects(
    pollUntil(
      () => {
        calls++;
        return undefined;
      },
      { timeoutMs: 20, intervalMs: 5, timeoutError: () => new Error('not within 20 ms') },
    ),
    /not within 20 ms/,
  );
  assert.ok(calls >= 2, `checked ${calls} times`);
});
