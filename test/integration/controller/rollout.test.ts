/**
 * Rollouts on the real local control plane, the controller running as a process under the
 * chart's RBAC (see test/support/controller-harness.ts):
 *  1. 1.0.0 → 1.1.0 of 3 replicas: every observation during the mix is progressing, exactly one
 *     announcement of 1.1.0 (change minor), made no earlier than the last 1.0.0 pod stopped
 *     serving and confirmed by `kubectl rollout status`; every pod, new ones included, holds it.
 *  2. A second Deployment of the same app held at 1.0.0 → never converged until it moves too.
 *  4. `kubectl rollout undo` → announced with change rollback.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import {
  announcements, createNamespace, deployment, kubectl, metric, observe, podsOf, publicKeyOf, receivedBy, setVersion, spawnController, startEnv, waitFor,
  type ControllerProc, type Env,
} from '../../support/controller-harness.ts';
import { compareOrder } from '../../../src/core/order.ts';
import { DEFAULT_VERSION_LABEL } from '../../../src/core/labels.ts';
import { announcementEventRv, firstCompleteRv, lastStoppedServingRv, record, rvOf } from '../ordered-facts.ts';

const NS = 'shop';
let env: Env;
let ctl: ControllerProc;
let publicKey: string;

before(async () => {
  env = await startEnv();
  ctl = await spawnController(env, 'controller-a');
  publicKey = await publicKeyOf(ctl);
  await createNamespace(env, NS);
});

after(async () => {
  await ctl?.kill('SIGTERM');
  await env?.cluster.stop();
});

/** Records the namespace's pods and Deployments, in the API server's order, from now on. */
async function recordNamespace(ns: string) {
  const pods = await record<V1Pod>(env.cluster.kubeConfig, `/api/v1/namespaces/${ns}/pods`, () => env.core.listNamespacedPod({ namespace: ns }));
  const deployments = await record<V1Deployment>(env.cluster.kubeConfig, `/apis/apps/v1/namespaces/${ns}/deployments`, () => env.apps.listNamespacedDeployment({ namespace: ns }));
  return { pods, deployments, stop: () => (pods.stop(), deployments.stop()) };
}

