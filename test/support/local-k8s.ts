/**
 * Small helpers for the local control-plane tests: the system kubectl (async, so the
 * in-process kubelet keeps running while it waits), polling, PID checks, pod reads.
 */
import { execFile } from 'node:child_process';
import type { V1Pod } from '@kubernetes/client-node';
import type { Cluster } from '../../src/local/cluster.ts';

export const KUBECTL = '/usr/bin/kubectl';
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs the system kubectl with the cluster's kubeconfig; rejects with its stderr on failure. */
export function kubectl(cluster: Cluster, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(KUBECTL, ['--kubeconfig', cluster.kubeconfigPath, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export const apply = (cluster: Cluster, yaml: string) => kubectl(cluster, ['apply', '-f', '-'], yaml);

export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function getPods(cluster: Cluster, namespace: string, selector?: string): Promise<V1Pod[]> {
  const out = await kubectl(cluster, ['get', 'pods', '-n', namespace, '-o', 'json', ...(selector ? ['-l', selector] : [])]);
  return (JSON.parse(out) as { items: V1Pod[] }).items;
}

export async function getPod(cluster: Cluster, namespace: string, name: string): Promise<V1Pod> {
  return JSON.parse(await kubectl(cluster, ['get', 'pod', '-n', namespace, name, '-o', 'json'])) as V1Pod;
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
