/**
 * Issue 11 item 5, on the local cluster: trouble in the sidecar never takes the app's pod out
 * of its Service. The example app (2 replicas, the inline native sidecar built by
 * src/core/sidecar-container.ts) is served through its Service by the local service proxy while
 * a client loop counts every answer and a recording (ordered-facts.ts) holds every pod status
 * the API server stored, in resourceVersion order.
 *
 * What "the sidecar SIGKILLed" means here: the sidecar's *server* process is killed — the child
 * that the container's main process, the supervisor, runs with VERSION_OBSERVER_SIDECAR_ROLE=server.
 * That is what a crash, a V8 heap-limit abort or a kernel OOM kill of the server looks like
 * (the OOM killer sends SIGKILL). The supervisor itself is the boundary of the design and is
 * not killed here: when a container's main process dies, the kubelet restarts the container,
 * and a restarting native sidecar is not ready, which makes the pod NotReady — Kubernetes
 * reports that itself (test/integration/local/native-sidecar.test.ts shows it). That is why the
 * supervisor is small, loads no server code and exits only on SIGTERM, and why the container
 * has no probes (docs/install.md "Why no probes"): nothing the server does can end the container
 * or fail a probe.
 *
 * Cases:
 * 1. the server of every pod SIGKILLed → fence: the supervisor logged `server-exit` (SIGKILL) and
 *    a new server process answers /version; meanwhile every recorded status of every pod is
 *    Ready (the proxy's "ready backend"), the sidecar container ready and never restarted, and
 *    every app request through the Service succeeded.
 * 2. OOM-like crash loop: the server SIGKILLed 4 times in a row, each time as soon as it answers
 *    again → the same, and the supervisor's gauge version_observer_sidecar_server_restarts says 4.
 * 3. without a key (VERSION_OBSERVER_PUBLIC_KEY and VERSION_OBSERVER_INSTALLATION unset; sidecars
 *    never fetch keys): the server runs keyless — /version has state null and a signed push is
 *    refused with 401 VO_PUSH_NO_KEY, with no crash loop; the pods are Ready and serve the app.
 *    (An invalid configuration, which ends the server with exit 78 and leaves the container up,
 *    is covered at the process level by supervisor.test.ts.)
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { generateSigningKey } from '../../../src/core/signature.ts';
import { SIDECAR_ADMIN_PORT, SIDECAR_PUBLIC_PORT } from '../../../src/core/ports.ts';
import { SIDECAR_CONTAINER_NAME } from '../../../src/core/sidecar-container.ts';
import { exampleAppObjects } from '../../../src/demo/example-app.ts';
import { ROLE_ENV } from '../../../src/sidecar/supervisor-protocol.ts';
import { getPods, isReady, kubectl, sleep, waitFor } from '../../support/local-k8s.ts';
import { useCluster } from '../local/cluster-fixture.ts';
import { podServing, record, type Recorded, type Recording } from '../ordered-facts.ts';
import { makeState, push, signed } from './helpers.ts';

const NS = 'default';
const REPLICAS = 2;
const local = useCluster('vo-never-hurt-');

// ---- the app -------------------------------------------------------------------------------

async function deployApp(name: string, publicKey: string | undefined): Promise<V1Pod[]> {
  const objects = exampleAppObjects({ namespace: NS, name, version: '1.0.0', replicas: REPLICAS, sidecar: 'inline', publicKey });
  await kubectl(local.cluster, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  return waitFor(`${REPLICAS} pods of ${name} Ready`, async () => {
    const pods = await getPods(local.cluster, NS, `app=${name}`);
    return pods.length === REPLICAS && pods.every(isReady) ? pods : undefined;
  }, 180_000, 300);
}

async function removeApp(name: string): Promise<void> {
  await kubectl(local.cluster, ['delete', 'deployment,service', name, '-n', NS, '--wait=true']);
  await kubectl(local.cluster, ['wait', '--for=delete', 'pod', '-l', `app=${name}`, '-n', NS, '--timeout=120s']);
}

const sidecarStatus = (p: V1Pod) => p.status?.initContainerStatuses?.find((c) => c.name === SIDECAR_CONTAINER_NAME);
const supervisorPid = (p: V1Pod): number => {
  const pid = Number(/^process:\/\/(\d+)$/.exec(sidecarStatus(p)?.containerID ?? '')?.[1] ?? 0);
  assert.ok(pid > 0, `${p.metadata?.name}: the sidecar container has a process: ${JSON.stringify(sidecarStatus(p))}`);
  return pid;
};
const publicUrl = (p: V1Pod) => `http://${p.status!.podIP}:${SIDECAR_PUBLIC_PORT}`;
const adminUrl = (p: V1Pod) => `http://${p.status!.podIP}:${SIDECAR_ADMIN_PORT}`;

// ---- the sidecar's processes (local processes: /proc is the process tree) ------------------

/** The supervisor's server children (the role env tells them apart from anything else it might run). */
function serverChildren(supervisor: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== supervisor) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`${ROLE_ENV}=server`)) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The one server process of the pod's sidecar, once it answers /version; not `notPid` (the one just killed). */
async function answeringServer(p: V1Pod, notPid = 0): Promise<number> {
  const supervisor = supervisorPid(p);
  return waitFor(`${p.metadata!.name}: a server process (not ${notPid}) answers /version`, async () => {
    const servers = serverChildren(supervisor);
    if (servers.length !== 1 || servers[0] === notPid) return undefined;
    const res = await fetch(`${publicUrl(p)}/version`, { signal: AbortSignal.timeout(3000) }).catch(() => undefined);
    return res?.status === 200 ? servers[0] : undefined;
  }, 60_000, 50);
}

