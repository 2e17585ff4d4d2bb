/**
 * The informer's restart loop on a FakeClock: a failing list is retried after core's
 * equal-jitter backoff step, growing per failure and reset once a list succeeds. The "server"
 * is an address nothing listens on (so the watch after a good list fails too); no API is faked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { Informer, type ListPage } from '../../../src/controller/informer.ts';
import { backoffStep } from '../../../src/core/backoff.ts';
import { FakeClock } from '../../support/fake-clock.ts';

function unreachable(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'http://127.0.0.1:9', skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

test('a failed list/watch restarts after an equal-jitter backoff on the clock; a good list resets it', async () => {
  const clock = new FakeClock();
  const policy = { baseMs: 100, maxMs: 1000, jitter: 'equal' } as const;
  let lists = 0;
  const restarts: Array<{ at: number; delayMs: number | undefined }> = [];
  const informer = new Informer<{ metadata: { name: string; namespace: string } }>({
    kubeConfig: unreachable(),
    resource: 'pods',
    path: '/api/v1/pods',
    labelSelector: 'x',
    listPage: async (): Promise<ListPage> => {
      lists++;
      if (lists <= 3) throw new Error(`list ${lists} failed`);
      return { items: [], metadata: { resourceVersion: '1' } };
    },
    slim: (raw) => raw as { metadata: { name: string; namespace: string } },
    silenceMs: 0,
    restartBaseMs: policy.baseMs,
    restartMaxMs: policy.maxMs,
    onRestart: (_reason, _err, delayMs) => void restarts.push({ at: clock.now(), delayMs }),
    clock,
  });
  const until = async (pred: () => boolean) => {
    const end = Date.now() + 3000;
    while (!pred()) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  try {
    informer.start();
    await until(() => restarts.length === 1);
    const expected = [1, 2, 3].map((n) => backoffStep(n, policy, 0.5)); // 75, 150, 300
    for (const [i, delay] of expected.entries()) {
      assert.equal(restarts[i]!.delayMs, delay, `restart ${i + 1}`);
      await clock.advance(delay - 1);
      assert.equal(lists, i + 1, `no relist before ${delay} ms`);
      await clock.advance(1);
      await until(() => lists === i + 2);
      if (i < 2) await until(() => restarts.length === i + 2);
    }
    // list 4 succeeded: synced; its watch cannot connect, and that restart starts from the base again
    await until(() => informer.hasSynced() && restarts.length === 4);
    assert.equal(restarts[3]!.delayMs, backoffStep(1, policy, 0.5));
  } finally {
    await informer.stop();
  }
  assert.equal(clock.pending(), 0, 'stop() cancels the restart timer');
});
