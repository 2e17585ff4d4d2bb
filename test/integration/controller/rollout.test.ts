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
import { Watch } from '@kubernetes/client-node';
import {
  announcements, createNamespace, deployment, kubectl, metric, observe, podsOf, publicKeyOf, receivedBy, setVersion, sleep, spawnController, startEnv, waitFor,
  type ControllerProc, type Env,
} from '../../support/controller-harness.ts';

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

/** Time (local ms) at which pods of `version` last stopped serving, tracked from a pod watch. */
function trackServing(ns: string) {
  const serving = new Map<string, string>(); // pod → version, while serving
  const lastStop = new Map<string, number>();
  let req: AbortController | undefined;
  const watch = new Watch(env.cluster.kubeConfig);
  void watch
    .watch(`/api/v1/namespaces/${ns}/pods`, {}, (type, pod: any) => {
      const name = pod.metadata.name as string;
      const v = pod.metadata.labels?.['app.kubernetes.io/version'] as string;
      const isServing = type !== 'DELETED' && !pod.metadata.deletionTimestamp && pod.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
      if (isServing) serving.set(name, v);
      else if (serving.has(name)) {
        serving.delete(name);
        lastStop.set(v, Date.now());
      }
    }, () => {})
    .then((r) => (req = r));
  return {
    servingVersions: () => new Set(serving.values()),
    lastStoppedServing: (v: string) => lastStop.get(v),
    stop: () => req?.abort(),
  };
}

test('1. rollout 1.0.0 → 1.1.0: progressing while mixed, one minor announcement after rollout status, every pod holds it', async () => {
  await env.apps.createNamespacedDeployment({ namespace: NS, body: deployment({ namespace: NS, name: 'web', app: 'storefront', version: '1.0.0', replicas: 3, publicKey }) });
  assert.equal((await kubectl(env.cluster, ['rollout', 'status', 'deployment/web', '-n', NS, '--timeout=90s'])).status, 0);
  await waitFor('converged on 1.0.0', async () => (await ctl.app('shop/storefront'))?.phase === 'converged');
  const start = await ctl.app('shop/storefront');
  assert.equal(start?.version, '1.0.0');

  const tracker = trackServing(NS);
  await sleep(300);
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
  await sleep(500);
  obs.stop();
  tracker.stop();
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
  let announcedAt = Infinity;
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
    const at = r.received.find((x) => x.status === 204 && x.state?.phase === 'converged' && x.state.version === '1.1.0')!.atMs;
    announcedAt = Math.min(announcedAt, at);
    // Every state this pod applied before the announcement was not converged on 1.1.0 (never announced early).
    for (const x of r.received) if (x.atMs < at && x.state) assert.ok(!(x.state.phase === 'converged' && x.state.version === '1.1.0'));
  }
  assert.equal(announcedSeqs.size, 1, 'one announcement, the same (epoch, seq) everywhere');
  const lastOldStopped = tracker.lastStoppedServing('1.0.0');
  assert.ok(lastOldStopped !== undefined && announcedAt >= lastOldStopped, `announced at ${announcedAt}, last 1.0.0 pod stopped serving at ${lastOldStopped}`);
  console.log(`[rollout] announcement ${announcedAt - lastOldStopped!} ms after the last 1.0.0 pod stopped serving`);
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
  await sleep(3000);
  assert.ok(obs.states.every((o) => o.state.phase !== 'converged' || o.atMs < Date.now() - 10_000 || o.state.version === '1.1.0') && obs.states.every((o) => o.state.phase !== 'converged'), 'held: not converged');
  await setVersion(env, NS, 'web-canary', '1.1.0');
  assert.equal((await kubectl(env.cluster, ['rollout', 'status', 'deployment/web-canary', '-n', NS, '--timeout=60s'])).status, 0);
  const s = await waitFor('converged again', async () => {
    const x = await ctl.app('shop/storefront');
    return x?.phase === 'converged' ? x : undefined;
  }, 10_000);
  obs.stop();
  assert.equal(s.version, '1.1.0');
  assert.deepEqual(s.serving, { '1.1.0': 4 });
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