test('1. rollout 1.0.0 → 1.1.0: progressing while mixed, one minor announcement after rollout status, every pod holds it', async () => {
  await env.apps.createNamespacedDeployment({ namespace: NS, body: deployment({ namespace: NS, name: 'web', app: 'storefront', version: '1.0.0', replicas: 3, publicKey }) });
  assert.equal((await kubectl(env.cluster, ['rollout', 'status', 'deployment/web', '-n', NS, '--timeout=90s'])).status, 0);
  await waitFor('converged on 1.0.0', async () => (await ctl.app('shop/storefront'))?.phase === 'converged');
  const start = await ctl.app('shop/storefront');
  assert.equal(start?.version, '1.0.0');

  const facts = await recordNamespace(NS);
  const patchedFrom = rvOf(await env.apps.readNamespacedDeployment({ namespace: NS, name: 'web' }));
  const obs = observe(() => ctl, 'shop/storefront', 25);
  const t0 = Date.now();
  await setVersion(env, NS, 'web', '1.1.0');
  const status = await kubectl(env.cluster, ['rollout', 'status', 'deployment/web', '-n', NS, '--timeout=90s']);
  assert.equal(status.status, 0, status.stderr);
  const rolloutDoneAt = Date.now();
  const final = await waitFor('converged on 1.1.0', async () => {
    const s = await ctl.app('shop/storefront');
    return s?.phase === 'converged' && s.version === '1.1.0' ? s : undefined;
  }, 10_000);
  // Stop observing once the observer itself has recorded the final state (it polls separately).
  await waitFor('the observer saw the final state', () => obs.states.some((o) => compareOrder(o.state, final) >= 0));
  obs.stop();
  console.log(`[rollout] 1.0.0 → 1.1.0: kubectl rollout status done after ${rolloutDoneAt - t0} ms`);

  assert.equal(final.change, 'minor');
  assert.equal(final.previousVersion, '1.0.0');
  assert.deepEqual(final.serving, { '1.1.0': 3 });

  // The controller's observations: converged 1.0.0, then only progressing, then converged 1.1.0.
  const seq = obs.states.map((o) => o.state);
  const firstNew = seq.findIndex((s) => s.phase === 'converged' && s.version === '1.1.0');
  assert.ok(firstNew > 0, `observed: ${JSON.stringify(seq.map((s) => [s.phase, s.version, s.reason]))}`);
  const during = seq.slice(0, firstNew).filter((s) => !(s.phase === 'converged' && s.version === '1.0.0'));
  assert.ok(during.length > 0, 'the rollout was observed');
  for (const s of during) assert.equal(s.phase, 'progressing', JSON.stringify(s));
  for (const s of seq.slice(firstNew)) assert.ok(s.phase === 'converged' && s.version === '1.1.0', JSON.stringify(s));
  // No converged 1.0.0 after progress began.
  const firstProgress = seq.findIndex((s) => s.phase === 'progressing');
  assert.ok(!seq.slice(firstProgress).some((s) => s.phase === 'converged' && s.version === '1.0.0'));

  // Every pod (the three new ones) holds the final state; exactly one announcement of 1.1.0.
  const pods = await waitFor('3 serving 1.1.0 pods', async () => {
    const p = (await podsOf(env, NS, 'web')).filter((x) => !x.terminating);
    return p.length === 3 && p.every((x) => x.version === '1.1.0') ? p : undefined;
  });
  const announcedSeqs = new Set<string>();
  let sawRolloutBeforeAnnouncement = false;
  for (const p of pods) {
    const r = await waitFor(`pod ${p.name} holds the final state`, async () => {
      const got = await receivedBy(p.ip);
      return got.held?.seq === final.seq && got.held.epoch === final.epoch ? got : undefined;
    }, 10_000);
    assert.equal(r.received.filter((x) => x.status === 401 || x.status === 400).length, 0, 'every push verified');
    const ann = announcements(r.received).filter((s) => s.version === '1.1.0');
    assert.equal(ann.length, 1, `pod ${p.name}: ${JSON.stringify(r.received.map((x) => [x.status, x.state?.phase, x.state?.version]))}`);
    announcedSeqs.add(`${ann[0]!.epoch}/${ann[0]!.seq}`);
    assert.equal(ann[0]!.change, 'minor');
    assert.deepEqual(ann[0]!.serving, { '1.1.0': 3 }, 'announced with only the new version serving');
    // The applied states are ordered by (epoch, seq), the controller's own order: nothing applied
    // below the announcement in that order is converged on 1.1.0, and the rollout itself (a
    // progressing state with both versions serving) is among them on some pod.
    const applied = r.received.filter((x) => x.status === 204 && x.state).map((x) => x.state!);
    for (let i = 1; i < applied.length; i++) assert.ok(compareOrder(applied[i]!, applied[i - 1]!) > 0, `pod ${p.name} applied states out of order`);
    for (const x of applied.filter((x) => compareOrder(x, ann[0]!) < 0)) {
      assert.ok(!(x.phase === 'converged' && x.version === '1.1.0'), `converged on 1.1.0 below the announcement: ${JSON.stringify(x)}`);
      if (x.phase === 'progressing' && x.serving['1.0.0'] && x.serving['1.1.0']) sawRolloutBeforeAnnouncement = true;
    }
  }
  assert.equal(announcedSeqs.size, 1, 'one announcement, the same (epoch, seq) everywhere');
  assert.ok(sawRolloutBeforeAnnouncement, 'a pod applied a mixed-versions progressing state before the announcement');

  // Never early, by the API server's order rather than this process's clock: the controller's
  // VersionConverged Event (created by the reconcile that decided the announcement) was written
  // after the Deployment was recorded complete and after the last 1.0.0 pod stopped serving.
  const announcedRv = await announcementEventRv(env.cluster.kubeConfig, NS, 'web', '1.1.0');
  const completeRv = firstCompleteRv(facts.deployments.history(), 'web', patchedFrom);
  const lastOldRv = lastStoppedServingRv(facts.pods.history(), DEFAULT_VERSION_LABEL, '1.0.0');
  facts.stop();
  console.log(`[rollout] resourceVersions: Deployment complete ${completeRv}, last 1.0.0 pod stopped serving ${lastOldRv}, announcement Event ${announcedRv}`);
  assert.ok(announcedRv > completeRv, `announced (rv ${announcedRv}) before the Deployment was complete (rv ${completeRv})`);
  assert.ok(announcedRv > lastOldRv, `announced (rv ${announcedRv}) before the last 1.0.0 pod stopped serving (rv ${lastOldRv})`);
  assert.equal(metric(await ctl.metrics(), 'version_observer_announcements_total{change="minor"}'), 1);
});

