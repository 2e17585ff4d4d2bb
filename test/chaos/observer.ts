/**
 * The chaos suite's independent observer: its own process, its own kubeconfig and watches
 * (Deployments, VersionConverged Events, Pods: recorded in resourceVersion order across API
 * outages), its own WebSocket clients (test/chaos/client.ts child processes, fed the live pod
 * IPs from its own pod watch). It never asks the controller what happened.
 *
 * Invariants:
 * - "Settled" is a positive fact, checked by polling until it holds: for every app the newest
 *   recorded Deployment is complete at template version V, every open client holds
 *   converged(V), and every serving pod's sidecar answers converged(V) on /version.
 * - The final checks read the whole recorded history; a broken history throws (no verdict).
 *
 * IPC (from the suite): {cmd:'watch'} → {cmd:'watching'} (before any app exists, so the
 * history holds every announcement); {cmd:'start', rolloutMs, boundMs} → {cmd:'started', ...Settled};
 * {cmd:'slow', count, ms} → {cmd:'slowed', n}; {cmd:'settle', rolloutMs, boundMs} →
 * {cmd:'settled', ...Settled}; {cmd:'final'} → {cmd:'final', ...}; {cmd:'stop'}.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, EventsV1Api, KubeConfig, type EventsV1Event, type V1Deployment, type V1Lease, type V1Pod } from '@kubernetes/client-node';
import { EPOCH_ANNOTATION } from '../../src/core/labels.ts';
import type { AppState } from '../../src/core/app-state.ts';
import { podServing } from '../integration/ordered-facts.ts';
import { ask, reply } from '../support/ipc.ts';
import { checkNeverEarly, checkNeverTwice, deploymentFact, type AnnouncementEvent, type DeploymentFact } from './checks.ts';
import type { ClientHolds, ConnectionRecord } from './client.ts';
import { recordResuming, type ResumingRecording } from './recorder.ts';

export interface ObserverConfig {
  kubeconfigPath: string;
  seed: number;
  apps: Array<{ namespace: string; name: string }>;
  clientsPerApp: number;
  procsPerApp: number;
  pageVersion: string;
}

const config = JSON.parse(process.env.CHAOS_OBSERVER!) as ObserverConfig;
const kc = new KubeConfig();
kc.loadFromFile(config.kubeconfigPath);
const appsApi = kc.makeApiClient(AppsV1Api);
const coreApi = kc.makeApiClient(CoreV1Api);
const eventsApi = kc.makeApiClient(EventsV1Api);
const leasesApi = kc.makeApiClient(CoordinationV1Api);
/** The controller's namespace (the chart's release namespace): its Lease records each term's epoch and holder. */
const LEASE_NAMESPACE = 'vo-system';
let leases: ResumingRecording<V1Lease> | undefined;

interface AppWatch {
  key: string;
  deployments: ResumingRecording<V1Deployment>;
  events: ResumingRecording<EventsV1Event>;
  pods: Map<string, V1Pod>;
  podRec: ResumingRecording<V1Pod>;
  procs: ChildProcess[];
  liveKey: string;
  /** sends the live pod IPs to the client processes when they changed */
  feed(): void;
}

/** Forks the client processes of `w` and gives them the live pods. */
function openClients(w: AppWatch, procIndexBase: number): void {
  const per = Math.ceil(config.clientsPerApp / config.procsPerApp);
  for (let i = 0; i < config.procsPerApp; i++) {
    const n = Math.min(per, config.clientsPerApp - i * per);
    if (n <= 0) break;
    w.procs.push(
      fork(new URL('./client.ts', import.meta.url).pathname, [], {
        env: { ...process.env, CLIENTS: String(n), PROC: String(procIndexBase + i), PAGE_VERSION: config.pageVersion },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      }),
    );
  }
  w.liveKey = ''; // the pod list arrived before the client processes existed
  w.feed();
}

const watches: AppWatch[] = [];

const liveIps = (w: AppWatch): string[] => [...w.pods.values()].filter((p) => podServing(p) && p.status?.podIP).map((p) => p.status!.podIP!).sort();

