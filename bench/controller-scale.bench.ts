/**
 * Controller at scale, with virtual pods: 1,000 and then 10,000 bare pods across 1,000 apps
 * (+ one single-pod probe app), created with bounded parallelism; for each level a fresh
 * controller process (the chart's args and RBAC, as in the integration tests) is started
 * against the populated cluster and measured:
 * - initial sync: process start → listening → /readyz 200 (caches synced) → every app evaluated
 *   (the controller's own log timestamps);
 * - retained heap after a forced GC (bench/controller/gc-hook.ts), above an empty controller;
 * - push throughput: the new leader's first push wave (every pod) into one sink.
 * Then the per-event cost, as an interleaved A/B (bench/stats.ts interleave): a second namespace
 * gets the 1k population, and ROUNDS rounds alternate a fresh controller watching only it
 * (`--namespaces`) with one watching only the 10k namespace. Per round: the probe pod's version
 * label patched (a new version of a one-pod app) → the controller's 'announcing new version' log
 * line, and controller CPU per event. The probe app has the same size in both arms and both run
 * against the same API server holding all 11k pods, so any difference is the cost of the cache size.
 * Pushes: virtual pods have no process, so the controller runs with --push-port pointing at a
 * single sink (bench/controller/sink.ts: the test receiver bound on the wildcard address, which
 * answers for all of 127.0.0.0/8) — every push is verified and answered as a sidecar would, none
 * fails, so failing pushes and their backoff cannot dominate or flatter the figures.
 */
import os from 'node:os';
import { DEFAULT_VERSION_LABEL } from '../src/core/labels.ts';
import { startEnv, createNamespace, isLeader, publicKeyOf, sleep, waitFor, waitReadyz, type ControllerProc, type Env } from '../test/support/controller-harness.ts';
import { MiB, cpuSeconds } from '../test/support/process-stats.ts';
import { createKubeHttp, MERGE_PATCH, type KubeHttp } from '../src/local/kube-http.ts';
import type { AppState } from '../src/core/app-state.ts';
import type { BenchResult } from './run.ts';
import { fmt, fmtRange, interleave, medianSpread, rangesOverlap, summary, type Spread } from './stats.ts';
import { heapAfterGc, logMatching, pool, spawnMeasured, startSink, virtualPod, type HeapReading, type Sink } from './controller/common.ts';

const NS = 'scale';
/** The per-event A/B's 1k arm: the same 1,000 apps × 1 pod + probe, in a namespace of its own. */
const NS_1K = 'scale-1k';
const APPS = 1000;
const LEVELS = [1000, 10_000];
/** Per-event A/B: rounds (≥ 3, bench/stats.ts MIN_ROUNDS) × events per round and arm; ≥ 100 pooled events per p99. */
const ROUNDS = 3;
const EVENTS = 100;
const CREATE_PARALLEL = 48;

interface EventRound {
  eventMs: number[];
  cpuPerEventMs: number;
}

interface LevelResult {
  pods: number;
  createS: number;
  listeningS: number;
  readyzS: number;
  allAppsS: number;
  heap: HeapReading;
  wave: { n: number; seconds: number; byStatus: Record<string, number> };
}

let probeVersion = 0;

