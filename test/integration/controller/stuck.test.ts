/**
 * Rollouts that do not converge, on the real local control plane (controller process under the
 * chart's RBAC):
 *  3a. paused rollout → progressing / Paused;
 *  3b. pods never ready past progressDeadlineSeconds → degraded / ProgressDeadlineExceeded, no
 *      announcement, a RolloutDegraded Warning Event;
 *  5.  a pod labelled `banana` → degraded / InvalidVersionLabel and a Warning Event on the pod;
 *      the controller keeps running and other apps are unaffected.
 *  8.  least privilege: the ServiceAccount the controller ran as (the chart's RBAC) may do no
 *      more than the rules in docs/controller.md (checked with `kubectl auth can-i`).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { EventsV1Api } from '@kubernetes/client-node';
import {
  SYSTEM_NS, createNamespace, deployment, kubectl, metric, podsOf, publicKeyOf, receivedBy, setVersion, spawnController, startEnv, waitFor,
  type ControllerProc, type Env,
} from '../../support/controller-harness.ts';

const NS = 'team';
let env: Env;
let ctl: ControllerProc;
let publicKey: string;

before(async () => {
  env = await startEnv();
  ctl = await spawnController(env, 'controller-a');
  publicKey = await publicKeyOf(ctl);
  await createNamespace(env, NS);
  // A healthy bystander app and the app under test.
  for (const [name, app] of [['blog', 'blog'], ['api', 'api']] as const) {
    await env.apps.createNamespacedDeployment({ namespace: NS, body: deployment({ namespace: NS, name, app, version: '1.0.0', replicas: 1, publicKey, progressDeadlineSeconds: 6 }) });
  }
  for (const key of ['team/blog', 'team/api']) await waitFor(`${key} converged`, async () => (await ctl.app(key))?.phase === 'converged');
});

after(async () => {
  await ctl?.kill('SIGTERM');
  await env?.cluster.stop();
});

async function eventsFor(kind: string, name: string, reason: string) {
  const api = env.cluster.kubeConfig.makeApiClient(EventsV1Api);
  const list = await api.listNamespacedEvent({ namespace: NS });
  return list.items.filter((e) => e.regarding?.kind === kind && e.regarding.name === name && e.reason === reason);
}

test('3a. paused rollout → progressing/Paused', async () => {
  assert.equal((await kubectl(env.cluster, ['rollout', 'pause', 'deployment/api', '-n', NS])).status, 0);
  const s = await waitFor('Paused', async () => {
    const x = await ctl.app('team/api');
    return x?.reason === 'Paused' ? x : undefined;
  }, 10_000);
  assert.equal(s.phase, 'progressing');
  assert.equal(s.version, '1.0.0');
  assert.equal((await kubectl(env.cluster, ['rollout', 'resume', 'deployment/api', '-n', NS])).status, 0);
  await waitFor('converged again', async () => (await ctl.app('team/api'))?.phase === 'converged', 10_000);
});

test('3b. never ready past progressDeadlineSeconds → degraded/ProgressDeadlineExceeded, no announcement', async () => {
  await setVersion(env, NS, 'api', '1.1.0', true);
  const s = await waitFor('ProgressDeadlineExceeded', async () => {
    const x = await ctl.app('team/api');
    return x?.reason === 'ProgressDeadlineExceeded' ? x : undefined;
  }, 30_000);
  assert.equal(s.phase, 'degraded');
  assert.equal(s.version, '1.0.0', 'the last converged version stays');
  assert.equal(metric(await ctl.metrics(), 'version_observer_announcements_total{change="minor"}'), 0);
  // The old pod still serves and holds the degraded state, never an announcement of 1.1.0.
  const old = (await podsOf(env, NS, 'api')).find((p) => p.version === '1.0.0' && p.ready)!;
  const got = await waitFor('old pod holds the degraded state', async () => {
    const r = await receivedBy(old.ip);
    return r.held?.phase === 'degraded' ? r : undefined;
  });
  assert.ok(!got.received.some((x) => x.state?.version === '1.1.0'));
  await waitFor('RolloutDegraded Warning', async () => {
    const ev = await eventsFor('Deployment', 'api', 'RolloutDegraded');
    return ev.some((e) => e.type === 'Warning' && /ProgressDeadlineExceeded/.test(e.note ?? ''));
  }, 10_000);
});

test('5. version label banana → degraded/InvalidVersionLabel + Warning Event; other apps unaffected', async () => {
  const blogBefore = await ctl.app('team/blog');
  await env.apps.createNamespacedDeployment({ namespace: NS, body: deployment({ namespace: NS, name: 'fruit', app: 'fruit', version: 'banana', replicas: 1, publicKey }) });
  const s = await waitFor('InvalidVersionLabel', async () => {
    const x = await ctl.app('team/fruit');
    return x?.reason === 'InvalidVersionLabel' ? x : undefined;
  }, 20_000);
  assert.equal(s.phase, 'degraded');
  const pod = (await podsOf(env, NS, 'fruit'))[0]!;
  const ev = await waitFor('InvalidVersionLabel Warning on the pod', async () => {
    const list = await eventsFor('Pod', pod.name, 'InvalidVersionLabel');
    return list.length > 0 ? list : undefined;
  }, 10_000);
  assert.equal(ev[0]!.type, 'Warning');
  assert.match(ev[0]!.note ?? '', /banana/);
  assert.equal(ev[0]!.reportingController, 'version-observer.io/controller');
  // Deduplicated: a reconcile after the first Event tries to record it again and is refused by
  // the dedup window. Proven by the controller's own counters rather than by waiting: the
  // repeat outcomes for this reason rise after the poke, and only one Event exists.
  const counted = async (outcome: string) => metric(await ctl.metrics(), `version_observer_events_total{reason="InvalidVersionLabel",outcome="${outcome}"}`);
  // (A repeat more than the series interval after the first is counted as `series`: same Event, patched.)
  const repeats = async () => (await counted('deduplicated')) + (await counted('series'));
  const dedupBefore = await repeats();
  const reconcilesBefore = metric(await ctl.metrics(), 'version_observer_reconciles_total{result="ok"}');
  await kubectl(env.cluster, ['annotate', 'deployment/fruit', '-n', NS, 'poke=1']);
  await waitFor('a reconcile after the poke that deduplicated the Event', async () => {
    const text = await ctl.metrics();
    return metric(text, 'version_observer_reconciles_total{result="ok"}') > reconcilesBefore && (await repeats()) > dedupBefore;
  }, 10_000);
  assert.equal(await counted('created'), 1, 'one InvalidVersionLabel Event created');
  assert.equal((await eventsFor('Pod', pod.name, 'InvalidVersionLabel')).length, 1);
  // Other apps unaffected (checked after that later reconcile), the controller serving and healthy.
  const blog = await ctl.app('team/blog');
  assert.equal(blog?.phase, 'converged');
  assert.equal(blog?.seq, blogBefore?.seq);
  assert.equal(ctl.proc.exitCode, null);
  assert.equal((await fetch(`${ctl.url}/healthz`)).status, 200);
});

test('8. least privilege: the controller ServiceAccount can do exactly what docs/controller.md lists', async () => {
  const sa = `system:serviceaccount:${SYSTEM_NS}:vo-version-observer`;
  const can = async (verb: string, resource: string, ns: string | null, name?: string) => {
    const args = ['auth', 'can-i', verb, name ? `${resource}/${name}` : resource, '--as', sa, ...(ns ? ['-n', ns] : ['--all-namespaces'])];
    return (await kubectl(env.cluster, args)).stdout.trim() === 'yes';
  };
  const yes: Array<[string, string, string | null, string?]> = [
    ['watch', 'pods', null], ['list', 'deployments.apps', null], ['create', 'events.events.k8s.io', NS], ['patch', 'events.events.k8s.io', NS],
    ['get', 'leases.coordination.k8s.io', SYSTEM_NS, 'vo-version-observer'], ['update', 'leases.coordination.k8s.io', SYSTEM_NS, 'vo-version-observer'],
    ['get', 'secrets', SYSTEM_NS, 'vo-version-observer-signing-key'], ['update', 'secrets', SYSTEM_NS, 'vo-version-observer-signing-key'],
    ['get', 'configmaps', SYSTEM_NS, 'version-observer-trust'], ['update', 'configmaps', SYSTEM_NS, 'version-observer-trust'],
  ];
  const no: Array<[string, string, string | null, string?]> = [
    ['list', 'secrets', SYSTEM_NS], ['get', 'secrets', SYSTEM_NS, 'other'], ['get', 'secrets', NS, 'vo-version-observer-signing-key'],
    ['update', 'deployments.apps', NS], ['delete', 'pods', NS], ['update', 'leases.coordination.k8s.io', SYSTEM_NS, 'other-lease'],
    ['list', 'nodes', null], ['list', 'configmaps', SYSTEM_NS], ['get', 'configmaps', SYSTEM_NS, 'other'], ['update', 'configmaps', SYSTEM_NS, 'other'],
    ['update', 'secrets', SYSTEM_NS, 'other'], ['patch', 'secrets', SYSTEM_NS, 'vo-version-observer-signing-key'],
  ];
  for (const [v, r, ns, n] of yes) assert.equal(await can(v, r, ns, n), true, `should be allowed: ${v} ${r} ${n ?? ''} in ${ns ?? 'all'}`);
  for (const [v, r, ns, n] of no) assert.equal(await can(v, r, ns, n), false, `should be denied: ${v} ${r} ${n ?? ''} in ${ns ?? 'all'}`);
  // And the controller really ran under it: it created the key Secret and holds the Lease.
  const lease = await kubectl(env.cluster, ['get', 'lease', 'vo-version-observer', '-n', SYSTEM_NS, '-o', 'jsonpath={.spec.holderIdentity}']);
  assert.equal(lease.stdout, 'controller-a');
  assert.ok(!ctl.logs.some((l) => /forbidden/i.test(JSON.stringify(l))), 'no Forbidden in the controller log');
});