async function watchApp(namespace: string, name: string): Promise<AppWatch> {
  const w = { key: `${namespace}/${name}`, pods: new Map<string, V1Pod>(), procs: [] as ChildProcess[], liveKey: '' } as AppWatch;
  w.deployments = await recordResuming<V1Deployment>(kc, `/apis/apps/v1/namespaces/${namespace}/deployments`, () => appsApi.listNamespacedDeployment({ namespace }));
  w.events = await recordResuming<EventsV1Event>(kc, `/apis/events.k8s.io/v1/namespaces/${namespace}/events`, () => eventsApi.listNamespacedEvent({ namespace }));
  w.feed = (): void => {
    const live = liveIps(w);
    const k = live.join(',');
    if (k !== w.liveKey && live.length > 0) {
      w.liveKey = k;
      for (const p of w.procs) if (p.connected) p.send({ cmd: 'pods', ips: live });
    }
  };
  const podsPath = `/api/v1/namespaces/${namespace}/pods`;
  w.podRec = await recordResuming<V1Pod>(kc, podsPath, () => coreApi.listNamespacedPod({ namespace }), (e) => {
    const podName = e.object.metadata!.name!;
    if (e.type === 'DELETED') w.pods.delete(podName);
    else w.pods.set(podName, e.object);
    w.feed();
  }, (items) => {
    w.pods.clear();
    for (const p of items) w.pods.set(p.metadata!.name!, p);
    w.feed();
  });
  return w;
}

async function reports(w: AppWatch): Promise<{ connections: ConnectionRecord[]; clients: ClientHolds[] }> {
  const r = await Promise.all(w.procs.map((p) => ask<{ connections: ConnectionRecord[]; clients: ClientHolds[] }>(p, { cmd: 'report' }, reply('report'))));
  return { connections: r.flatMap((x) => x.connections), clients: r.flatMap((x) => x.clients) };
}

/** What every client of `w` holds now (no history: the settle loop polls this). */
async function holds(w: AppWatch): Promise<ClientHolds[]> {
  const r = await Promise.all(w.procs.map((p) => ask<{ clients: ClientHolds[] }>(p, { cmd: 'holds' }, reply('holds'))));
  return r.flatMap((x) => x.clients);
}

async function sidecarState(ip: string): Promise<AppState | null> {
  const res = await fetch(`http://${ip}:8787/version`, { signal: AbortSignal.timeout(2000) });
  return ((await res.json()) as { state: AppState | null }).state;
}

/** Why the Deployments of `w` are not complete yet (null: complete), and the version each completed at. */
function incomplete(w: AppWatch): string | null {
  const last = w.deployments.entries().at(-1);
  if (!last) return `${w.key}: no Deployment recorded`;
  const d = deploymentFact(last.rv, last.object);
  return d.complete ? null : `${w.key}: Deployment at rv ${d.rv} (template ${d.version}) not complete`;
}

/** Why the clients and sidecars of `w` do not all hold converged(V) of its complete Deployment yet, or null. */
async function unsettled(w: AppWatch): Promise<string | null> {
  const last = w.deployments.entries().at(-1)!;
  const d = deploymentFact(last.rv, last.object);
  if (!d.complete) return `${w.key}: Deployment at rv ${d.rv} not complete`;
  const v = d.version!;
  const clients = await holds(w);
  const open = clients.filter((c) => c.open);
  if (open.length < clients.length) return `${w.key}: ${clients.length - open.length} of ${clients.length} clients not connected`;
  const behind = open.filter((c) => c.held?.phase !== 'converged' || c.held.version !== v);
  if (behind.length > 0) return `${w.key}: ${behind.length} open clients do not hold converged ${v} (e.g. client ${behind[0]!.client}: ${JSON.stringify(behind[0]!.held)})`;
  const serving = [...w.pods.values()].filter((p) => podServing(p) && p.status?.podIP);
  for (const p of serving) {
    const s = await sidecarState(p.status!.podIP!).catch(() => null);
    if (s?.phase !== 'converged' || s.version !== v) return `${w.key}: sidecar of ${p.metadata!.name} holds ${JSON.stringify(s && { phase: s.phase, version: s.version, epoch: s.epoch, seq: s.seq })}, not converged ${v}`;
  }
  return null;
}

export interface Settled {
  /** heal → every Deployment complete (the rollout's own time, not ours) */
  completeMs: number | null;
  /** heal → every open client and every serving sidecar holds converged(V): the recovery time */
  ms: number | null;
  /** max(heal, complete) → every client and sidecar holds it: what the bound applies to */
  deliverMs: number | null;
  detail: string;
}

async function firstReason(check: (w: AppWatch) => Promise<string | null> | string | null): Promise<string | null> {
  for (const w of watches) {
    const why = await check(w);
    if (why) return why;
  }
  return null;
}

