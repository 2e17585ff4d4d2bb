/**
 * 6. Two controller processes (under the chart's RBAC, lease 4 s / renew 3 s / retry 0.5 s):
 *    exactly one pushes; SIGTERM the leader → the other pushes within one jittered retry;
 *    SIGKILL the leader → within leaseDuration + one jittered retry (each plus a stated
 *    allowance); the epoch increases each time; a receiver rejects a push from the old epoch.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { signingKeyFromPem } from '../../../src/core/signature.ts';
import { pushBody } from '../../../src/core/push-envelope.ts';
import type { AppState } from '../../../src/core/app-state.ts';
import { leaseDurationSeconds, retryDelayMs } from '../../../src/core/election.ts';
import { parseDuration } from '../../../src/platform/config.ts';
import {
  SHORT_LEASE, SYSTEM_NS, createNamespace, deployment, metric, podsOf, publicKeyOf, receivedBy, spawnController, startEnv, waitFor,
  type ControllerProc, type Env,
} from '../../support/controller-harness.ts';

const NS = 'ha';
/** The Lease timings the harness gives every controller, read from its flags. */
const flag = (name: string) => parseDuration(SHORT_LEASE.find((f) => f.startsWith(`--${name}=`))!.split('=')[1]!);
const TIMING = { leaseDurationMs: flag('lease-duration'), renewDeadlineMs: flag('renew-deadline'), retryPeriodMs: flag('retry-period') };
/**
 * Added to each derived bound, for the machine: signal delivery, the Lease writes of the old and
 * new leader, the new leader's first push round and the receivers' answers, on a loaded 2-core
 * host running the control plane and the kubelet too.
 */
const ALLOWANCE_MS = 1_500;
/** A released Lease is taken at the follower's next attempt: at most retryPeriod + 20 % jitter. */
const TERM_BOUND_MS = retryDelayMs(TIMING, 1) + ALLOWANCE_MS;
/**
 * A killed leader's last renewal is at most the kill; the follower sees it within one jittered
 * retry and takes over when it expires, leaseDurationSeconds after that observation.
 */
const KILL_BOUND_MS = leaseDurationSeconds(TIMING) * 1000 + retryDelayMs(TIMING, 1) + ALLOWANCE_MS;
const KEY = 'ha/site';
let env: Env;
const procs: ControllerProc[] = [];

before(async () => {
  env = await startEnv();
});

after(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  await env?.cluster.stop();
});

const pushes = async (c: ControllerProc) => {
  const text = await c.metrics();
  return ['applied', 'stale', 'failed'].reduce((n, r) => n + metric(text, `version_observer_push_duration_seconds_count{result="${r}"}`), 0);
};
const isLeader = async (c: ControllerProc) => metric(await c.metrics(), 'version_observer_leader') === 1;

/** First time (receiver clock) every pod applied a state with epoch > `epoch`. */
async function takeoverAt(epoch: number): Promise<{ at: number; epoch: number }> {
  return waitFor('every pod holds a newer epoch', async () => {
    const pods = (await podsOf(env, NS, 'site')).filter((p) => !p.terminating);
    let at = 0;
    let e = 0;
    for (const p of pods) {
      const r = await receivedBy(p.ip);
      const first = r.received.find((x) => x.status === 204 && x.state && x.state.epoch > epoch);
      if (!first) return undefined;
      at = Math.max(at, first.atMs);
      e = first.state!.epoch;
    }
    return { at, epoch: e };
  }, 2 * KILL_BOUND_MS, 50);
}

test('6. one pusher; SIGTERM → takeover within one retry; SIGKILL → within leaseDuration + one retry; epochs increase; old epoch rejected', async () => {
  const a = await spawnController(env, 'controller-a');
  procs.push(a);
  await waitFor('a leads', () => isLeader(a));
  const b = await spawnController(env, 'controller-b');
  procs.push(b);
  const publicKey = await publicKeyOf(a);
  assert.equal(await publicKeyOf(b), publicKey, 'both replicas sign with the key from the one Secret');
  await createNamespace(env, NS);
  await env.apps.createNamespacedDeployment({ namespace: NS, body: deployment({ namespace: NS, name: 'site', app: 'site', version: '2.0.0', replicas: 2, publicKey }) });
  const s1 = await waitFor('converged', async () => {
    const s = await a.app(KEY);
    return s?.phase === 'converged' ? s : undefined;
  });
  await waitFor('b sees it too', async () => (await b.app(KEY))?.phase === 'converged');
  for (const p of await podsOf(env, NS, 'site')) await waitFor(`pod ${p.name} holds the state`, async () => (await receivedBy(p.ip)).held?.seq === s1.seq);
  assert.ok((await pushes(a)) > 0);
  assert.equal(await pushes(b), 0, 'exactly one replica pushes');
  assert.equal(await isLeader(b), false);

  // SIGTERM the leader: it releases the Lease; b takes over and pushes within TERM_BOUND_MS.
  const tTerm = Date.now();
  const termExit = a.kill('SIGTERM');
  const t1 = await takeoverAt(s1.epoch);
  assert.equal(await termExit, 0, 'graceful exit');
  const termTakeover = t1.at - tTerm;
  console.log(`[failover] SIGTERM → new leader's push applied by every pod after ${termTakeover} ms (bound ${TERM_BOUND_MS} ms)`);
  assert.ok(termTakeover <= TERM_BOUND_MS, `${termTakeover} ms > ${TERM_BOUND_MS} ms`);
  assert.ok(t1.epoch > s1.epoch);
  assert.equal(await isLeader(b), true);

  // A receiver rejects a push from the old epoch, even with a higher seq (signed with the real key).
  const pem = await env.core.readNamespacedSecret({ namespace: SYSTEM_NS, name: 'vo-version-observer-signing-key' });
  const key = signingKeyFromPem(Buffer.from(pem.data!['private.pem']!, 'base64').toString('utf8'));
  const installation = Buffer.from(pem.data!['installation']!, 'base64').toString('utf8');
  const pod = (await podsOf(env, NS, 'site'))[0]!;
  const stale: AppState = { ...s1, seq: s1.seq + 1000, since: new Date().toISOString() };
  const res = await fetch(`http://${pod.ip}:8788/internal/v1/state`, { method: 'PUT', body: pushBody(installation, stale, key), headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 409);

  // A comes back as a follower; SIGKILL the leader b: a takes over within KILL_BOUND_MS.
  const a2 = await spawnController(env, 'controller-a');
  procs.push(a2);
  await waitFor('a2 synced', async () => (await fetch(`${a2.url}/readyz`)).status === 200);
  await waitFor('a2 knows the app', async () => (await a2.app(KEY))?.phase === 'converged');
  const tKill = Date.now();
  await b.kill('SIGKILL');
  const t2 = await takeoverAt(t1.epoch);
  const killTakeover = t2.at - tKill;
  console.log(`[failover] SIGKILL → new leader's push applied by every pod after ${killTakeover} ms (bound ${KILL_BOUND_MS} ms)`);
  assert.ok(killTakeover <= KILL_BOUND_MS, `${killTakeover} ms > ${KILL_BOUND_MS} ms`);
  assert.ok(t2.epoch > t1.epoch);
  assert.equal(await isLeader(a2), true);
  // The takeover re-stamps the state; it is not a new announcement.
  assert.equal(metric(await a2.metrics(), 'version_observer_announcements_total{change="none"}'), 0);
});
