/**
 * Reads what the demo shows and the end-to-end tests assert on: the app's pods by version
 * (as the cluster sees them) and the app's state (as the controller reports it).
 */
import type { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { AppState } from '../core/app-state.ts';
import { VERSION_LABEL } from './example-app.ts';
import { realClock } from '../platform/clock.ts';

export interface PodsView {
  /** ready, non-terminating pods by version */
  serving: Record<string, number>;
  /** all pods by version, terminating ones included */
  total: Record<string, number>;
  /** non-terminating pods by version, ready or not */
  live: Record<string, number>;
  terminating: number;
}

export async function podsByVersion(core: CoreV1Api, namespace: string, app: string): Promise<PodsView> {
  const pods = await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` });
  const view: PodsView = { serving: {}, total: {}, live: {}, terminating: 0 };
  for (const p of pods.items) {
    const v = p.metadata?.labels?.[VERSION_LABEL] ?? '?';
    view.total[v] = (view.total[v] ?? 0) + 1;
    if (p.metadata?.deletionTimestamp) {
      view.terminating++;
      continue;
    }
    view.live[v] = (view.live[v] ?? 0) + 1;
    const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (ready) view.serving[v] = (view.serving[v] ?? 0) + 1;
  }
  return view;
}

export async function controllerState(apiUrl: string, namespace: string, app: string): Promise<AppState | null> {
  try {
    const res = await fetch(`${apiUrl}/v1/apps/${namespace}/${app}`);
    if (!res.ok) return null;
    const body = (await res.json()) as AppState | { state: AppState };
    return 'state' in body && typeof body.state === 'object' ? body.state : (body as AppState);
  } catch {
    return null;
  }
}

/**
 * Changes the version label (and image tag) of the pod template: the rollout an app team's CD
 * would make. Retries on a write conflict (the Deployment controller writes status meanwhile).
 */
export async function setVersion(apps: AppsV1Api, namespace: string, name: string, version: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const d = await apps.readNamespacedDeployment({ name, namespace });
    d.spec!.template.metadata!.labels![VERSION_LABEL] = version;
    const image = d.spec!.template.spec!.containers[0]!.image!;
    d.spec!.template.spec!.containers[0]!.image = `${image.replace(/:[^:/]*$/, '')}:${version}`;
    try {
      await apps.replaceNamespacedDeployment({ name, namespace, body: d });
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 409 || attempt >= 10) throw err;
    }
  }
}

/** Resolves when the Deployment is complete by `kubectl rollout status` rules. */
export async function waitForRollout(apps: AppsV1Api, namespace: string, name: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await apps.readNamespacedDeployment({ name, namespace });
    const s = d.status ?? {};
    const want = d.spec?.replicas ?? 1;
    if ((s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) && (s.updatedReplicas ?? 0) === want && (s.replicas ?? 0) === (s.updatedReplicas ?? 0) && (s.availableReplicas ?? 0) >= (s.updatedReplicas ?? 0)) return;
    if (Date.now() > deadline) throw new Error(`deployment ${namespace}/${name} did not complete within ${timeoutMs} ms: ${JSON.stringify(s)}`);
    await realClock.sleep(200);
  }
}

/**
 * Resolves when every pod of the app, terminating ones included, runs `version`: a page loaded
 * then cannot be served by an old pod over a kept-alive connection.
 */
export async function waitForOnlyVersion(core: CoreV1Api, namespace: string, app: string, version: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pods = await podsByVersion(core, namespace, app);
    const versions = Object.keys(pods.total);
    if (versions.length === 1 && versions[0] === version) return;
    if (Date.now() > deadline) throw new Error(`pods of ${namespace}/${app} still run ${fmtCounts(pods.total)} after ${timeoutMs} ms`);
    await realClock.sleep(50);
  }
}

export const fmtCounts = (c: Record<string, number>): string =>
  Object.entries(c)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([v, n]) => `${v}×${n}`)
    .join(' ') || '–';
