/**
 * A namespace whose sidecars never answer pushes does not delay another namespace's
 * announcement, on the real local control plane with the controller as a process (chart args
 * and RBAC, see test/support/controller-harness.ts):
 *
 * - `hostile`: a Deployment of 6 pods with a container image that has no process (the local
 *   kubelet reports such a container Running and Ready); this test binds a server on each pod's
 *   IP and sidecar port that reads every push and never answers (test/support/slow-receiver.ts).
 * - `shop`: a Deployment of 3 real receivers, rolled out 1.0.0 → 1.1.0 while the hostile pushes
 *   are in flight.
 *
 * The controller runs with --push-concurrency=4 (its per-namespace share is then 1) and a push
 * deadline of 60 s. Alone, the hostile namespace borrows the idle slots but one share (3 of 4);
 * without that reserve 4 hostile pods would hold every slot for a minute. Checked, without
 * sleeping: the shop's 1.1.0 is announced and every shop pod holds it, in (epoch, seq) order,
 * equal to the controller's record, within the normal bound (the controller's own
 * ready→announcement figure); at that moment the 3 hostile pushes that started before the
 * rollout are still open on the receivers' side and in the controller's metrics, no other
 * hostile push started, and no hostile pod has acknowledged anything.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { compareOrder } from '../../../src/core/order.ts';
import { RECEIVER_PORT } from '../../support/receiver.ts';
import { startSlowReceiver, type SlowReceiver } from '../../support/slow-receiver.ts';
import {
  announcements, createNamespace, deployment, kubectl, metric, podsOf, publicKeyOf, receivedBy, setVersion, spawnController, startEnv, waitFor,
  type ControllerProc, type Env,
} from '../../support/controller-harness.ts';

/** An image with no runner: a virtual container, Running and Ready with no process. */
const NO_PROCESS_IMAGE = 'version-observer/no-process:test';
/** What a normal announcement takes at most here (the announce-latency benchmark's p99 is ~0.2 s; the hostile deadline is 60 s). */
const NORMAL_BOUND_S = 5;

let env: Env;
let ctl: ControllerProc;
let publicKey: string;
const hung: SlowReceiver[] = [];

before(async () => {
  env = await startEnv();
  ctl = await spawnController(env, 'fair-a', ['--push-concurrency=4', '--push-timeout=60s']);
  publicKey = await publicKeyOf(ctl);
  await createNamespace(env, 'hostile');
  await createNamespace(env, 'shop');
});

after(async () => {
  await ctl?.kill('SIGTERM');
  for (const r of hung) await r.close();
  await env?.cluster.stop();
});

const pendingHostile = () => hung.reduce((n, r) => n + r.pending(), 0);