interface SupervisorFact { event: string; signal?: string | null; restarts?: number; pid?: number }
/** The supervisor's JSON log lines, from the container log the process kubelet keeps. */
function supervisorFacts(p: V1Pod): SupervisorFact[] {
  const file = join(local.cluster.dir, 'logs', `${NS}_${p.metadata!.name}_${SIDECAR_CONTAINER_NAME}.log`);
  return readFileSync(file, 'utf8').split('\n').flatMap((line) => {
    try {
      const o = JSON.parse(line) as SupervisorFact & { component?: string };
      return o.component === 'sidecar-supervisor' ? [o] : [];
    } catch {
      return [];
    }
  });
}
const serverExits = (p: V1Pod) => supervisorFacts(p).filter((f) => f.event === 'server-exit');

/** A gauge's value from the sidecar's admin /metrics; throws when it is not exposed. */
async function gauge(p: V1Pod, name: string): Promise<number> {
  const text = await (await fetch(`${adminUrl(p)}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const line = text.split('\n').find((l) => l.split(' ')[0] === name);
  assert.ok(line, `${name} is exposed on ${adminUrl(p)}/metrics`);
  return Number(line.split(' ').pop());
}

// ---- the app's traffic and the pods' history -----------------------------------------------

interface Answer { at: number; ok: boolean; detail: string }
/** GETs / through the Service until stopped, one new connection per request (so the proxy picks a backend each time). */
function appTraffic(url: string): { stop(): Promise<Answer[]> } {
  const answers: Answer[] = [];
  let running = true;
  const one = () => new Promise<Answer>((resolve) => {
    const req = request(url, { agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ at: Date.now(), ok: res.statusCode === 200, detail: `HTTP ${res.statusCode}` }));
      res.on('error', (err) => resolve({ at: Date.now(), ok: false, detail: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', (err) => resolve({ at: Date.now(), ok: false, detail: err.message }));
    req.end();
  });
  const loop = (async () => {
    while (running) {
      answers.push(await one());
      await sleep(25);
    }
  })();
  return { stop: async () => { running = false; await loop; return answers; } };
}

async function recordPods(name: string): Promise<Recording<V1Pod>> {
  const core = local.cluster.kubeConfig.makeApiClient(CoreV1Api);
  const selector = `app=${name}`;
  return record<V1Pod>(local.cluster.kubeConfig, `/api/v1/namespaces/${NS}/pods`, () => core.listNamespacedPod({ namespace: NS, labelSelector: selector }), selector);
}

/**
 * Every status recorded: the same pods, each Ready and not terminating (so a ready backend of
 * the Service: the proxy routes to exactly those), the sidecar container ready with no restart.
 */
function assertAlwaysServing(history: Array<Recorded<V1Pod>>, pods: V1Pod[]): void {
  const names = new Set(pods.map((p) => p.metadata!.name!));
  const brief = history.map((e) => ({ rv: String(e.rv), type: e.type, pod: e.object.metadata?.name, ready: isReady(e.object), sidecar: sidecarStatus(e.object)?.ready, restarts: sidecarStatus(e.object)?.restartCount }));
  assert.ok(history.length >= REPLICAS, `the recording holds the pods: ${JSON.stringify(brief)}`);
  for (const e of history) {
    const where = `${e.type} ${e.object.metadata?.name} at rv ${e.rv}; history ${JSON.stringify(brief)}`;
    assert.ok(names.has(e.object.metadata!.name!), `only the app's original pods: ${where}`);
    assert.notEqual(e.type, 'DELETED', where);
    assert.ok(podServing(e.object), `Ready and not terminating: ${where}`);
    assert.equal(sidecarStatus(e.object)?.ready, true, `sidecar container ready: ${where}`);
    assert.equal(sidecarStatus(e.object)?.restartCount, 0, `sidecar container never restarted: ${where}`);
    assert.equal(e.object.status?.containerStatuses?.[0]?.restartCount, 0, `app container never restarted: ${where}`);
  }
}

function assertTrafficNeverStopped(answers: Answer[], window: { from: number; to: number }): void {
  const failed = answers.filter((a) => !a.ok);
  const inWindow = answers.filter((a) => a.ok && a.at >= window.from && a.at <= window.to);
  const gaps = answers.slice(1).map((a, i) => a.at - answers[i]!.at);
  console.log(`app traffic: ${answers.length} answers, ${failed.length} failed, ${inWindow.length} during the sidecar trouble (${window.to - window.from} ms), longest gap ${Math.max(0, ...gaps)} ms`);
  assert.ok(answers.length > 0, 'the client loop sent requests');
  assert.deepEqual(failed.map((a) => a.detail), [], `every app request through the Service succeeded (${failed.length} of ${answers.length} failed)`);
  assert.ok(inWindow.length > 0, 'the app answered while its sidecar was in trouble');
}

/** Runs `trouble` with traffic and the recording on; keeps recording 2 s after it (a late status would show). */
async function underObservation(name: string, pods: V1Pod[], trouble: () => Promise<void>): Promise<void> {
  const recording = await recordPods(name);
  const traffic = appTraffic(await local.cluster.serviceUrl(NS, name));
  let answers: Answer[] = [];
  const window = { from: 0, to: 0 };
  try {
    await sleep(500); // traffic flows before the trouble starts
    window.from = Date.now();
    await trouble();
    window.to = Date.now();
    await sleep(2000);
  } finally {
    answers = await traffic.stop();
    recording.stop();
  }
  assertAlwaysServing(recording.history(), pods);
  assertTrafficNeverStopped(answers, window);
}

// ---- the cases -----------------------------------------------------------------------------

test('the sidecar server SIGKILLed in every pod: the pods stay Ready and in the Service, the app is served throughout', async () => {
  const t0 = performance.now();
  const name = 'never-hurt-kill';
  const pods = await deployApp(name, generateSigningKey().publicKeyBase64);
  await underObservation(name, pods, async () => {
    await Promise.all(pods.map(async (p) => {
      const server = await answeringServer(p);
      process.kill(server, 'SIGKILL');
      // fence: the supervisor saw the kill, and a new server process answers
      const next = await answeringServer(p, server);
      assert.notEqual(next, server);
      const exits = serverExits(p);
      assert.deepEqual(exits.map((f) => [f.signal, f.restarts]), [['SIGKILL', 1]], `${p.metadata!.name}: one server-exit, by SIGKILL`);
      assert.ok(supervisorFacts(p).some((f) => f.event === 'server-start' && f.pid === next), `${p.metadata!.name}: the supervisor started ${next}`);
    }));
  });
  await removeApp(name);
  console.log(`case 1 took ${Math.round(performance.now() - t0)} ms`);
});

test('OOM-like crash loop (the server SIGKILLed 4 times as it comes back): the pods stay Ready and in the Service; 4 restarts counted', async () => {
  const t0 = performance.now();
  const name = 'never-hurt-loop';
  const KILLS = 4;
  const pods = await deployApp(name, generateSigningKey().publicKeyBase64);
  await underObservation(name, pods, async () => {
    await Promise.all(pods.map(async (p) => {
      let server = await answeringServer(p);
      for (let i = 0; i < KILLS; i++) {
        process.kill(server, 'SIGKILL');
        server = await answeringServer(p, server);
      }
      const exits = serverExits(p);
      assert.deepEqual(exits.map((f) => [f.signal, f.restarts]), [1, 2, 3, 4].map((n) => ['SIGKILL', n]), `${p.metadata!.name}: ${KILLS} server-exits, by SIGKILL`);
      assert.equal(await gauge(p, 'version_observer_sidecar_server_restarts'), KILLS, `${p.metadata!.name}: the restart gauge`);
    }));
  });
  await removeApp(name);
  console.log(`case 2 took ${Math.round(performance.now() - t0)} ms`);
});

/** Neither a pinned key nor an installation in the sidecar's env. */
function assertNoKeyEnv(p: V1Pod): void {
  const env = p.spec?.initContainers?.find((c) => c.name === SIDECAR_CONTAINER_NAME)?.env?.map((e) => e.name) ?? [];
  assert.ok(!env.includes('VERSION_OBSERVER_PUBLIC_KEY') && !env.includes('VERSION_OBSERVER_INSTALLATION'), `no key, no installation: ${JSON.stringify(env)}`);
}

test('no key pinned: the sidecar runs keyless (state null, pushes 401 VO_PUSH_NO_KEY); the pod is Ready and serves the app', async () => {
  const t0 = performance.now();
  const name = 'never-hurt-keyless';
  const pods = await deployApp(name, undefined);
  for (const p of pods) assertNoKeyEnv(p);
  await underObservation(name, pods, async () => {
    await Promise.all(pods.map(async (p) => {
      await answeringServer(p);
      const version = (await (await fetch(`${publicUrl(p)}/version`, { signal: AbortSignal.timeout(5000) })).json()) as { app: string; state: unknown };
      assert.equal(version.state, null, `${p.metadata!.name}: no state without a key`);
      const refused = await push(adminUrl(p), signed(makeState({ app: version.app }), generateSigningKey()));
      assert.equal(refused.status, 401, JSON.stringify(refused.body));
      assert.equal(refused.body.code, 'VO_PUSH_NO_KEY');
      assert.deepEqual(serverExits(p), [], `${p.metadata!.name}: the keyless server runs, it does not crash-loop`);
    }));
    await sleep(1500); // app traffic with the keyless sidecar settled
  });
  await removeApp(name);
  console.log(`case 3 took ${Math.round(performance.now() - t0)} ms`);
});
