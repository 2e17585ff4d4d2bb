import assert from 'node:assert/strict';
import test from 'node:test';
import { waitFor } from '../../support/wait.ts';

test('waitFor resolves with the first value that is neither undefined nor false', async () => {
  let calls = 0;
  const v = await waitFor('the third call', () => (++calls < 3 ? (calls === 1 ? undefined : false) : `call ${calls}`), 5000, 1);
  assert.equal(v, 'call 3');
  assert.equal(calls, 3);
});

test('waitFor retries a failing assertion, and resolves once the value is right', async () => {
  let n = 0;
  const v = await waitFor('n reaches 3', () => {
    n++;
    assert.equal(n, 3);
    return n;
  }, 5000, 1);
  assert.equal(v, 3);
});

test('on timeout, waitFor rethrows the last assertion error with its message, actual and expected', async () => {
  let n = 0;
  await assert.rejects(
    waitFor('the value to be 42', () => {
      n++;
      assert.equal(n < 3 ? 'early' : 'wrong', 42, `value after ${n} tries`);
      return true;
    }, 50, 5),
    (err: unknown) => {
      assert.ok(err instanceof assert.AssertionError, `expected an AssertionError, got ${String(err)}`);
      assert.equal(err.actual, 'wrong', 'the last attempt, not an earlier one');
      assert.equal(err.expected, 42);
      assert.match(err.message, /the value to be 42/);
      assert.match(err.message, new RegExp(`value after ${n} tries`), 'the message of the last assertion');
      assert.match(err.stack ?? '', /the value to be 42/, 'reporters print the stack: it carries the new message');
      return true;
    },
  );
});

test('on timeout after an assertion, a later "not yet" is named but the assertion is still what is thrown', async () => {
  let n = 0;
  await assert.rejects(
    waitFor('a pod', () => {
      if (++n === 1) assert.fail('pod has the wrong version 1.0.0');
      return undefined;
    }, 30, 5),
    (err: unknown) => {
      assert.ok(err instanceof assert.AssertionError);
      assert.match(err.message, /wrong version 1\.0\.0/);
      assert.match(err.message, /last attempt returned undefined/);
      return true;
    },
  );
});

test('on timeout without any assertion, the timeout error names what was awaited and the last error as its cause', async () => {
  const refused = new Error('connect ECONNREFUSED');
  await assert.rejects(
    waitFor('the controller', () => {
      throw refused;
    }, 20, 5),
    (err: unknown) => {
      assert.ok(err instanceof Error && !(err instanceof assert.AssertionError));
      assert.match(err.message, /^timed out after 20 ms waiting for the controller: Error: connect ECONNREFUSED$/);
      assert.equal(err.cause, refused);
      return true;
    },
  );
  await assert.rejects(waitFor('never', () => false, 20, 5), /^Error: timed out after 20 ms waiting for never$/);
});
