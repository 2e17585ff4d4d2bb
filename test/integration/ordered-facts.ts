/**
 * Ordered facts for integration tests: what the API server recorded, in the order it recorded
 * it, instead of the local time at which a watch in this (busy) process happened to deliver it.
 *
 * Invariants:
 * - A recording starts with a list and watches from that list's resourceVersion, so it holds
 *   every change after the list, each with the resourceVersion the API server gave it, in order.
 * - If the watch ends before stop() (an error, a 410, a server-side close), the recording is
 *   marked broken and every reader throws: a test never concludes from a partial history.
 * - resourceVersions are compared as integers. That holds here because the local control plane
 *   runs one etcd for every resource kind (Events included): every resourceVersion is an etcd
 *   revision of that one store (Kubernetes documents them as comparable since 1.35).
 */
import { EventsV1Api, Watch, type KubeConfig, type V1Deployment, type V1Pod } from '@kubernetes/client-node';

export const rvOf = (o: { metadata?: { resourceVersion?: string } }): bigint => {
  const rv = o.metadata?.resourceVersion;
  if (!rv || !/^\d+$/.test(rv)) throw new Error(`not an integer resourceVersion: ${JSON.stringify(rv)}`);
  return BigInt(rv);
};

export interface Recorded<T> {
  type: 'LISTED' | 'ADDED' | 'MODIFIED' | 'DELETED';
  rv: bigint;
  object: T;
  /** Local time this process received it: for printed figures only, never for ordering. */
  atMs: number;
}

export interface Recording<T> {
  /** The listed objects (type LISTED, each at its own resourceVersion) and every change since, in order. */
  history(): Array<Recorded<T>>;
  stop(): void;
}

/** Lists (with `list`, the typed client's list call for `path`) and records every change after that list, in resourceVersion order. */
export async function record<T extends { metadata?: { resourceVersion?: string } }>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<{ metadata?: { resourceVersion?: string }; items: T[] }>,
  labelSelector?: string,
): Promise<Recording<T>> {
  const listed = await list();
  const listRvText = listed.metadata?.resourceVersion ?? '';
  rvOf({ metadata: { resourceVersion: listRvText } });
  // A listed object carries its own resourceVersion (its last write), not the list's, which is
  // the store's revision at list time and so later than any of them.
  const events: Array<Recorded<T>> = listed.items.map((object) => ({ type: 'LISTED', rv: rvOf(object), object, atMs: Date.now() }));
  let broken: string | null = null;
  let stopped = false;
  const req = await new Watch(kc).watch(
    path,
    { resourceVersion: listRvText, allowWatchBookmarks: false, ...(labelSelector ? { labelSelector } : {}) },
    (type, object: T) => {
      if (type === 'ERROR') broken ??= `watch error: ${JSON.stringify(object)}`;
      else events.push({ type: type as Recorded<T>['type'], rv: rvOf(object), object, atMs: Date.now() });
    },
    (err) => {
      if (!stopped) broken ??= `watch of ${path} ended early: ${err ? String(err) : 'closed by the server'}`;
    },
  );
  return {
    history: () => {
      if (broken) throw new Error(`incomplete history: ${broken}`);
      return events;
    },
    stop: () => {
      stopped = true;
      req.abort();
    },
  };
}

/** Ready, not terminating: the evaluator's "serving". */
export const podServing = (p: V1Pod): boolean =>
  !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/**
 * The resourceVersion at which the last pod labelled `version` stopped serving: for every pod of
 * that version serving at some point, the first later change where it no longer serves (not
 * ready, terminating or deleted). Throws if one of them still serves.
 */
export function lastStoppedServingRv(history: Array<Recorded<V1Pod>>, versionLabel: string, version: string): bigint {
  const serving = new Set<string>();
  let last = -1n;
  for (const e of history) {
    const name = e.object.metadata!.name!;
    if (e.object.metadata?.labels?.[versionLabel] !== version) continue;
    const now = e.type !== 'DELETED' && podServing(e.object);
    if (now) serving.add(name);
    else if (serving.delete(name) && e.rv > last) last = e.rv;
  }
  if (serving.size > 0) throw new Error(`pods of ${version} still serve: ${[...serving].join(', ')}`);
  if (last < 0n) throw new Error(`no pod of ${version} was seen to stop serving`);
  return last;
}

/** The first resourceVersion at which each pod labelled `version` was seen Ready (pod name → rv). */
export function firstReadyRvs(history: Array<Recorded<V1Pod>>, versionLabel: string, version: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const e of history) {
    const name = e.object.metadata!.name!;
    if (e.object.metadata?.labels?.[versionLabel] === version && e.type !== 'DELETED' && podServing(e.object) && !out.has(name)) out.set(name, e.rv);
  }
  return out;
}

/** `kubectl rollout status`'s notion of done (and the evaluator's): the spec's generation fully rolled out. */
export function deploymentComplete(d: V1Deployment): boolean {
  const s = d.status ?? {};
  const want = d.spec?.replicas ?? 1;
  return (
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    (s.updatedReplicas ?? 0) >= want &&
    (s.replicas ?? 0) <= (s.updatedReplicas ?? 0) &&
    (s.availableReplicas ?? 0) >= (s.updatedReplicas ?? 0) &&
    !d.spec?.paused
  );
}

/** The first resourceVersion, after `afterRv`, at which Deployment `name` was complete. */
export function firstCompleteRv(history: Array<Recorded<V1Deployment>>, name: string, afterRv: bigint): bigint {
  const hit = history.find((e) => e.object.metadata?.name === name && e.rv > afterRv && e.type !== 'DELETED' && deploymentComplete(e.object));
  if (!hit) throw new Error(`Deployment ${name} was not recorded complete after resourceVersion ${afterRv}`);
  return hit.rv;
}

/**
 * The resourceVersion of the controller's VersionConverged Event for `version` on Deployment
 * `name`: the controller creates it in the same reconcile that decides the announcement and hands
 * the state to the pusher, so it was written after every object version that decision read.
 */
export async function announcementEventRv(kc: KubeConfig, namespace: string, name: string, version: string, timeoutMs = 15_000): Promise<bigint> {
  // The Event is written fire-and-forget, so it may land after the pods (and browsers) have the state.
  const api = kc.makeApiClient(EventsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await api.listNamespacedEvent({ namespace });
    const hits = list.items.filter((e) => e.reason === 'VersionConverged' && e.regarding?.kind === 'Deployment' && e.regarding.name === name && (e.note ?? '').includes(` converged on ${version}`));
    if (hits.length > 1) throw new Error(`${hits.length} VersionConverged Events for ${name} → ${version}: announced more than once`);
    if (hits.length === 1) {
      // A series patch would move the resourceVersion past the decision; the creation is what counts.
      if (hits[0]!.series) throw new Error(`the VersionConverged Event for ${name} → ${version} was patched (series): announced more than once`);
      return rvOf(hits[0]!);
    }
    if (Date.now() > deadline) throw new Error(`no VersionConverged Event for ${name} → ${version} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
