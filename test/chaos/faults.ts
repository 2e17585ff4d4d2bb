/**
 * The fault injectors, each through a public surface: kubectl (rollout, undo, pause, labels,
 * pod deletion), signals to processes (the controller replicas, the sidecar container
 * processes the kubelet runs), the local cluster's API server stop/start and its kubelet's
 * reporting pause (node loss), and the observer's clients (slow readers). Each returns once the fault is healed (or heals by itself: the
 * kubelet restarts a killed sidecar, the Deployment replaces a deleted pod).
 *
 * Invariants: a controller killed here is replaced by a new replica with a fresh identity, so
 * three replicas run again after the heal; nothing here reads controller internals.
 */
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { V1Node } from '@kubernetes/client-node';
import { DEFAULT_VERSION_LABEL } from '../../src/core/labels.ts';
import { NODE_MONITOR_GRACE_MS } from '../../src/local/cluster.ts';
import { isLeader, kubectl, spawnController, waitFor, type ControllerProc, type Env } from '../support/controller-harness.ts';
import { ask, reply } from '../support/ipc.ts';
import type { FaultKind } from './schedule.ts';

export interface ChaosApp {
  namespace: string;
  name: string;
  /** the next version number to roll out (1.0.<n>) */
  next: number;
}

export interface FaultContext {
  env: Env;
  controllers: ControllerProc[];
  controllerArgs: string[];
  observer: ChildProcess;
  random: () => number;
  log: (line: string) => void;
  spawned: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function kubectlOk(ctx: FaultContext, args: string[]): Promise<string> {
  const r = await kubectl(ctx.env.cluster, args);
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export async function setVersionLabel(ctx: FaultContext, app: ChaosApp, version: string): Promise<void> {
  const token = DEFAULT_VERSION_LABEL.replaceAll('~', '~0').replaceAll('/', '~1');
  const patch = [{ op: 'replace', path: `/spec/template/metadata/labels/${token}`, value: version }];
  await kubectlOk(ctx, ['patch', 'deployment', app.name, '-n', app.namespace, '--type=json', '-p', JSON.stringify(patch)]);
}

/** Starts a rollout of the next version; returns it. */
export async function rollout(ctx: FaultContext, app: ChaosApp): Promise<string> {
  const version = `1.0.${app.next++}`;
  await setVersionLabel(ctx, app, version);
  return version;
}

/** The replica holding the Lease, by its own leader gauge (retried: a term may be changing hands). */
async function leader(ctx: FaultContext): Promise<ControllerProc> {
  return waitFor('a leader among the replicas', async () => {
    for (const c of ctx.controllers) if (c.proc.exitCode === null && (await isLeader(c).catch(() => false))) return c;
    return undefined;
  }, 60_000, 200);
}

async function replaceController(ctx: FaultContext, gone: ControllerProc): Promise<void> {
  ctx.controllers.splice(ctx.controllers.indexOf(gone), 1);
  ctx.controllers.push(await spawnController(ctx.env, `vo-chaos-${++ctx.spawned}`, ctx.controllerArgs));
}

/** The sidecar container processes the kubelet runs for pod IP `ip` (by their command line and env). */
function sidecarPids(ctx: FaultContext, ip: string): number[] {
  return ctx.env.cluster.pids().filter((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!cmd.includes('sidecar')) return false;
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`VERSION_OBSERVER_LISTEN_HOST=${ip}`);
    } catch {
      return false;
    }
  });
}

/** Every sidecar process of the cluster's pods (for RSS). */
export function allSidecarPids(ctx: FaultContext): number[] {
  return ctx.env.cluster.pids().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('sidecar');
    } catch {
      return false;
    }
  });
}