export async function run(): Promise<BenchResult> {
  const t0 = performance.now();
  const loadStart = (os.loadavg()[0] ?? 0).toFixed(1);
  const env = await startEnv();
  const procs: ControllerProc[] = [];
  let sink: Sink | undefined;
  let api: KubeHttp | undefined;
  try {
    api = await createKubeHttp(env.cluster.kubeConfig, CREATE_PARALLEL);

    // Empty controller: the baseline heap.
    const empty = await spawnMeasured(env, 'scale-empty');
    procs.push(empty);
    await waitReadyz(empty);
    await waitFor('empty controller leads', () => isLeader(empty), 30_000);
    await sleep(2000);
    const emptyHeap = await heapAfterGc(empty);
    const publicKey = await publicKeyOf(empty);
    await empty.kill('SIGTERM');
    sink = await startSink(publicKey);
    console.error(`[scale] empty controller heap ${fmt(emptyHeap.heapUsed / MiB)} MiB; sink on *:${sink.port}`);

    await namespaceReady(env, api, NS);
    const results: LevelResult[] = [];
    let created = 0;
    for (const level of LEVELS) {
      const createS = await populate(env, api, NS, created, level);
      created = level;
      results.push(await measureLevel(env, api, sink, level, createS, procs));
    }

    // Per-event A/B: the 1k population again, in its own namespace, then interleaved rounds.
    await namespaceReady(env, api, NS_1K);
    await populate(env, api, NS_1K, 0, LEVELS[0]!);
    let armRun = 0;
    const arms = await interleave<EventRound>({
      '1k': () => measureEvents(env, api!, sink!, NS_1K, LEVELS[0]! + 1, ++armRun, procs),
      '10k': () => measureEvents(env, api!, sink!, NS, LEVELS[1]! + 1, ++armRun, procs),
    }, ROUNDS);

    const [a, b] = results as [LevelResult, LevelResult];
    const ra = arms['1k']!;
    const rb = arms['10k']!;
    const pooledA = summary(ra.flatMap((r) => r.eventMs));
    const pooledB = summary(rb.flatMap((r) => r.eventMs));
    const p50A = medianSpread(ra.map((r) => summary(r.eventMs).p50));
    const p50B = medianSpread(rb.map((r) => summary(r.eventMs).p50));
    const meanA = medianSpread(ra.map((r) => summary(r.eventMs).mean));
    const meanB = medianSpread(rb.map((r) => summary(r.eventMs).mean));
    const cpuA = medianSpread(ra.map((r) => r.cpuPerEventMs));
    const cpuB = medianSpread(rb.map((r) => r.cpuPerEventMs));
    const spreadCell = (x: Spread, d = 1) => `${fmtRange(x, d)} ms`;
    const abRow = (name: string, x: Spread, y: Spread, target: string, d = 1) => `| ${name} | ${spreadCell(x, d)} | ${spreadCell(y, d)} | ${target} |`;
    const above = (r: LevelResult) => (r.heap.heapUsed - emptyHeap.heapUsed) / MiB;
    const ratio = (x: number, y: number) => (y > 0 ? x / y : Number.NaN);
    const ok = (c: boolean) => (c ? '✅' : '❌');
    const row = (name: string, f: (r: LevelResult) => string, target = '') => `| ${name} | ${f(a)} | ${f(b)} | ${target} |`;
    const wave = (r: LevelResult) => `${r.wave.n} in ${fmt(r.wave.seconds, 2)} s = **${fmt(r.wave.n / r.wave.seconds, 0)}/s**`;
    const markdown = `
${APPS} apps of bare pods with a virtual container (${LEVELS.map((l) => `${l / APPS} pod${l > APPS ? 's' : ''}/app`).join(', then ')}),
plus a one-pod probe app; one namespace (a second one for the per-event comparison below); pods created by the bench ${CREATE_PARALLEL} at a time. For each level a
fresh controller process (chart args and RBAC, short lease) starts against the populated cluster and becomes the
leader. Pushes go to one sink answering for every 127.x.y.z pod IP (see the file's header), so every push
succeeds as it would against sidecars. Heap = V8 heap used after a forced full GC
(\`version_observer_nodejs_heap_size_used_bytes\`), measured right after the leader's first push wave, with its
keep-alive sockets to every pod still open. Empty controller (no pods): **${fmt(emptyHeap.heapUsed / MiB)} MiB** heap,
${fmt(emptyHeap.rss / MiB, 0)} MiB RSS.

| | ${LEVELS.map((l) => `${l / 1000}k pods`).join(' | ')} | target |
| --- | --- | --- | --- |
${row('pods created → all Running (bench, not the controller)', (r) => `${fmt(r.createS)} s`)}
${row('start → HTTP listening', (r) => `${fmt(r.listeningS, 2)} s`)}
${row('start → /readyz 200 (caches synced)', (r) => `${fmt(r.readyzS, 2)} s`)}
${row(`start → all ${APPS + 1} apps evaluated`, (r) => `**${fmt(r.allAppsS, 2)} s**`, `≤ 5 s ${ok(a.allAppsS <= 5 && b.allAppsS <= 5)}`)}
${row('heap used after GC', (r) => `${fmt(r.heap.heapUsed / MiB)} MiB`)}
${row('heap above empty controller', (r) => `**${fmt(above(r))} MiB**`, `≤ 64 MB at 10k ${ok(above(b) * MiB <= 64e6)}`)}
| heap per added pod (1k → 10k) | | ${fmt((b.heap.heapUsed - a.heap.heapUsed) / (b.pods - a.pods) / 1024, 2)} KiB | |
${row('RSS', (r) => `${fmt(r.heap.rss / MiB, 0)} MiB`)}
${row('first push wave into one sink (pushes, concurrency 64)', wave)}
${row('push answers', (r) => Object.entries(r.wave.byStatus).map(([s, n]) => `${s}: ${n}`).join(', '))}

The first push wave is the new leader pushing every pod its app's state (the
sink answers 204, or 409 when it already holds a newer state of another app — both are acknowledgements);
pushes/s is the sink's count over the time from its first to its last arrival.

**Per event, 1k vs 10k pods, interleaved.** A second namespace holds the 1k population again (${LEVELS[0]} apps × 1 pod +
probe), so the API server holds both; ${ROUNDS} rounds alternate (1k, 10k, then 10k, 1k, …) a fresh controller watching only
one namespace (\`--namespaces\`), ${EVENTS} events per round and arm. Median of the rounds' figures [min–max]:

| per event (label patch → new state) | 1k pods | 10k pods | target |
| --- | --- | --- | --- |
${abRow('p50 of each round', p50A, p50B, `10k ≤ 1.5 × 1k ${ok(p50B.median <= 1.5 * p50A.median)} (${fmt(ratio(p50B.median, p50A.median), 2)}×; ranges ${rangesOverlap(p50A, p50B) ? 'overlap' : 'do not overlap'})`)}
${abRow('mean of each round', meanA, meanB, `${fmt(ratio(meanB.median, meanA.median), 2)}×`)}
${abRow('controller CPU per event', cpuA, cpuB, `${fmt(ratio(cpuB.median, cpuA.median), 2)}×`, 2)}
| ${pooledA.tail.label} of all ${pooledA.n} / ${pooledB.n} events | ${fmt(pooledA.tail.value)} ms | ${fmt(pooledB.tail.value)} ms | |

Per event = from sending the PATCH of the probe pod's version label (bench clock) to the controller's log line
announcing the new version (its pino timestamp, same machine clock): watch delivery, slim, index, reconcile of a
one-pod app, sign, log (1 ms resolution: the log's timestamp is in ms). CPU per event = controller CPU time over a
round's ${EVENTS} events (push to the sink included) minus its idle rate, / ${EVENTS}. Each round's controller starts, syncs and
finishes its first push wave before its events, so the wave is not counted.

Load average during the run: ${loadStart} → ${(os.loadavg()[0] ?? 0).toFixed(1)} (2 cores, shared).
Total ${fmt((performance.now() - t0) / 1000, 0)} s.
`;
    return { title: 'Controller at scale (virtual pods)', markdown };
  } finally {
    for (const p of procs) await p.kill('SIGKILL');
    sink?.stop();
    api?.close();
    await env.cluster.stop();
  }
}

