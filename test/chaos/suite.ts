/**
 * The chaos suite (issue 14 item 2): the chart's controller with 3 replicas under the chart's
 * RBAC (test/support/controller), apps deployed as app teams deploy them (the example SPA with
 * the real sidecar, src/demo/example-app.ts), WebSocket clients owned by an independent
 * observer process (test/chaos/observer.ts), and a seeded schedule of faults injected during
 * rollouts (test/chaos/faults.ts). After every step the observer must see the system settle
 * within the derived bound; at the end it checks the whole recorded history.
 *
 * Invariants:
 * - The seed decides the schedule, the apps' sizes and every random pick; it is printed first
 *   and named in every violation.
 * - A step starts one rollout; the next step starts only after the observer saw the previous
 *   one settle (or reported that it did not: a "missed" violation).
 * - Everything started here is stopped in `finally`, whatever fails.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { DEFAULT_BACKOFF } from '../../src/core/push-policy.ts';
import { JITTER_FACTOR } from '../../src/core/election.ts';
import { RECONNECT_BACKOFF } from '../../src/client/decide.ts';
import { exampleAppObjects } from '../../src/demo/example-app.ts';
import { installationOf, isLeader, publicKeyOf, spawnController, startEnv, waitFor, type ControllerProc, type Env } from '../support/controller-harness.ts';
import { ask, reply } from '../support/ipc.ts';
import { rssMiB } from '../support/process-stats.ts';
import { percentile } from './checks.ts';
import { allSidecarPids, inject, rollout, type ChaosApp, type FaultContext } from './faults.ts';
import type { ObserverConfig, Settled } from './observer.ts';
import { schedule, seededRandom, FAULT_KINDS, type FaultKind } from './schedule.ts';

export interface ChaosOptions {
  seed: number;
  apps: number;
  /** pods per app: drawn from [min, max] by the seed */
  podsMin: number;
  podsMax: number;
  clients: number;
  /** client processes per app */
  procsPerApp: number;
  steps: number;
  log?: (line: string) => void;
}

/** The suite's Lease timings (test/support SHORT_LEASE): 4 s lease, 0.5 s retry period. */
const LEASE_MS = 4_000;
const RETRY_MS = 500;

/**
 * The delivery bound after a heal (every open client and every serving sidecar holds the
 * final state once the Deployment is complete): a new leader within lease + one jittered retry,
 * the pusher's backoff ceiling for a pod that failed while the fault lasted, and the client's
 * reconnect backoff ceiling for a client whose sidecar went away.
 */
export const DELIVERY_BOUND_MS = LEASE_MS + RETRY_MS * JITTER_FACTOR + DEFAULT_BACKOFF.maxMs + RECONNECT_BACKOFF.maxMs;
/**
 * A rollout of up to 6 pods (two processes each) on a loaded 2-core machine: not our time, only
 * a guard. It covers a node loss step with room to spare: the node is silent for at most the
 * node controller's grace + margin (26 s, faults.ts), during which no pod of the rollout starts.
 */
const ROLLOUT_TIMEOUT_MS = 300_000;

export interface StepRecord {
  index: number;
  kind: FaultKind;
  app: string;
  what: string;
  /** set when the fault did not happen as designed: the step is a violation, not an injected fault */
  problem?: string;
  settled: Settled;
}

export interface ChaosResult {
  seed: number;
  options: ChaosOptions;
  loadAtStart: number[];
  rollouts: number;
  steps: StepRecord[];
  violations: string[];
  /** converged receipts proven, by their state's resourceVersion or by an announcement Event */
  proven: number;
  /** of `proven`, those proven by their state's own resourceVersion */
  provenByResourceVersion: number;
  unproven: number;
  /** leader terms seen in the Lease history */
  terms: number;
  events: number;
  /** stretches of Deployment history the observer re-listed over (API server restarts) */
  gaps: number;
  connections: number;
  receipts: number;
  rss: { controllerWarm: number; controllerAfter: number; sidecarWarm: number; sidecarAfter: number };
  boundMs: number;
  durationMs: number;
}