/** Waits (up to `rolloutMs`) for every Deployment complete, then (up to `boundMs` more) for every client and sidecar to hold it. */
async function settle(rolloutMs: number, boundMs: number): Promise<Settled> {
  const t0 = Date.now();
  let detail: string | null;
  while ((detail = await firstReason(incomplete))) {
    if (Date.now() - t0 > rolloutMs) return { completeMs: null, ms: null, deliverMs: null, detail };
    await new Promise((r) => setTimeout(r, 200));
  }
  const t1 = Date.now();
  while ((detail = await firstReason(unsettled))) {
    // A new rollout may not start during a settle, but a fault may leave a Deployment moving again.
    if (Date.now() - t1 > boundMs) return { completeMs: t1 - t0, ms: null, deliverMs: null, detail };
    await new Promise((r) => setTimeout(r, 200));
  }
  const t2 = Date.now();
  return { completeMs: t1 - t0, ms: t2 - t0, deliverMs: t2 - t1, detail: '' };
}

async function final(): Promise<object> {
  const deployments: DeploymentFact[] = [];
  const events: AnnouncementEvent[] = [];
  const connections = new Map<string, ConnectionRecord[]>();
  const violations: string[] = [];
  const gaps = watches.flatMap((w) => w.deployments.gaps());
  let receipts = 0;
  let connectionCount = 0;
  for (const w of watches) {
    for (const e of w.deployments.entries()) if (e.type !== 'DELETED') deployments.push({ ...deploymentFact(e.rv, e.object), created: e.type === 'ADDED' && e.object.metadata?.generation === 1 });
    for (const e of w.events.entries()) {
      const ev = e.object;
      if (e.type !== 'ADDED' && e.type !== 'LISTED') continue;
      if (ev.reason !== 'VersionConverged' || ev.regarding?.kind !== 'Deployment') continue;
      events.push({ rv: e.rv, namespace: ev.regarding.namespace!, name: ev.regarding.name!, instance: ev.reportingInstance ?? '?', note: ev.note ?? '' });
    }
    const { connections: conns } = await reports(w);
    connections.set(w.key, conns);
    connectionCount += conns.length;
    receipts += conns.reduce((a, c) => a + c.receipts.length, 0);
    violations.push(...checkNeverTwice(config.seed, w.key, conns));
  }
  deployments.sort((a, b) => (a.rv < b.rv ? -1 : a.rv > b.rv ? 1 : 0));
  const holders = new Map<number, string>();
  for (const e of leases?.entries() ?? []) {
    const epoch = Number(e.object.metadata?.annotations?.[EPOCH_ANNOTATION]);
    const holder = e.object.spec?.holderIdentity;
    if (Number.isSafeInteger(epoch) && holder && !holders.has(epoch)) holders.set(epoch, holder);
  }
  const early = checkNeverEarly(config.seed, deployments, events, connections, gaps, holders);
  violations.push(...early.violations);
  return { cmd: 'final', violations, proven: early.proven, provenByResourceVersion: early.provenByResourceVersion, unproven: early.unproven, unprovenExamples: early.unprovenExamples, terms: holders.size, events: early.events, connections: connectionCount, receipts, gaps: gaps.length };
}

process.on('message', (msg: { cmd: string; count?: number; ms?: number; rolloutMs?: number; boundMs?: number }) => {
  void (async () => {
    if (msg.cmd === 'watch') {
      leases = await recordResuming<V1Lease>(kc, `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NAMESPACE}/leases`, () => leasesApi.listNamespacedLease({ namespace: LEASE_NAMESPACE }));
      for (const a of config.apps) watches.push(await watchApp(a.namespace, a.name));
      process.send!({ cmd: 'watching' });
    } else if (msg.cmd === 'start') {
      watches.forEach((w, i) => openClients(w, i * config.procsPerApp));
      process.send!({ cmd: 'started', ...(await settle(msg.rolloutMs!, msg.boundMs!)) });
    } else if (msg.cmd === 'slow') {
      let n = 0;
      for (const w of watches) for (const p of w.procs) n += (await ask<{ n: number }>(p, { cmd: 'slow', count: msg.count, ms: msg.ms }, reply('slowed'))).n;
      process.send!({ cmd: 'slowed', n });
    } else if (msg.cmd === 'settle') {
      process.send!({ cmd: 'settled', ...(await settle(msg.rolloutMs!, msg.boundMs!)) });
    } else if (msg.cmd === 'final') {
      try {
        process.send!(await final());
      } catch (err) {
        process.send!({ cmd: 'final', error: String(err) });
      }
    } else if (msg.cmd === 'stop') {
      for (const w of watches) {
        w.deployments.stop();
        w.events.stop();
        w.podRec.stop();
        leases?.stop();
        for (const p of w.procs) if (p.connected) p.send({ cmd: 'stop' });
      }
      setTimeout(() => process.exit(0), 500);
    }
  })().catch((err: unknown) => process.send!({ cmd: 'error', error: String(err) }));
});
process.on('disconnect', () => process.exit(0));
