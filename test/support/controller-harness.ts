/**
 * Shared by the controller integration tests: a real local cluster with the test-receiver image,
 * the chart's ServiceAccount + RBAC applied (rendered by helm from charts/version-observer,
 * applied by the system kubectl), a kubeconfig holding only that ServiceAccount's token, the
 * controller spawned as a real process (`node src/cli/main.ts controller` with the chart's own
 * args) under that token — so every controller test also proves the chart's RBAC suffices.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, loadAllYaml, type V1Deployment } from '@kubernetes/client-node';
import { startCluster, type Cluster } from '../../src/local/cluster.ts';
import { ensureBinaries } from '../../src/local/binaries.ts';
import type { AppState } from '../../src/core/app-state.ts';
import type { Received } from './receiver.ts';

export const repoRoot = new URL('../../', import.meta.url).pathname;
export const KUBECTL = '/usr/bin/kubectl';
export const SYSTEM_NS = 'vo-system';
export const RELEASE = 'vo';
const receiverPath = join(repoRoot, 'test/support/receiver.ts');
const cliPath = join(repoRoot, 'src/cli/main.ts');

/** Short lease timings for tests (client-go constraints hold: 4 > 3 > 1.2 × 0.5). */
export const SHORT_LEASE = ['--lease-duration=4s', '--renew-deadline=3s', '--retry-period=500ms'];

import { sleep, waitFor } from './local-k8s.ts';

export { sleep, waitFor };

/**
 * Runs the system kubectl (the oracle) against the admin kubeconfig. Asynchronous on purpose:
 * the process kubelet runs in this process, and a blocking spawnSync would stall it.
 */
export function kubectl(cluster: Cluster, args: string[], input?: string, timeoutMs = 120_000): Promise<{ status: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn(KUBECTL, ['--kubeconfig', cluster.kubeconfigPath, ...args], { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    p.once('error', reject);
    p.once('close', (status) => resolve({ status, stdout, stderr, ms: Date.now() - t0 }));
    p.stdin.end(input ?? '');
  });
}

export interface Env {
  cluster: Cluster;
  apps: AppsV1Api;
  core: CoreV1Api;
  /** kubeconfig holding only the chart ServiceAccount's token. */
  saKubeconfig: string;
  /** The controller args the chart renders (image entry `controller` dropped). */
  chartArgs: string[];
}

