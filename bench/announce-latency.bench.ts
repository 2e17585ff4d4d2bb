/**
 * Announcement latency: a 10-pod Deployment of real receivers (the test receiver image: an HTTP
 * server on each pod IP that verifies signatures and records arrival times), rolled out
 * ROLLOUTS times (maxSurge 100 %, so each rollout starts 10 new pods at once). Per rollout:
 *   last new pod Ready (the watch event's arrival in this process: the bench's own pod watch)
 *   → every new pod has accepted (204) the converged state of the new version (receiver clock,
 *   Date.now(), same machine).
 * Split: Ready → the controller's 'announcing new version' log line (the Deployment controller
 * scaling the old ReplicaSet down + the controller's evaluation), then → all pods acknowledged.
 * Same-run comparison: the seed system's behaviour, emulated on the same trigger — wait a fixed
 * 1 s after the last pod is Ready, then push the same signed state to 10 in-process receivers.
 */
import os from 'node:os';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import {
  startEnv, createNamespace, deployment, isLeader, publicKeyOf, receivedBy, sleep, spawnController, waitFor, SYSTEM_NS, type ControllerProc,
} from '../test/support/controller-harness.ts';
import { metric, samplesOf } from '../test/support/metrics-text.ts';
import { startReceiver, type Receiver } from '../test/support/receiver.ts';
import { createKubeHttp, MERGE_PATCH, type KubeHttp } from '../src/local/kube-http.ts';
import { startInformer, type LocalInformer } from '../src/local/informer.ts';
import { signingKeyFromPem } from '../src/core/signature.ts';
import { pushBody } from '../src/core/push-envelope.ts';
import type { AppState } from '../src/core/app-state.ts';
import { isDeploymentComplete } from '../src/core/evaluate.ts';
import { DEFAULT_VERSION_LABEL } from '../src/core/labels.ts';
import { slimDeployment } from '../src/controller/slim.ts';
import type { BenchResult } from './run.ts';
import { fmt, summary } from './stats.ts';
import { logMatching } from './controller/common.ts';

const NS = 'latency';
const NAME = 'web';
const KEY = `${NS}/${NAME}`;
const REPLICAS = 10;
/** ≥ 100 so the tail printed is a p99, not the maximum (bench/stats.ts); env ANNOUNCE_ROLLOUTS for development runs. */
const ROLLOUTS = Number(process.env.ANNOUNCE_ROLLOUTS ?? 100);
/** Stop rolling out after this long (bounded run); the section reports how many were done. */
const BUDGET_MS = Number(process.env.ANNOUNCE_BUDGET_S ?? 600) * 1000;
const SEED_WAIT_MS = 1000;

interface Rollout {
  version: string;
  lastReady: number;
  complete: number;
  decided: number;
  accepted: number;
  seedAccepted: number;
}