/** Asks the observer; its failure (an {cmd:'error'} answer, or a 'final' with an error) rejects. */
async function askObserver<T>(observer: ChildProcess, msg: object, answer: string): Promise<T> {
  const m = await ask<T & { cmd: string; error?: string }>(observer, msg, (x) => reply(answer)(x) || reply('error')(x));
  if (m.cmd === 'error' || m.error) throw new Error(`observer failed on ${JSON.stringify(msg)}: ${m.error}`);
  return m;
}

const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`[chaos] ${l}\n`));
  const t0 = Date.now();
  const loadAtStart = loadavg();
  log(`seed ${o.seed}: ${o.apps} apps × ${o.podsMin}–${o.podsMax} pods, ${o.clients} clients, ${o.steps} steps; load ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}`);
  const random = seededRandom(o.seed ^ 0x5eed);
  const steps = schedule(o.seed, o.steps, o.apps);
  let env: Env | undefined;
  const controllers: ControllerProc[] = [];
  let observer: ReturnType<typeof fork> | undefined;
  const violations: string[] = [];
  // A signal ends this process through the cluster's own handler, without `finally`: the
  // controller replicas and the observer (which takes its clients with it) must not outlive it.
  const onExit = (): void => {
    for (const c of controllers) c.proc.kill('SIGKILL');
    observer?.kill('SIGKILL');
  };
  process.once('exit', onExit);
  try {
    // The node controller runs, so that node loss marks the node and its pods as in a real cluster.
    env = await startEnv({ nodeLifecycle: true });
    const first = await spawnController(env, 'vo-chaos-0');
    controllers.push(first);
    await waitFor('the first replica leads', () => isLeader(first), 60_000);
    controllers.push(await spawnController(env, 'vo-chaos-1'), await spawnController(env, 'vo-chaos-2'));
    const publicKey = await publicKeyOf(first);
    const installation = await installationOf(first);
    const apps: ChaosApp[] = Array.from({ length: o.apps }, (_, i) => ({ namespace: `chaos-${i}`, name: 'web', next: 1 }));
    const config: ObserverConfig = {
      kubeconfigPath: env.cluster.kubeconfigPath,
      seed: o.seed,
      apps: apps.map((a) => ({ namespace: a.namespace, name: a.name })),
      clientsPerApp: Math.ceil(o.clients / o.apps),
      procsPerApp: o.procsPerApp,
      pageVersion: '1.0.0',
    };
    observer = fork(new URL('./observer.ts', import.meta.url).pathname, [], { env: { ...process.env, CHAOS_OBSERVER: JSON.stringify(config) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    // The observer records from before the apps exist: every announcement falls in its history.
    await askObserver(observer, { cmd: 'watch' }, 'watching');
    for (const app of apps) {
      const replicas = o.podsMin + Math.floor(random() * (o.podsMax - o.podsMin + 1));
      await env.core.createNamespace({ body: { metadata: { name: app.namespace } } });
      const [deployment, service] = exampleAppObjects({ namespace: app.namespace, name: app.name, version: '1.0.0', replicas, publicKey, installation });
      await env.apps.createNamespacedDeployment({ namespace: app.namespace, body: deployment });
      await env.core.createNamespacedService({ namespace: app.namespace, body: service });
    }
    const ctx: FaultContext = { env, controllers, controllerArgs: [], observer, random, log, spawned: 2 };
    const settle = async (what: string): Promise<Settled> => {
      const s = await askObserver<Settled>(observer!, { cmd: 'settle', rolloutMs: ROLLOUT_TIMEOUT_MS, boundMs: DELIVERY_BOUND_MS }, 'settled');
      if (s.ms === null) violations.push(`missed: after ${what}, not settled (${s.completeMs === null ? `Deployments not complete within ${ROLLOUT_TIMEOUT_MS} ms` : `clients/sidecars not holding the final state within the bound ${DELIVERY_BOUND_MS} ms`}): ${s.detail} (seed ${o.seed})`);
      return s;
    };
    const started = await askObserver<Settled>(observer, { cmd: 'start', rolloutMs: ROLLOUT_TIMEOUT_MS, boundMs: DELIVERY_BOUND_MS }, 'started');
    if (started.ms === null) throw new Error(`the apps and clients never settled at start: ${started.detail}`);
    log(`started: every client and sidecar holds 1.0.0 (${Date.now() - t0} ms since start)`);
    // Warm-up: one plain rollout per app, then the reference RSS.
    let rollouts = 0;
    for (const app of apps) {
      await rollout(ctx, app);
      rollouts++;
    }
    await settle('the warm-up rollouts');
    const controllerPids = () => controllers.filter((c) => c.proc.exitCode === null).map((c) => c.proc.pid!);
    const rssOf = (pids: number[]) => mean(pids.map((p) => { try { return rssMiB(p); } catch { return Number.NaN; } }).filter((x) => !Number.isNaN(x)));
    const controllerWarm = rssOf(controllerPids());
    const sidecarWarm = rssOf(allSidecarPids(ctx));
    log(`warm: controller RSS ${controllerWarm.toFixed(1)} MiB, sidecar RSS ${sidecarWarm.toFixed(1)} MiB (means)`);

    const records: StepRecord[] = [];
    for (const step of steps) {
      const app = apps[step.app]!;
      const v = await rollout(ctx, app);
      rollouts++;
      await new Promise((r) => setTimeout(r, step.delayMs));
      const { what, problem } = await inject(ctx, step.kind, app);
      if (problem) violations.push(`not injected: step ${step.index} (${step.kind}: ${what}): ${problem} (seed ${o.seed})`);
      if (step.kind === 'invalid-label') rollouts++;
      const settled = await settle(`step ${step.index} (${step.kind}: ${what})`);
      log(`step ${step.index}/${steps.length} ${step.kind}${problem ? ' NOT INJECTED as designed' : ''}: ${what} during the rollout of ${app.namespace}/${app.name} to ${v}; recovered in ${settled.ms ?? 'NOT'} ms (complete ${settled.completeMs} ms, delivered ${settled.deliverMs} ms)`);
      records.push({ index: step.index, kind: step.kind, app: `${app.namespace}/${app.name}`, what, ...(problem ? { problem } : {}), settled });
    }
    const fin = await askObserver<{ violations: string[]; proven: number; provenByResourceVersion: number; unproven: number; unprovenExamples: string[]; terms: number; events: number; connections: number; receipts: number; gaps: number }>(observer, { cmd: 'final' }, 'final');
    log(`converged receipts: ${fin.proven} proven (${fin.provenByResourceVersion} by the state's resourceVersion, ${fin.proven - fin.provenByResourceVersion} by an announcement Event), ${fin.unproven} unproven`);
    if (fin.unproven > 0) log(`${fin.unproven} converged receipts proven neither by their resourceVersion nor by an Event, e.g.:\n  ${fin.unprovenExamples.join('\n  ')}`);
    violations.push(...fin.violations);
    const controllerAfter = rssOf(controllerPids());
    const sidecarAfter = rssOf(allSidecarPids(ctx));
    if (controllerAfter > controllerWarm * 1.1) violations.push(`leak: controller mean RSS ${controllerAfter.toFixed(1)} MiB after the run > 110 % of ${controllerWarm.toFixed(1)} MiB after warm-up (seed ${o.seed})`);
    if (sidecarAfter > sidecarWarm * 1.1) violations.push(`leak: sidecar mean RSS ${sidecarAfter.toFixed(1)} MiB after the run > 110 % of ${sidecarWarm.toFixed(1)} MiB after warm-up (seed ${o.seed})`);
    return {
      seed: o.seed,
      options: o,
      loadAtStart,
      rollouts,
      steps: records,
      violations,
      proven: fin.proven,
      provenByResourceVersion: fin.provenByResourceVersion,
      unproven: fin.unproven,
      terms: fin.terms,
      events: fin.events,
      gaps: fin.gaps,
      connections: fin.connections,
      receipts: fin.receipts,
      rss: { controllerWarm, controllerAfter, sidecarWarm, sidecarAfter },
      boundMs: DELIVERY_BOUND_MS,
      durationMs: Date.now() - t0,
    };
  } finally {
    process.off('exit', onExit);
    if (observer?.connected) observer.send({ cmd: 'stop' });
    setTimeout(() => observer?.exitCode === null && observer.kill('SIGKILL'), 2000).unref();
    for (const c of controllers) await c.kill('SIGKILL');
    await env?.cluster.stop();
  }
}

/** Markdown figures of a run: rollouts, faults by kind, violations, recovery per kind. */
export function figures(r: ChaosResult): string {
  const byKind = new Map<FaultKind, number[]>();
  const failed = new Map<FaultKind, number>();
  for (const s of r.steps) {
    // a fault that did not happen as designed is a violation, not a recovery of its kind
    if (s.problem) continue;
    if (s.settled.ms === null) failed.set(s.kind, (failed.get(s.kind) ?? 0) + 1);
    else byKind.set(s.kind, [...(byKind.get(s.kind) ?? []), s.settled.ms]);
  }
  const fmt = (x: number | null): string => (x === null ? '–' : `${(x / 1000).toFixed(1)} s`);
  const rows = FAULT_KINDS.map((k) => {
    const xs = byKind.get(k) ?? [];
    const p99 = percentile(xs, 0.99);
    const max = xs.length ? Math.max(...xs) : null;
    return `| ${k} | ${xs.length + (failed.get(k) ?? 0)} | ${fmt(percentile(xs, 0.5))} | ${p99 === null ? (xs.length ? `max of ${xs.length}` : '–') : fmt(p99)} | ${fmt(max)} |`;
  });
  const o = r.options;
  const notInjected = r.steps.filter((s) => s.problem).length;
  return [
    `Seed ${r.seed}; ${o.apps} apps × ${o.podsMin}–${o.podsMax} pods (real sidecars), ${o.clients} WebSocket clients in ${o.apps * o.procsPerApp} processes, 3 controller replicas; load average at start ${r.loadAtStart.map((x) => x.toFixed(2)).join(' / ')} (1/5/15 min); ${(r.durationMs / 1000).toFixed(0)} s.`,
    '',
    `| rollouts | steps | violations | converged receipts proven (by rv / by Event) | unproven | announcement Events | leader terms | history gaps (re-lists) | connections | states received |`,
    `|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
    `| ${r.rollouts} | ${r.steps.length} | **${r.violations.length}** | ${r.proven} (${r.provenByResourceVersion} / ${r.proven - r.provenByResourceVersion}) | ${r.unproven} | ${r.events} | ${r.terms} | ${r.gaps} | ${r.connections} | ${r.receipts} |`,
    '',
    `Recovery: from the heal of the fault (the rollout included) until every open client and every serving sidecar holds converged on the Deployment's final version. Bound on delivery after the Deployment is complete: ${r.boundMs} ms.`,
    '',
    `| fault | n | p50 | p99 | max |`,
    `|---|---:|---:|---:|---:|`,
    ...rows,
    ...(notInjected ? ['', `${notInjected} step(s) did not inject their fault as designed (see the violations); they are not counted above.`] : []),
    '',
    `RSS (mean over live processes): controller ${r.rss.controllerWarm.toFixed(1)} → ${r.rss.controllerAfter.toFixed(1)} MiB, sidecar ${r.rss.sidecarWarm.toFixed(1)} → ${r.rss.sidecarAfter.toFixed(1)} MiB (after warm-up → after the run).`,
    ...(r.violations.length ? ['', 'Violations:', '', ...r.violations.slice(0, 20).map((v) => `- ${v}`)] : []),
  ].join('\n');
}
