/**
 * What bench/e2e-latency.bench.ts knows about each rollout besides its clients' receipt times:
 * - ordered facts (test/integration/ordered-facts.ts): the resourceVersions at which the API
 *   server recorded each new pod Ready, the Deployment first complete on the new version, and,
 *   when the controller's Event rate limit let it through (burst 10, one per minute per
 *   Deployment: most rollouts of a long run have none), its VersionConverged Event, written in the
 *   reconcile that decided the announcement, so after every object version that decision read.
 *   "Never early" is judged on these, never on which watch happened to deliver first;
 * - recorded timestamps (pino `time`, ISO, ms) from the containers' logs the process kubelet tees
 *   to <cluster dir>/logs/<namespace>_<pod>_<container>.log: the leader's "announcing new
 *   version" line (with its (epoch, seq)) and each sidecar's "applied state converged <version>"
 *   line — the per-stage breakdown of our share.
 * Invariant: a recording is per rollout (list + watch started before the change, stopped after
 * the rollout settled), so no watch has to outlive the API server's request timeout.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventsV1Api, type AppsV1Api, type CoreV1Api, type KubeConfig, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { DEFAULT_VERSION_LABEL } from '../../src/core/labels.ts';
import { rvOf, deploymentComplete, firstReadyRvs, record, type Recorded, type Recording } from '../../test/integration/ordered-facts.ts';

export interface OrderedFacts {
  /** the last new pod's first Ready, as the API server ordered it */
  lastReadyRv: bigint;
  /** the first write of the Deployment complete on the new version */
  completeRv: bigint;
  /** this process's receipt of that write (Date.now()): the start of "our share" */
  completeSeenAt: number;
  /** the controller's VersionConverged Event's creation; undefined when none was written (rate limit) */
  eventRv: bigint | undefined;
  /** how many VersionConverged Events name this version (more than one: announced more than once) */
  events: number;
}

export interface RolloutRecording {
  facts(version: string): Promise<OrderedFacts>;
  stop(): void;
}

export async function recordRollout(kc: KubeConfig, core: CoreV1Api, apps: AppsV1Api, namespace: string, app: string): Promise<RolloutRecording> {
  const selector = `app=${app}`;
  const pods: Recording<V1Pod> = await record(kc, `/api/v1/namespaces/${namespace}/pods`, () => core.listNamespacedPod({ namespace, labelSelector: selector }), selector);
  const deployments: Recording<V1Deployment> = await record(kc, `/apis/apps/v1/namespaces/${namespace}/deployments`, () => apps.listNamespacedDeployment({ namespace }));
  return {
    async facts(version) {
      const readies = [...firstReadyRvs(pods.history(), DEFAULT_VERSION_LABEL, version).values()];
      if (readies.length === 0) throw new Error(`no pod of ${version} was recorded Ready`);
      const lastReadyRv = readies.reduce((a, b) => (b > a ? b : a));
      const complete = firstComplete(deployments.history(), app, version);
      const list = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace });
      const hits = list.items.filter((e) => e.reason === 'VersionConverged' && e.regarding?.kind === 'Deployment' && e.regarding.name === app && (e.note ?? '').includes(` converged on ${version}`));
      // A series patch moves the resourceVersion past the decision: only an unpatched creation orders it.
      const eventRv = hits.length === 1 && !hits[0]!.series ? rvOf(hits[0]!) : undefined;
      return { lastReadyRv, completeRv: complete.rv, completeSeenAt: complete.atMs, eventRv, events: hits.length };
    },
    stop() {
      pods.stop();
      deployments.stop();
    },
  };
}

function firstComplete(history: Array<Recorded<V1Deployment>>, name: string, version: string): Recorded<V1Deployment> {
  const hit = history.find((e) => e.type !== 'DELETED' && e.object.metadata?.name === name && e.object.spec?.template.metadata?.labels?.[DEFAULT_VERSION_LABEL] === version && deploymentComplete(e.object));
  if (!hit) throw new Error(`Deployment ${name} was not recorded complete on ${version}`);
  return hit;
}

export interface LogLine {
  /** file name: <namespace>_<pod>_<container>.log */
  file: string;
  at: number;
  msg: string;
  fields: Record<string, unknown>;
}

/** Every JSON log line of the containers in `namespace` (optionally one container name). */
export function containerLogs(clusterDir: string, namespace: string, container?: string): LogLine[] {
  const dir = join(clusterDir, 'logs');
  const out: LogLine[] = [];
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return out;
  }
  for (const file of files.filter((f) => f.startsWith(`${namespace}_`) && (!container || f.endsWith(`_${container}.log`)))) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        const at = typeof o.time === 'string' ? Date.parse(o.time) : typeof o.time === 'number' ? o.time : Number.NaN;
        if (Number.isFinite(at)) out.push({ file, at, msg: String(o.msg ?? ''), fields: o });
      } catch {
        // a partial last line
      }
    }
  }
  return out;
}

export interface Decision {
  at: number;
  epoch: number;
  seq: number;
  /** the resourceVersion of the Deployment the decision read (its log line and the state carry it); undefined from an older controller */
  rv: bigint | undefined;
}

/** The leading controller's "announcing new version" line for `version` (the earliest if a new leader re-decided). */
export function decisionOf(controllerLogs: LogLine[], app: string, version: string): Decision | undefined {
  const hits = controllerLogs
    .filter((l) => l.msg === 'announcing new version' && l.fields.app === app && l.fields.version === version && l.fields.announce === true && l.fields.leading === true)
    .sort((a, b) => a.at - b.at);
  const h = hits[0];
  const rv = h?.fields.deploymentResourceVersion;
  return h ? { at: h.at, epoch: Number(h.fields.epoch), seq: Number(h.fields.seq), rv: typeof rv === 'string' && /^\d+$/.test(rv) ? BigInt(rv) : undefined } : undefined;
}

/** Each sidecar's first "applied state converged <version>" time (file → time) and the clients it sent it to. */
export function appliedBy(sidecarLogs: LogLine[], version: string): Array<{ file: string; at: number; clients: number }> {
  const first = new Map<string, { file: string; at: number; clients: number }>();
  for (const l of sidecarLogs) {
    if (!l.msg.startsWith(`applied state converged ${version} `)) continue;
    const prev = first.get(l.file);
    if (!prev || l.at < prev.at) first.set(l.file, { file: l.file, at: l.at, clients: Number(l.fields.clients ?? 0) });
  }
  return [...first.values()];
}
