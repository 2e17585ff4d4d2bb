/**
 * Small helpers for the local control-plane tests: PID checks, pod reads through the system
 * kubectl, JSON GETs. Waiting (sleep, waitFor) and kubectl itself live in wait.ts and
 * kubectl.ts; they are re-exported here for the tests that import them from this module
 * (`kubectl` here is the must-succeed form: it resolves with stdout).
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Cluster } from '../../src/local/cluster.ts';
import { kubectlOk } from './kubectl.ts';
import { sleep, waitFor } from './wait.ts';

export { kubectlOk as kubectl, sleep, waitFor };

export const apply = (cluster: Cluster, yaml: string) => kubectlOk(cluster, ['apply', '-f', '-'], yaml);

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function getPods(cluster: Cluster, namespace: string, selector?: string): Promise<V1Pod[]> {
  const out = await kubectlOk(cluster, ['get', 'pods', '-n', namespace, '-o', 'json', ...(selector ? ['-l', selector] : [])]);
  return (JSON.parse(out) as { items: V1Pod[] }).items;
}

export async function getPod(cluster: Cluster, namespace: string, name: string): Promise<V1Pod> {
  return JSON.parse(await kubectlOk(cluster, ['get', 'pod', '-n', namespace, name, '-o', 'json'])) as V1Pod;
}

export const isReady = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** PID of a process container from its containerID (process://<pid>). */
export function pidOf(p: V1Pod, container?: string): number | undefined {
  const cs = p.status?.containerStatuses?.find((c) => !container || c.name === container);
  const m = /^process:\/\/(\d+)$/.exec(cs?.containerID ?? '');
  return m ? Number(m[1]) : undefined;
}

/** GET url → parsed JSON; rejects on connection errors. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return (await res.json()) as T;
}