async function namespaceReady(env: Env, api: KubeHttp, ns: string): Promise<void> {
  await createNamespace(env, ns);
  await waitFor('default ServiceAccount', async () => (await api.request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)) !== undefined, 30_000, 100);
}

/**
 * Creates pods [from, to) of the population in `ns` (pod i belongs to app i mod APPS; the probe
 * with the first batch) and waits until all of them are Running and the kubelet is idle.
 * Returns the seconds that took.
 */
async function populate(env: Env, api: KubeHttp, ns: string, from: number, to: number): Promise<number> {
  const tc = performance.now();
  const nodeName = env.cluster.kubelet!.nodeName;
  const pods: object[] = [];
  if (from === 0) pods.push(virtualPod(ns, 'probe-0', 'probe', `2.0.${probeVersion}`, nodeName));
  for (let i = from; i < to; i++) {
    const app = `a-${String(i % APPS).padStart(4, '0')}`;
    pods.push(virtualPod(ns, `${app}-${Math.floor(i / APPS)}`, app, '1.0.0', nodeName));
  }
  await pool(pods, CREATE_PARALLEL, async (p) => {
    await api.request('POST', `/api/v1/namespaces/${ns}/pods`, p);
  });
  const total = to + 1;
  await waitFor(`${total} pods Running in ${ns}`, async () => (await runningPods(api, ns)) >= total, 300_000, 500);
  await env.cluster.kubelet!.idle();
  const seconds = (performance.now() - tc) / 1000;
  console.error(`[scale] ${total} pods Running in ${ns} (${fmt(seconds)} s)`);
  return seconds;
}

/** Pods of the namespace that are Running: all (a selector-free list reports remainingItemCount) minus the others. */
async function runningPods(api: KubeHttp, ns: string): Promise<number> {
  type List = { items: unknown[]; metadata: { remainingItemCount?: number } };
  const all = await api.request<List>('GET', `/api/v1/namespaces/${ns}/pods?limit=1`);
  const other = await api.request<List>('GET', `/api/v1/namespaces/${ns}/pods?fieldSelector=${encodeURIComponent('status.phase!=Running')}`);
  return all.items.length + (all.metadata.remainingItemCount ?? 0) - other.items.length;
}