test('pods that never answer in one namespace hold all slots but one share; another namespace is announced and acknowledged meanwhile', async () => {
  // The shop first, converged on 1.0.0, before anything hostile exists.
  await env.apps.createNamespacedDeployment({ namespace: 'shop', body: deployment({ namespace: 'shop', name: 'web', app: 'storefront', version: '1.0.0', replicas: 3, publicKey }) });
  assert.equal((await kubectl(env.cluster, ['rollout', 'status', 'deployment/web', '-n', 'shop', '--timeout=90s'])).status, 0);
  await waitFor('shop converged on 1.0.0', async () => (await ctl.app('shop/storefront'))?.phase === 'converged');

  // The hostile namespace: 6 pods whose "sidecar" reads every push and never answers.
  const hostile = deployment({ namespace: 'hostile', name: 'tarpit', app: 'tarpit', version: '6.6.6', replicas: 6, publicKey });
  const container = hostile.spec!.template.spec!.containers[0]!;
  container.image = NO_PROCESS_IMAGE;
  delete container.readinessProbe;
  await env.apps.createNamespacedDeployment({ namespace: 'hostile', body: hostile });
  const hostilePods = await waitFor('6 hostile pods with IPs', async () => {
    const p = await podsOf(env, 'hostile', 'tarpit');
    return p.length === 6 ? p : undefined;
  });
  for (const p of hostilePods) hung.push(await startSlowReceiver({ host: p.ip, port: RECEIVER_PORT, mode: 'hang' }));
  // Alone, it borrows every idle slot but one share: 3 of 4 (never more; checked below).
  await waitFor('3 hostile pushes in flight', () => pendingHostile() === 3, 30_000, 20);
  const hostileArrivals = hung.flatMap((r) => r.arrivals).sort((a, b) => a - b);

  // The shop's rollout, while the hostile pushes are in flight.
  const announcedBefore = metric(await ctl.metrics(), 'version_observer_ready_to_announcement_seconds_count');
  await setVersion(env, 'shop', 'web', '1.1.0');
  assert.equal((await kubectl(env.cluster, ['rollout', 'status', 'deployment/web', '-n', 'shop', '--timeout=90s'])).status, 0);
  const final = await waitFor('shop converged on 1.1.0', async () => {
    const s = await ctl.app('shop/storefront');
    return s?.phase === 'converged' && s.version === '1.1.0' ? s : undefined;
  }, 20_000);
  const pods = await waitFor('3 serving 1.1.0 pods', async () => {
    const p = (await podsOf(env, 'shop', 'web')).filter((x) => !x.terminating);
    return p.length === 3 && p.every((x) => x.version === '1.1.0') ? p : undefined;
  });
  // Acknowledged by every pod: the controller's own count of the announcement, within the normal bound.
  const text = await waitFor('the controller saw every shop pod acknowledge', async () => {
    const t = await ctl.metrics();
    return metric(t, 'version_observer_ready_to_announcement_seconds_count') > announcedBefore ? t : undefined;
  }, 20_000, 20);

  // At that moment the hostile pushes are still open: started before the rollout, never answered.
  assert.equal(pendingHostile(), 3, 'the hostile pushes are still in flight, all slots but one share (3 of 4)');
  assert.deepEqual(hung.flatMap((r) => r.arrivals).sort((a, b) => a - b), hostileArrivals, 'the ones that started before the rollout: no hostile push ended, none other started');
  assert.ok(metric(text, 'version_observer_push_in_flight') >= 3, 'the controller counts them in flight');
  assert.ok(metric(text, 'version_observer_push_namespaces_at_bound') >= 1, 'the hostile namespace waits at its share');
  assert.equal(metric(text, 'version_observer_push_failures_total{reason="timeout"}'), 0, 'no push reached its deadline yet');

  // Every shop pod holds the controller's record of 1.1.0, reached in (epoch, seq) order, announced once.
  for (const p of pods) {
    const r = await receivedBy(p.ip);
    assert.deepEqual([r.held?.epoch, r.held?.seq], [final.epoch, final.seq], `pod ${p.name} holds the controller's record`);
    const applied = r.received.filter((x) => x.status === 204 && x.state).map((x) => x.state!);
    for (let i = 1; i < applied.length; i++) assert.ok(compareOrder(applied[i - 1]!, applied[i]!) < 0, `pod ${p.name}: applied in (epoch, seq) order`);
    assert.equal(announcements(r.received).filter((s) => s.version === '1.1.0').length, 1, `pod ${p.name}: one announcement`);
  }
  // Within the normal bound: the controller's last-pod-Ready → all acknowledged, this one announcement.
  const after = await ctl.metrics();
  const buckets = [0.5, 1, 2.5, 5].map((le) => metric(after, `version_observer_ready_to_announcement_seconds_bucket{le="${le}"}`));
  const count = metric(after, 'version_observer_ready_to_announcement_seconds_count');
  assert.equal(count - announcedBefore, 1, 'one announcement measured');
  assert.equal(metric(after, `version_observer_ready_to_announcement_seconds_bucket{le="${NORMAL_BOUND_S}"}`), count, `every announcement within ${NORMAL_BOUND_S} s (buckets ${buckets.join(', ')} of ${count})`);
  console.log(`[fair-pusher] ready→announcement buckets ≤0.5/1/2.5/5 s: ${buckets.join('/')} of ${count}; hostile pushes open: ${pendingHostile()}`);
});