async function servingPods(ctx: FaultContext, app: ChaosApp): Promise<Array<{ name: string; ip: string }>> {
  const list = await ctx.env.core.listNamespacedPod({ namespace: app.namespace, labelSelector: `app=${app.name}` });
  return list.items
    .filter((p) => !p.metadata?.deletionTimestamp && p.status?.podIP && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    .map((p) => ({ name: p.metadata!.name!, ip: p.status!.podIP! }));
}

/** How long past the node controller's grace a silent node may wait to be marked: its 1 s monitor period, a loaded machine. */
const NODE_MARK_MARGIN_MS = 10_000;

/** The Ready condition's status of the cluster's node, as the API has it. */
async function nodeReady(ctx: FaultContext): Promise<string | undefined> {
  const name = ctx.env.cluster.kubelet?.nodeName;
  if (!name) return undefined;
  const node: V1Node = await ctx.env.core.readNode({ name });
  return node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

/**
 * Node loss: the kubelet stops reporting until the node controller marks the node (Ready not
 * True: its pods go Ready=False), at most its grace + a margin; then it reports again. The
 * containers run on throughout, as on a partitioned node.
 */
async function nodeLoss(ctx: FaultContext): Promise<Injected> {
  const t0 = Date.now();
  await ctx.env.cluster.pauseNodeReporting();
  let markedMs: number | undefined;
  try {
    await waitFor('the node controller marks the silent node', async () => ((await nodeReady(ctx)) !== 'True' ? true : undefined), NODE_MONITOR_GRACE_MS + NODE_MARK_MARGIN_MS, 250);
    markedMs = Date.now() - t0;
  } catch {
    // not marked within the bound: the node was silent, but its pods never went Ready=False, so
    // the fault as designed did not happen; the problem says so and the suite counts it
  } finally {
    ctx.env.cluster.resumeNodeReporting();
  }
  const silentMs = Date.now() - t0;
  return markedMs === undefined
    ? { what: `node silent ${silentMs} ms, not marked`, problem: `the node controller did not mark the silent node not Ready within ${NODE_MONITOR_GRACE_MS + NODE_MARK_MARGIN_MS} ms (grace + margin)` }
    : { what: `node silent ${silentMs} ms (marked not Ready after ${markedMs} ms)` };
}

const pickOne = <T>(ctx: FaultContext, xs: T[]): T | undefined => xs[Math.floor(ctx.random() * xs.length)];

/** What an injection did; `problem` when the fault did not happen as designed (not to be reported as injected). */
export interface Injected {
  what: string;
  problem?: string;
}

/**
 * Injects `kind` into the rollout of `app` just started, heals it and says what was done.
 * 'none' is the rollout alone.
 */
export async function inject(ctx: FaultContext, kind: FaultKind, app: ChaosApp): Promise<Injected> {
  if (kind === 'node-loss') return nodeLoss(ctx);
  const r = await injectSimple(ctx, kind, app);
  return typeof r === 'string' ? { what: r } : r;
}

async function injectSimple(ctx: FaultContext, kind: Exclude<FaultKind, 'node-loss'>, app: ChaosApp): Promise<string | Injected> {
  const where = `${app.namespace}/${app.name}`;
  switch (kind) {
    case 'none':
      return `rollout of ${where}`;
    case 'rollback':
      await kubectlOk(ctx, ['rollout', 'undo', `deployment/${app.name}`, '-n', app.namespace]);
      return `rollout undo of ${where}`;
    case 'pause': {
      await kubectlOk(ctx, ['rollout', 'pause', `deployment/${app.name}`, '-n', app.namespace]);
      await sleep(2000);
      await kubectlOk(ctx, ['rollout', 'resume', `deployment/${app.name}`, '-n', app.namespace]);
      return `pause 2 s of ${where}`;
    }
    case 'invalid-label': {
      await setVersionLabel(ctx, app, 'not.a.version');
      await sleep(3000);
      const v = await rollout(ctx, app);
      return `invalid version label on ${where} for 3 s, then ${v}`;
    }
    case 'leader-sigkill':
    case 'leader-sigterm': {
      const l = await leader(ctx);
      const signal = kind === 'leader-sigkill' ? 'SIGKILL' : 'SIGTERM';
      await l.kill(signal);
      await replaceController(ctx, l);
      return `${signal} to leader ${l.identity} (pid ${l.proc.pid})`;
    }
    case 'apiserver-restart': {
      await ctx.env.cluster.stopApiServer();
      await sleep(3000);
      await ctx.env.cluster.startApiServer();
      return 'API server stopped for 3 s';
    }
    case 'sidecar-sigkill': {
      const pod = pickOne(ctx, await servingPods(ctx, app));
      if (!pod) return { what: 'sidecar SIGKILL skipped', problem: `no serving pod of ${where}` };
      const pids = sidecarPids(ctx, pod.ip);
      if (pids.length === 0) return { what: 'sidecar SIGKILL skipped', problem: `no sidecar process found for ${pod.name} (${pod.ip})` };
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      return `SIGKILL to the sidecar of ${pod.name} (pids ${pids.join(',')})`;
    }
    case 'pod-delete': {
      const pod = pickOne(ctx, await servingPods(ctx, app));
      if (!pod) return { what: 'pod deletion skipped', problem: `no serving pod of ${where}` };
      await kubectlOk(ctx, ['delete', 'pod', pod.name, '-n', app.namespace, '--wait=false']);
      return `deleted pod ${pod.name}`;
    }
    case 'slow-clients': {
      const r = await ask<{ n: number }>(ctx.observer, { cmd: 'slow', count: 10, ms: 5000 }, reply('slowed'));
      await sleep(5000);
      return `${r.n} clients stopped reading for 5 s`;
    }
  }
}