async function measureLevel(env: Env, api: KubeHttp, sink: Sink, level: number, createS: number, procs: ControllerProc[]): Promise<LevelResult> {
  const pods = level + 1;
  const apps = APPS + 1;
  await sink.reset();
  const start = Date.now();
  const c = await spawnMeasured(env, `scale-${level}`, [`--push-port=${sink.port}`]);
  procs.push(c);
  const listening = Date.parse(String(c.logs.find((o) => o.msg === 'controller listening')?.time)) || Date.now();
  const readyAt = await waitReadyz(c);
  const seen = new Set<string>();
  let allAt = 0;
  await waitFor(`${apps} apps evaluated`, () => {
    for (const o of c.logs) {
      if ((o.msg === 'app state changed' || o.msg === 'announcing new version') && typeof o.app === 'string' && !seen.has(o.app)) {
        seen.add(o.app);
        allAt = Date.parse(String(o.time));
      }
    }
    return seen.size >= apps;
  }, 120_000, 20);
  const states = await c.apps();
  if (states.length !== apps || states.some((s: AppState) => s.phase !== 'converged')) throw new Error(`expected ${apps} converged apps, got ${states.length}`);

  // The leader's first push wave: every pod.
  await waitFor('leader', () => isLeader(c), 30_000);
  const waveStats = await waitFor(`${pods} pushes at the sink`, async () => {
    const s = await sink.stats();
    return s.n >= pods ? s : undefined;
  }, 180_000, 100);
  await sleep(300);
  const heap = await heapAfterGc(c);
  console.error(
    `[scale] ${pods} pods: listening ${listening - start} ms, readyz ${readyAt - start} ms, all apps ${allAt - start} ms; heap ${fmt(heap.heapUsed / MiB)} MiB; wave ${waveStats.n} in ${waveStats.lastMs - waveStats.firstMs} ms`,
  );
  await c.kill('SIGTERM');
  return {
    pods,
    createS,
    listeningS: (listening - start) / 1000,
    readyzS: (readyAt - start) / 1000,
    allAppsS: (allAt - start) / 1000,
    heap,
    wave: { n: waveStats.n, seconds: Math.max(0.001, (waveStats.lastMs - waveStats.firstMs) / 1000), byStatus: waveStats.byStatus },
  };
}

/**
 * One round of one arm of the per-event A/B: a fresh controller watching only `ns` leads, syncs and
 * finishes its first push wave (`pods` pushes at the sink); then EVENTS new versions of the
 * one-pod probe app, each from the PATCH to the controller's log line, and its CPU per event.
 */
async function measureEvents(env: Env, api: KubeHttp, sink: Sink, ns: string, pods: number, run: number, procs: ControllerProc[]): Promise<EventRound> {
  await sink.reset();
  const c = await spawnMeasured(env, `scale-events-${run}`, [`--push-port=${sink.port}`, `--namespaces=${ns}`]);
  procs.push(c);
  await waitReadyz(c);
  await waitFor('leader', () => isLeader(c), 30_000);
  await waitFor(`${pods} pushes at the sink`, async () => (await sink.stats()).n >= pods, 180_000, 100);
  const pid = c.proc.pid!;
  const idle0 = cpuSeconds(pid);
  await sleep(3000);
  const idleRate = (cpuSeconds(pid) - idle0) / 3;
  const cpu0 = cpuSeconds(pid);
  const w0 = performance.now();
  const eventMs: number[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const version = `2.0.${++probeVersion}`;
    const from = c.logs.length;
    const sent = Date.now();
    await api.request('PATCH', `/api/v1/namespaces/${ns}/pods/probe-0`, { metadata: { labels: { [DEFAULT_VERSION_LABEL]: version } } }, MERGE_PATCH);
    const line = await logMatching(c, (o) => o.app === `${ns}/probe` && o.version === version, from, 10_000);
    eventMs.push(line.time - sent);
  }
  await sleep(200);
  const wall = (performance.now() - w0) / 1000;
  const cpuPerEventMs = ((cpuSeconds(pid) - cpu0 - idleRate * wall) / EVENTS) * 1000;
  const s = summary(eventMs);
  console.error(`[scale] events, ${ns} (${pods} pods), run ${run}: p50 ${fmt(s.p50)} ms, mean ${fmt(s.mean)} ms; cpu/event ${fmt(cpuPerEventMs, 2)} ms`);
  await c.kill('SIGTERM');
  return { eventMs, cpuPerEventMs };
}
