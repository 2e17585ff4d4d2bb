/**
 * 7. kube-apiserver stopped for 20 s and started again: the controller keeps running, recovers
 *    its watches (restarts with backoff, relists), and announces a rollout made afterwards,
 *    exactly once (checked behind a later state that every pod must hold).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  announcements, createNamespace, deployment, kubectl, metric, podsOf, publicKeyOf, receivedBy, setVersion, sleep, spawnController, startEnv, waitFor,
  type ControllerProc, type Env,
} from '../../support/controller-harness.ts';
import { compareOrder } from '../../../src/core/order.ts';

const NS = 'outage';
let env: Env;
let ctl: ControllerProc;

before(async () => {
  env = await startEnv();
  ctl = await spawnController(env, 'controller-a');
});

after(async () => {
  await ctl?.kill('SIGTERM');
  await env?.cluster.stop();
});

test('7. apiserver down 20 s: watches recover, a later rollout is announced once, no crash', async () => {
  const publicKey = await publicKeyOf(ctl);
  await createNamespace(env, NS);
  await env.apps.createNamespacedDeployment({ namespace: NS, body: deployment({ namespace: NS, name: 'app', app: 'app', version: '1.0.0', replicas: 2, publicKey }) });
  await waitFor('converged', async () => (await ctl.app('outage/app'))?.phase === 'converged');

  await env.cluster.stopApiServer();
  await sleep(20_000);
  assert.equal(ctl.proc.exitCode, null, 'still running during the outage');
  await env.cluster.startApiServer();
  const restarts = await waitFor('watches restarted', async () => {
    const n = metric(await ctl.metrics(), 'version_observer_informer_restarts_total{resource="pods",reason="error"}');
    return n > 0 ? n : undefined;
  }, 30_000);
  console.log(`[outage] pod informer restarts: ${restarts}`);
  await waitFor('leading again', async () => metric(await ctl.metrics(), 'version_observer_leader') === 1, 30_000);

  await setVersion(env, NS, 'app', '1.1.0');
  assert.equal((await kubectl(env.cluster, ['rollout', 'status', 'deployment/app', '-n', NS, '--timeout=90s'])).status, 0);
  const s = await waitFor('1.1.0 announced', async () => {
    const x = await ctl.app('outage/app');
    return x?.phase === 'converged' && x.version === '1.1.0' ? x : undefined;
  }, 60_000);
  assert.equal(s.change, 'minor');
  // Exactly once, checked behind a later state rather than after a pause: scaling up makes a
  // new converged state of the same version (no announcement); once a pod holds it, anything
  // pushed to that pod before it has been applied or refused.
  assert.equal((await kubectl(env.cluster, ['scale', 'deployment/app', '-n', NS, '--replicas=3'])).status, 0);
  const fence = await waitFor('a later state with three pods', async () => {
    const x = await ctl.app('outage/app');
    return x?.phase === 'converged' && x.serving['1.1.0'] === 3 ? x : undefined;
  }, 60_000);
  for (const p of (await podsOf(env, NS, 'app')).filter((x) => !x.terminating)) {
    const r = await waitFor(`pod ${p.name} holds the later state`, async () => {
      const got = await receivedBy(p.ip);
      return got.held && compareOrder(got.held, fence) >= 0 ? got : undefined;
    }, 15_000);
    assert.equal(announcements(r.received).filter((x) => x.version === '1.1.0').length, 1, `pod ${p.name}: ${JSON.stringify(r.received.map((x) => [x.status, x.state?.phase, x.state?.version]))}`);
  }
  const m = await ctl.metrics();
  assert.equal(metric(m, 'version_observer_announcements_total{change="minor"}'), 1, 'no duplicate announcement');
  assert.equal(ctl.proc.exitCode, null);
});
