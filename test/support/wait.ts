/**
 * Waiting, for tests and benchmarks: `sleep` is the product's own (realClock.sleep), so a test
 * waits the way the code under test waits; `waitFor` polls a check until it holds.
 *
 * waitFor's contract — a check answers in one of three ways each time it runs:
 * - a value other than `undefined`/`false`: done, waitFor resolves with it;
 * - `undefined` or `false`: not yet, try again after `everyMs`;
 * - it throws: not yet either (a server may be restarting, a value may still be moving), and
 *   the error is remembered.
 * On timeout, when any attempt failed an assertion (node:assert's AssertionError), the most
 * recent such error is rethrown — the test's own message, actual and expected intact — with
 * what was awaited and for how long in front of its message; a wrong value is therefore
 * reported as wrong, never hidden behind "timed out". Otherwise the timeout Error names what
 * was awaited and carries the last thrown error (if any) as its `cause` and in its message.
 */
import { AssertionError } from 'node:assert';
import { realClock } from '../../src/platform/clock.ts';

export const sleep = (ms: number): Promise<void> => realClock.sleep(ms);

export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let lastAssertion: AssertionError | undefined;
  /** What the last attempt did, when it was not the assertion rethrown. */
  let lastAnswer = '';
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
      lastAnswer = `returned ${String(v)}`;
    } catch (err) {
      lastError = err;
      if (isAssertion(err)) lastAssertion = err;
      lastAnswer = err === lastAssertion ? '' : `threw ${String(err)}`;
    }
    if (Date.now() > deadline) {
      if (lastAssertion) {
        const after = lastAnswer === '' ? '' : ` (the last attempt ${lastAnswer})`;
        const message = `waiting ${timeoutMs} ms for ${what}, the check still failed${after}: ${lastAssertion.message}`;
        // The stack's first line was written with the old message, and reporters print the stack.
        if (lastAssertion.stack) lastAssertion.stack = lastAssertion.stack.replace(lastAssertion.message, message);
        lastAssertion.message = message;
        throw lastAssertion;
      }
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? '' : `: ${String(lastError)}`}`, { cause: lastError });
    }
    await sleep(everyMs);
  }
}

function isAssertion(err: unknown): err is AssertionError {
  return err instanceof AssertionError || (err instanceof Error && (err as { code?: unknown }).code === 'ERR_ASSERTION');
}