export async function run(): Promise<BenchResult> {
  const t0 = performance.now();
  const loadStart = (os.loadavg()[0] ?? 0).toFixed(1);
  const env = await startEnv();
  let c: ControllerProc | undefined;
  let api: KubeHttp | undefined;
  let watch: LocalInformer<V1Pod> | undefined;
  let dwatch: LocalInformer<V1Deployment> | undefined;
  const seeds: Receiver[] = [];
  try {
    api = await createKubeHttp(env.cluster.kubeConfig, 4);
    c = await spawnController(env, 'latency');
    await waitFor('controller leads', () => isLeader(c!), 30_000);
    const publicKey = await publicKeyOf(c);
    const secret = await env.core.readNamespacedSecret({ namespace: SYSTEM_NS, name: 'vo-version-observer-signing-key' });
    const key = signingKeyFromPem(Buffer.from(secret.data!['private.pem']!, 'base64').toString('utf8'));
    const BENCH_INSTALLATION = Buffer.from(secret.data!['installation']!, 'base64').toString('utf8');
    for (let i = 0; i < REPLICAS; i++) seeds.push(await startReceiver({ host: '127.0.0.1', port: 0, publicKeys: [publicKey] }));
    const seedPorts = seeds.map((s) => (s.server.address() as { port: number }).port);

    // The bench's own watch: first time each pod is seen Ready, by version.
    const readyAt = new Map<string, { at: number; version: string; ip: string }>();
    const waiters: Array<() => void> = [];
    const onPod = (p: V1Pod) => {
      const uid = p.metadata?.uid ?? '';
      if (readyAt.has(uid) || p.metadata?.deletionTimestamp || !p.status?.podIP) return;
      if (!p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')) return;
      readyAt.set(uid, { at: Date.now(), version: p.metadata?.labels?.[DEFAULT_VERSION_LABEL] ?? '', ip: p.status.podIP });
      for (const w of waiters.splice(0)) w();
    };
    watch = startInformer<V1Pod>(env.cluster.kubeConfig, api, `/api/v1/namespaces/${NS}/pods`, { add: onPod, update: onPod });
    // ... and when the Deployment's status first says the rollout is complete (the controller's own rule, read as the controller reads it).
    const completeAt = new Map<string, number>();
    const onDeployment = (d: V1Deployment) => {
      const v = d.spec?.template.metadata?.labels?.[DEFAULT_VERSION_LABEL] ?? '';
      if (isDeploymentComplete(slimDeployment(d).view) && !completeAt.has(v)) completeAt.set(v, Date.now());
    };
    dwatch = startInformer<V1Deployment>(env.cluster.kubeConfig, api, `/apis/apps/v1/namespaces/${NS}/deployments`, { add: onDeployment, update: onDeployment });
    const readyOf = (version: string) => [...readyAt.values()].filter((r) => r.version === version);

    await createNamespace(env, NS);
    const d = deployment({ namespace: NS, name: NAME, app: NAME, version: '1.0.0', replicas: REPLICAS, publicKey });
    d.spec!.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '100%', maxUnavailable: 0 } };
    d.spec!.template.spec!.terminationGracePeriodSeconds = 1;
    await env.apps.createNamespacedDeployment({ namespace: NS, body: d });
    await waitFor('1.0.0 converged', async () => (await c!.app(KEY))?.phase === 'converged' && (await c!.app(KEY))?.version === '1.0.0', 90_000);

    const rollouts: Rollout[] = [];
    const tBudget = Date.now() + BUDGET_MS;
    for (let k = 1; k <= ROLLOUTS && Date.now() < tBudget; k++) {
      const version = `1.${k}.0`;
      const from = c.logs.length;
      await api.request('PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/${NAME}`, { spec: { template: { metadata: { labels: { [DEFAULT_VERSION_LABEL]: version } } } } }, MERGE_PATCH);
      // Seed emulation: on the last pod's Ready, wait 1 s, then push to every (seed) receiver.
      const seedDone = (async () => {
        while (readyOf(version).length < REPLICAS) await new Promise<void>((r) => waiters.push(r));
        await sleep(SEED_WAIT_MS);
        const state: AppState = { app: KEY, phase: 'converged', version, previousVersion: `1.${k - 1}.0`, change: 'minor', serving: { [version]: REPLICAS }, reason: null, epoch: 1, seq: k, since: new Date().toISOString() };
        const body = pushBody(BENCH_INSTALLATION, state, key);
        await Promise.all(seedPorts.map((port) => fetch(`http://127.0.0.1:${port}/internal/v1/state`, { method: 'PUT', body, headers: { 'content-type': 'application/json' } })));
      })();
      const line = await logMatching(c, (o) => o.msg === 'announcing new version' && o.app === KEY && o.version === version, from, 120_000);
      const pods = readyOf(version);
      if (pods.length !== REPLICAS) throw new Error(`${version} announced with ${pods.length}/${REPLICAS} new pods seen Ready by the bench`);
      const accepted = await waitFor(`${version} accepted by every pod`, async () => {
        let last = 0;
        for (const p of pods) {
          const r = await receivedBy(p.ip);
          const hit = r.received.find((x) => x.status === 204 && x.state?.phase === 'converged' && x.state.version === version);
          if (!hit) return undefined;
          last = Math.max(last, hit.atMs);
        }
        return last;
      }, 30_000, 20);
      await seedDone;
      const seedAccepted = Math.max(...seeds.map((s) => s.received.find((x) => x.status === 204 && x.state?.version === version)?.atMs ?? Number.NaN));
      const lastReady = Math.max(...pods.map((p) => p.at));
      // The complete write happened before either receipt of it: the bench's watch and the
      // controller's decision (it cannot decide on a write it has not received). The earlier of the
      // two bounds the write, so the controller's share is never shortened by this process's watch lag.
      const complete = Math.min(completeAt.get(version) ?? Number.NaN, line.time);
      rollouts.push({ version, lastReady, complete, decided: line.time, accepted, seedAccepted });
      console.error(`[latency] ${version}: ready→complete ${complete - lastReady} ms, ready→decided ${line.time - lastReady} ms, ready→all accepted ${accepted - lastReady} ms, seed ${seedAccepted - lastReady} ms`);
      // Let the old pods go before the next rollout (their processes compete for the CPU).
      await waitFor('old pods gone', async () => {
        const l = await api!.request<{ items: V1Pod[] }>('GET', `/api/v1/namespaces/${NS}/pods`);
        return l.items.length === REPLICAS;
      }, 60_000, 100);
    }

    const total = summary(rollouts.map((r) => r.accepted - r.lastReady));
    const kcm = summary(rollouts.map((r) => r.complete - r.lastReady));
    const decide = summary(rollouts.map((r) => r.decided - r.complete));
    const own = summary(rollouts.map((r) => r.accepted - r.complete));
    const fan = summary(rollouts.map((r) => r.accepted - r.decided));
    const seed = summary(rollouts.map((r) => r.seedAccepted - r.lastReady));
    const m = await c.metrics();
    const hSum = metric(m, 'version_observer_ready_to_announcement_seconds_sum');
    const hCount = metric(m, 'version_observer_ready_to_announcement_seconds_count');
    const failures = samplesOf(m, 'version_observer_push_failures_total').filter((x) => x.sample.includes('{')).map((x) => `${x.sample.replace('version_observer_push_failures_total', '')} ${x.value}`).join(', ') || 'none';
    const notListening = samplesOf(m, 'version_observer_push_not_listening_total').reduce((sum, x) => sum + x.value, 0);
    const row = (name: string, s: ReturnType<typeof summary>, target = '') => `| ${name} | ${fmt(s.p50)} ms | ${fmt(s.tail.value)} ms (${s.tail.label}) | ${fmt(s.max)} ms | ${target} |`;
    const markdown = `
A ${REPLICAS}-replica Deployment of real receiver processes (one per pod, on its pod IP, verifying every
signature), rolled out ${rollouts.length} times (\`maxSurge: 100%\`, \`maxUnavailable: 0\`, readiness probe every 1 s); one controller
(chart args and RBAC) leads. Ready = the bench's own pod watch first sees the pod Ready (the last of the 10 new pods
is the rollout's end); accepted = the receiver's clock when it answered 204 to the converged state of the new version
(same machine clock, ms resolution). Latency = last new pod Ready → the last of the 10 pods accepted.

| ${rollouts.length} rollouts | p50 | tail | max | target |
| --- | --- | --- | --- | --- |
${row('**last pod Ready → all 10 pods accepted**', total, `p99 ≤ 50 ms ${!total.tail.supported ? `not judged (${total.n} rollouts < 100)` : total.tail.value <= 50 ? '✅' : '❌'}`)}
${row('… Ready → Deployment status complete (kube-controller-manager: ReplicaSet status, old ReplicaSet scaled to 0, Deployment status; the earlier of the bench\'s watch and the controller\'s decision)', kcm)}
${row('… Deployment complete → controller decides (watch event, evaluation, log)', decide)}
${row('… decision → all 10 acknowledged (sign, pushes)', fan)}
${row('controller\'s own part: Deployment complete → all 10 acknowledged', own)}
${row('seed system emulated (same trigger, fixed 1 s wait, then push to 10 receivers)', seed)}

The controller's own \`version_observer_ready_to_announcement_seconds\` (its watch, its clock): mean
${fmt(hCount > 0 ? (hSum / hCount) * 1000 : Number.NaN)} ms over ${hCount} announcements. With p50 ${fmt(total.p50)} ms against the seed's
${fmt(seed.p50)} ms, the announcement arrives ${fmt(seed.p50 - total.p50, 0)} ms sooner, and never during the mixed phase (the
controller only announces once the Deployment is complete). Push throughput into one receiver: see "Controller at scale".

Where the time goes: the controller decides ${fmt(decide.p50)} ms (p50; ${decide.tail.label} ${fmt(decide.tail.value)} ms) after the Deployment status says
complete, and its whole share — decision, signing, 10 pushes acknowledged — is ${fmt(own.p50)} ms p50 / ${fmt(own.tail.value)} ms ${own.tail.label}.
The rest is kube-controller-manager turning the last Ready into a complete Deployment status (new ReplicaSet status,
old ReplicaSet scaled to 0, Deployment status): ${fmt(kcm.p50)} ms p50 / ${fmt(kcm.tail.value)} ms ${kcm.tail.label} on this machine. The
completeness rules (\`kubectl rollout status\`) need that status, so this part is the floor of the end-to-end figure.
Push failures counted by the controller over the run: ${failures} (\`reset\`/\`network\` are old pods shutting down).
Connects refused because a new pod's receiver did not listen yet: ${notListening} — not failures: they wait on a short
listen backoff of their own, and a pod that turns Ready is retried at once.
Load average during the run: ${loadStart} → ${(os.loadavg()[0] ?? 0).toFixed(1)} (2 cores, shared).


Total ${fmt((performance.now() - t0) / 1000, 0)} s.
`;
    return { title: 'Announcement latency (last pod Ready → every pod has the state)', markdown };
  } finally {
    await watch?.stop();
    await dwatch?.stop();
    for (const s of seeds) await s.close();
    await c?.kill('SIGKILL');
    api?.close();
    await env.cluster.stop();
  }
}