export async function startEnv(): Promise<Env> {
  const cluster = await startCluster({
    log: () => {},
    images: { 'version-observer/test-receiver': () => ({ command: process.execPath, args: [receiverPath], cwd: repoRoot }) },
  });
  try {
    const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const { helm } = await ensureBinaries(() => {});
    const rendered = spawnSync(
      helm,
      ['template', RELEASE, join(repoRoot, 'charts/version-observer'), '--namespace', SYSTEM_NS, '--kube-version', '1.37.2', '--show-only', 'templates/serviceaccount.yaml', '--show-only', 'templates/rbac.yaml', '--show-only', 'templates/deployment.yaml'],
      { encoding: 'utf8' },
    );
    if (rendered.status !== 0) throw new Error(`helm template failed: ${rendered.stderr}`);
    const docs = (loadAllYaml(rendered.stdout) as Array<{ kind: string; metadata: { name: string } } | null>).filter((d) => d !== null);
    const deployment = docs.find((d) => d.kind === 'Deployment') as unknown as V1Deployment;
    const container = deployment.spec!.template.spec!.containers[0]!;
    const chartArgs = (container.args ?? []).filter((a) => a !== 'controller');
    const sa = docs.find((d) => d.kind === 'ServiceAccount')!.metadata.name;
    const rbacYaml = rendered.stdout
      .split(/^---$/m)
      .filter((doc) => /kind: (ServiceAccount|ClusterRole|ClusterRoleBinding|Role|RoleBinding)\b/.test(doc))
      .join('\n---\n');
    const ns = await kubectl(cluster, ['create', 'namespace', SYSTEM_NS]);
    if (ns.status !== 0) throw new Error(ns.stderr);
    const applied = await kubectl(cluster, ['apply', '-n', SYSTEM_NS, '-f', '-'], rbacYaml);
    if (applied.status !== 0) throw new Error(`kubectl apply RBAC: ${applied.stderr}`);
    const token = await kubectl(cluster, ['create', 'token', sa, '-n', SYSTEM_NS, '--duration=2h']);
    if (token.status !== 0) throw new Error(`kubectl create token: ${token.stderr}`);
    const c = cluster.kubeConfig.getCurrentCluster()!;
    const saKubeconfig = join(cluster.dir, 'controller-sa.kubeconfig');
    const caLine = c.caData ? `certificate-authority-data: ${c.caData}` : c.caFile ? `certificate-authority: ${c.caFile}` : 'insecure-skip-tls-verify: true';
    writeFileSync(
      saKubeconfig,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    server: ${c.server}\n    ${caLine}\nusers:\n- name: sa\n  user:\n    token: ${token.stdout.trim()}\ncontexts:\n- name: sa\n  context:\n    cluster: local\n    user: sa\ncurrent-context: sa\n`,
    );
    return { cluster, apps, core, saKubeconfig, chartArgs };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

export interface ControllerProc {
  proc: ChildProcess;
  identity: string;
  url: string;
  logs: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
  apps(): Promise<AppState[]>;
  app(key: string): Promise<AppState | undefined>;
  metrics(): Promise<string>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** Spawns the controller with the chart's args, the SA kubeconfig, and the given overrides. */
export async function spawnController(env: Env, identity: string, extra: string[] = []): Promise<ControllerProc> {
  const args = [cliPath, 'controller', ...env.chartArgs, '--kubeconfig', env.saKubeconfig, '--listen-host=127.0.0.1', '--port=0', ...SHORT_LEASE, ...extra];
  const proc = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, POD_NAME: identity, POD_NAMESPACE: SYSTEM_NS, KUBECONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  let buf = '';
  let resolveUrl: (u: string) => void;
  const urlP = new Promise<string>((r) => (resolveUrl = r));
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        logs.push(o);
        if (o.msg === 'controller listening') resolveUrl(String(o.address));
        if (process.env.VO_TEST_VERBOSE) process.stderr.write(`[${identity}] ${line}\n`);
      } catch {
        process.stderr.write(`[${identity}] ${line}\n`);
      }
    }
  });
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
    process.stderr.write(`[${identity} stderr] ${d}`);
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await Promise.race([
    urlP,
    exited.then((code) => {
      throw new Error(`controller ${identity} exited ${code} before listening: ${stderr}`);
    }),
    sleep(30_000).then(() => {
      throw new Error(`controller ${identity} did not listen within 30 s`);
    }),
  ]);
  const get = async (path: string) => {
    const res = await fetch(url + path, { signal: AbortSignal.timeout(2000) });
    return res;
  };
  return {
    proc,
    identity,
    url,
    logs,
    exited,
    apps: async () => ((await (await get('/v1/apps')).json()) as { apps: AppState[] }).apps,
    app: async (key) => {
      const res = await get(`/v1/apps/${key}`);
      return res.status === 200 ? ((await res.json()) as AppState) : undefined;
    },
    metrics: async () => (await get('/metrics')).text(),
    kill: async (signal) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Value of a metric sample line, e.g. metric(text, 'version_observer_announcements_total{change="minor"}'). */
export function metric(text: string, sample: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

export async function publicKeyOf(c: ControllerProc): Promise<string> {
  const body = (await (await fetch(`${c.url}/v1/keys`)).json()) as { keys: Array<{ publicKey: string }> };
  return body.keys.map((k) => k.publicKey).join(',');
}

export interface DeploymentSpec {
  namespace: string;
  name: string;
  app: string;
  version: string;
  replicas?: number;
  publicKey: string;
  progressDeadlineSeconds?: number;
  failReadiness?: boolean;
  paused?: boolean;
}

export function deployment(s: DeploymentSpec): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: s.name, namespace: s.namespace, labels: { 'version-observer.io/app': s.app } },
    spec: {
      replicas: s.replicas ?? 3,
      paused: s.paused ?? false,
      progressDeadlineSeconds: s.progressDeadlineSeconds ?? 600,
      selector: { matchLabels: { 'test/deployment': s.name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { 'test/deployment': s.name, 'version-observer.io/app': s.app, 'app.kubernetes.io/version': s.version } },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name: 'app',
              image: 'version-observer/test-receiver:latest',
              env: [
                { name: 'RECEIVER_PUBLIC_KEY', value: s.publicKey },
                { name: 'FAIL_READINESS', value: s.failReadiness ? '1' : '0' },
              ],
              readinessProbe: { httpGet: { path: '/healthz', port: 8788 }, periodSeconds: 1, failureThreshold: 1 },
            },
          ],
        },
      },
    },
  };
}

/** Patches the pod template's version label (and optionally env): starts a rollout. */
export async function setVersion(env: Env, ns: string, name: string, version: string, failReadiness?: boolean): Promise<void> {
  const patch = [{ op: 'replace', path: '/spec/template/metadata/labels/app.kubernetes.io~1version', value: version }];
  if (failReadiness !== undefined) patch.push({ op: 'replace', path: '/spec/template/spec/containers/0/env/1/value', value: failReadiness ? '1' : '0' });
  const r = await kubectl(env.cluster, ['patch', 'deployment', name, '-n', ns, '--type=json', '-p', JSON.stringify(patch)]);
  if (r.status !== 0) throw new Error(r.stderr);
}

export async function createNamespace(env: Env, ns: string): Promise<void> {
  await env.core.createNamespace({ body: { metadata: { name: ns } } });
}

/** Running pods of a deployment (by the test selector label) with their IPs. */
export async function podsOf(env: Env, ns: string, name: string): Promise<Array<{ name: string; ip: string; version: string; ready: boolean; terminating: boolean }>> {
  const list = await env.core.listNamespacedPod({ namespace: ns, labelSelector: `test/deployment=${name}` });
  return list.items
    .filter((p) => p.status?.phase === 'Running' && p.status.podIP)
    .map((p) => ({
      name: p.metadata!.name!,
      ip: p.status!.podIP!,
      version: p.metadata!.labels!['app.kubernetes.io/version']!,
      ready: p.status!.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      terminating: !!p.metadata!.deletionTimestamp,
    }));
}

export async function receivedBy(ip: string): Promise<{ held: AppState | null; received: Received[] }> {
  const res = await fetch(`http://${ip}:8788/received`, { signal: AbortSignal.timeout(2000) });
  return (await res.json()) as { held: AppState | null; received: Received[] };
}

/** Polls the controller's view of an app every `everyMs`, keeping each distinct state with its time. */
export function observe(c: () => ControllerProc, key: string, everyMs = 50): { states: Array<{ atMs: number; state: AppState }>; stop(): void } {
  const states: Array<{ atMs: number; state: AppState }> = [];
  let stopped = false;
  void (async () => {
    while (!stopped) {
      try {
        const s = await c().app(key);
        const last = states.at(-1)?.state;
        if (s && (!last || last.epoch !== s.epoch || last.seq !== s.seq)) states.push({ atMs: Date.now(), state: s });
      } catch {
        // controller restarting
      }
      await sleep(everyMs);
    }
  })();
  return { states, stop: () => (stopped = true) };
}

/**
 * Announcements as a receiver saw them: applied (204) converged states whose version differs
 * from the converged version applied before.
 */
export function announcements(received: Received[]): AppState[] {
  const out: AppState[] = [];
  let last: string | null = null;
  for (const r of received) {
    if (r.status !== 204 || !r.state || r.state.phase !== 'converged') continue;
    if (r.state.version !== last) out.push(r.state);
    last = r.state.version;
  }
  return out;
}
