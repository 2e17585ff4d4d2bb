/**
 * A pause in the middle of a rollout, on the real local control plane (controller process under
 * the chart's RBAC): 1.0.0 → 1.1.0 of 3 replicas with minReadySeconds, so each step takes
 * seconds and the pause lands while old and new pods serve. Ordered by what the API server
 * recorded, not by this process's clock:
 *  - the Deployment was recorded incomplete when it was paused;
 *  - while paused, every serving pod applied the controller's progressing/Paused state (the
 *    positive sign that the pause was seen) and nothing was announced;
 *  - the announcement comes after the resume: its Event's resourceVersion is above the resume's
 *    and above the Deployment's first complete status, and at every pod its (epoch, seq) is
 *    above the Paused state's.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { V1Deployment } from '@kubernetes/client-node';
import { compareOrder } from '../../../src/core/order.ts';
import type { AppState } from '../../../src/core/app-state.ts';
import {
  announcements, createNamespace, deployment, kubectl, metric, podsOf, publicKeyOf, receivedBy, setVersion, spawnController, startEnv, waitFor,
  type ControllerProc, type Env,
} from '../../support/controller-harness.ts';
import { announcementEventRv, deploymentComplete, firstCompleteRv, record, rvOf } from '../ordered-facts.ts';

const NS = 'paused';
const KEY = `${NS}/cart`;
/** Each new pod must stay Ready this long before the rollout moves on: room to pause in between. */
const MIN_READY_SECONDS = 5;
let env: Env;
let ctl: ControllerProc;

before(async () => {
  env = await startEnv();
  ctl = await spawnController(env, 'controller-a');
  await createNamespace(env, NS);
});

after(async () => {
  await ctl?.kill('SIGTERM');
  await env?.cluster.stop();
});

test('paused mid-rollout: Paused reaches every pod, nothing is announced until after the resume', async () => {
  const publicKey = await publicKeyOf(ctl);
  const body = deployment({ namespace: NS, name: 'cart', app: 'cart', version: '1.0.0', replicas: 3, publicKey });
  body.spec!.minReadySeconds = MIN_READY_SECONDS;
  await env.apps.createNamespacedDeployment({ namespace: NS, body });
  assert.equal((await kubectl(env.cluster, ['rollout', 'status', 'deployment/cart', '-n', NS, '--timeout=120s'])).status, 0);
  await waitFor('converged on 1.0.0', async () => (await ctl.app(KEY))?.phase === 'converged', 30_000);

  const deployments = await record<V1Deployment>(env.cluster.kubeConfig, `/apis/apps/v1/namespaces/${NS}/deployments`, () => env.apps.listNamespacedDeployment({ namespace: NS }));
  const patchedFrom = rvOf(await env.apps.readNamespacedDeployment({ namespace: NS, name: 'cart' }));
  await setVersion(env, NS, 'cart', '1.1.0');
  await waitFor('a 1.1.0 pod serves', async () => (await podsOf(env, NS, 'cart')).some((p) => p.version === '1.1.0' && p.ready && !p.terminating), 60_000, 50);
  const pause = await kubectl(env.cluster, ['rollout', 'pause', 'deployment/cart', '-n', NS]);
  assert.equal(pause.status, 0, pause.stderr);

  // Recorded incomplete up to and including the pause (else the test did not pause mid-rollout).
  const pausedRv = await waitFor('the pause recorded', () => deployments.history().find((e) => e.rv > patchedFrom && e.object.spec?.paused === true)?.rv);
  for (const e of deployments.history().filter((x) => x.rv > patchedFrom && x.rv <= pausedRv)) {
    assert.ok(!deploymentComplete({ ...e.object, spec: { ...e.object.spec!, paused: false } }), `complete at rv ${e.rv}, before the pause at ${pausedRv}: the pause came too late`);
  }

  // The positive sign that the pause was seen: every serving pod applied progressing/Paused.
  const paused = await waitFor('the controller reports Paused', async () => {
    const s = await ctl.app(KEY);
    return s?.phase === 'progressing' && s.reason === 'Paused' ? s : undefined;
  }, 30_000);
  const serving = (await podsOf(env, NS, 'cart')).filter((p) => p.ready && !p.terminating);
  assert.ok(serving.some((p) => p.version === '1.0.0') && serving.some((p) => p.version === '1.1.0'), `mixed while paused: ${JSON.stringify(serving)}`);
  for (const p of serving) {
    await waitFor(`pod ${p.name} applied Paused`, async () => {
      const held = (await receivedBy(p.ip)).held;
      return held !== null && compareOrder(held, paused) >= 0 && held.reason === 'Paused';
    }, 15_000);
  }
  assert.equal(metric(await ctl.metrics(), 'version_observer_announcements_total{change="minor"}'), 0, 'nothing announced while paused');

  const resume = await kubectl(env.cluster, ['rollout', 'resume', 'deployment/cart', '-n', NS]);
  assert.equal(resume.status, 0, resume.stderr);
  assert.equal((await kubectl(env.cluster, ['rollout', 'status', 'deployment/cart', '-n', NS, '--timeout=120s'])).status, 0);
  const final = await waitFor('converged on 1.1.0', async () => {
    const s = await ctl.app(KEY);
    return s?.phase === 'converged' && s.version === '1.1.0' ? s : undefined;
  }, 30_000);
  assert.equal(final.change, 'minor');

  const history = deployments.history();
  deployments.stop();
  const resumedRv = history.find((e) => e.rv > pausedRv && !e.object.spec?.paused)?.rv;
  assert.ok(resumedRv !== undefined, 'the resume was recorded');
  const completeRv = firstCompleteRv(history, 'cart', patchedFrom);
  const announcedRv = await announcementEventRv(env.cluster.kubeConfig, NS, 'cart', '1.1.0');
  console.log(`[pause] resourceVersions: paused ${pausedRv}, resumed ${resumedRv}, complete ${completeRv}, announcement Event ${announcedRv}`);
  assert.ok(completeRv > resumedRv, 'complete only after the resume');
  assert.ok(announcedRv > completeRv, `announced (rv ${announcedRv}) before the Deployment was complete (rv ${completeRv})`);

  // At every pod: one announcement, ordered after the Paused state; nothing converged on 1.1.0 below it.
  const pods = (await podsOf(env, NS, 'cart')).filter((p) => !p.terminating);
  assert.equal(pods.length, 3);
  for (const p of pods) {
    const r = await waitFor(`pod ${p.name} holds the announcement`, async () => {
      const got = await receivedBy(p.ip);
      return got.held && compareOrder(got.held, final) >= 0 ? got : undefined;
    }, 15_000);
    const ann = announcements(r.received).filter((s) => s.version === '1.1.0');
    assert.equal(ann.length, 1, `pod ${p.name}: ${JSON.stringify(r.received.map((x) => [x.status, x.state?.phase, x.state?.version, x.state?.reason]))}`);
    assert.ok(compareOrder(ann[0]!, paused) > 0, 'announced after the Paused state');
    const below = r.received.filter((x) => x.status === 204 && x.state && compareOrder(x.state, ann[0]!) < 0).map((x) => x.state as AppState);
    for (const x of below) assert.ok(!(x.phase === 'converged' && x.version === '1.1.0'), JSON.stringify(x));
  }
  assert.equal(metric(await ctl.metrics(), 'version_observer_announcements_total{change="minor"}'), 1);
});