test('2. a second Deployment of the same app held at 1.0.0: never converged until it moves too', async () => {
  await env.apps.createNamespacedDeployment({ namespace: NS, body: deployment({ namespace: NS, name: 'web-canary', app: 'storefront', version: '1.0.0', replicas: 1, publicKey }) });
  assert.equal((await kubectl(env.cluster, ['rollout', 'status', 'deployment/web-canary', '-n', NS, '--timeout=60s'])).status, 0);
  const obs = observe(() => ctl, 'shop/storefront', 50);
  const held = await waitFor('mixed versions', async () => {
    const s = await ctl.app('shop/storefront');
    return s?.reason === 'MixedVersions' ? s : undefined;
  });
  assert.equal(held.phase, 'progressing');
  assert.deepEqual(held.serving, { '1.0.0': 1, '1.1.0': 3 });
  // Held, proven by a later state rather than by waiting: scaling the canary must produce a new
  // state (ordered after `held` by (epoch, seq)) that is still mixed, not converged.
  assert.equal((await kubectl(env.cluster, ['scale', 'deployment/web-canary', '-n', NS, '--replicas=2'])).status, 0);
  const fence = await waitFor('a later mixed state with two canary pods', async () => {
    const x = await ctl.app('shop/storefront');
    if (x && x.serving['1.0.0'] === 2) {
      assert.equal(x.reason, 'MixedVersions', JSON.stringify(x));
      assert.ok(compareOrder(x, held) > 0);
      return x;
    }
    return undefined;
  }, 30_000);
  await setVersion(env, NS, 'web-canary', '1.1.0');
  assert.equal((await kubectl(env.cluster, ['rollout', 'status', 'deployment/web-canary', '-n', NS, '--timeout=60s'])).status, 0);
  const s = await waitFor('converged again', async () => {
    const x = await ctl.app('shop/storefront');
    return x?.phase === 'converged' ? x : undefined;
  }, 10_000);
  obs.stop();
  assert.equal(s.version, '1.1.0');
  assert.deepEqual(s.serving, { '1.1.0': 5 });
  for (const o of obs.states) {
    if (compareOrder(o.state, held) >= 0 && compareOrder(o.state, s) < 0) assert.notEqual(o.state.phase, 'converged', JSON.stringify(o.state));
  }
  // Every state a web pod applied from `held` up to the convergence (each push, in order) was not converged.
  const web = (await podsOf(env, NS, 'web')).find((p) => !p.terminating)!;
  const got = await waitFor(`pod ${web.name} holds the convergence`, async () => {
    const r = await receivedBy(web.ip);
    return r.held && compareOrder(r.held, s) >= 0 ? r : undefined;
  }, 10_000);
  const between = got.received.filter((x) => x.status === 204 && x.state && compareOrder(x.state, held) >= 0 && compareOrder(x.state, s) < 0).map((x) => x.state!);
  // Pushes coalesce, so the fence itself may be superseded; something at or after it was applied.
  assert.ok(between.some((x) => compareOrder(x, fence) >= 0), `pod ${web.name} applied a state at or after the fence`);
  for (const x of between) assert.notEqual(x.phase, 'converged', JSON.stringify(x));
  // Same version as before the canary: nothing new to announce.
  assert.equal(s.change, 'minor');
  assert.equal(metric(await ctl.metrics(), 'version_observer_announcements_total{change="minor"}'), 1);
  await env.apps.deleteNamespacedDeployment({ namespace: NS, name: 'web-canary' });
});

test('4. kubectl rollout undo → announced as rollback', async () => {
  const undo = await kubectl(env.cluster, ['rollout', 'undo', 'deployment/web', '-n', NS]);
  assert.equal(undo.status, 0, undo.stderr);
  assert.equal((await kubectl(env.cluster, ['rollout', 'status', 'deployment/web', '-n', NS, '--timeout=90s'])).status, 0);
  const s = await waitFor('converged on 1.0.0 again', async () => {
    const x = await ctl.app('shop/storefront');
    return x?.phase === 'converged' && x.version === '1.0.0' && x.serving['1.0.0'] === 3 ? x : undefined;
  }, 15_000);
  assert.equal(s.change, 'rollback');
  assert.equal(s.previousVersion, '1.1.0');
  const pods = (await podsOf(env, NS, 'web')).filter((p) => !p.terminating);
  for (const p of pods) {
    await waitFor(`pod ${p.name} holds the rollback`, async () => (await receivedBy(p.ip)).held?.change === 'rollback');
  }
  assert.equal(metric(await ctl.metrics(), 'version_observer_announcements_total{change="rollback"}'), 1);
});
