/**
 * What the controller tests create and read back: a namespace, a Deployment of test receivers
 * (image `version-observer/test-receiver`, test/support/receiver.ts) labelled as the contract
 * says, a rollout by patching the template's version label, the Running pods of a Deployment,
 * and what each pod's receiver was pushed.
 * Invariant: the contract's label keys come from src/core/labels.ts; `test/deployment` is the
 * tests' own selector label, which nothing in the product reads.
 */
import type { AppsV1Api, CoreV1Api, V1Deployment } from '@kubernetes/client-node';
import type { AppState } from '../../../src/core/app-state.ts';
import { APP_LABEL, DEFAULT_VERSION_LABEL } from '../../../src/core/labels.ts';
import type { Cluster } from '../../../src/local/cluster.ts';
import { kubectl } from '../kubectl.ts';
import { RECEIVER_PORT, type Received } from '../receiver.ts';

/** The tests' selector label (name of the Deployment). */
const SELECTOR_LABEL = 'test/deployment';

/** The API clients and cluster the fixtures work through. */
export interface FixtureEnv {
  cluster: Cluster;
  apps: AppsV1Api;
  core: CoreV1Api;
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
    metadata: { name: s.name, namespace: s.namespace, labels: { [APP_LABEL]: s.app } },
    spec: {
      replicas: s.replicas ?? 3,
      paused: s.paused ?? false,
      progressDeadlineSeconds: s.progressDeadlineSeconds ?? 600,
      selector: { matchLabels: { [SELECTOR_LABEL]: s.name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { [SELECTOR_LABEL]: s.name, [APP_LABEL]: s.app, [DEFAULT_VERSION_LABEL]: s.version } },
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
              readinessProbe: { httpGet: { path: '/healthz', port: RECEIVER_PORT }, periodSeconds: 1, failureThreshold: 1 },
            },
          ],
        },
      },
    },
  };
}

/** A JSON Pointer token (RFC 6901): `~` and `/` escaped. */
const pointerToken = (key: string): string => key.replaceAll('~', '~0').replaceAll('/', '~1');

/** Patches the pod template's version label (and optionally FAIL_READINESS): starts a rollout. */
export async function setVersion(env: FixtureEnv, ns: string, name: string, version: string, failReadiness?: boolean): Promise<void> {
  const patch = [{ op: 'replace', path: `/spec/template/metadata/labels/${pointerToken(DEFAULT_VERSION_LABEL)}`, value: version }];
  if (failReadiness !== undefined) patch.push({ op: 'replace', path: '/spec/template/spec/containers/0/env/1/value', value: failReadiness ? '1' : '0' });
  const r = await kubectl(env.cluster, ['patch', 'deployment', name, '-n', ns, '--type=json', '-p', JSON.stringify(patch)]);
  if (r.status !== 0) throw new Error(r.stderr);
}

export async function createNamespace(env: FixtureEnv, ns: string): Promise<void> {
  await env.core.createNamespace({ body: { metadata: { name: ns } } });
}

/** Running pods of a deployment (by the test selector label) with their IPs. */
export async function podsOf(env: FixtureEnv, ns: string, name: string): Promise<Array<{ name: string; ip: string; version: string; ready: boolean; terminating: boolean }>> {
  const list = await env.core.listNamespacedPod({ namespace: ns, labelSelector: `${SELECTOR_LABEL}=${name}` });
  return list.items
    .filter((p) => p.status?.phase === 'Running' && p.status.podIP)
    .map((p) => ({
      name: p.metadata!.name!,
      ip: p.status!.podIP!,
      version: p.metadata!.labels![DEFAULT_VERSION_LABEL]!,
      ready: p.status!.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      terminating: !!p.metadata!.deletionTimestamp,
    }));
}

/** What the receiver on a pod IP holds and every push it answered, in order. */
export async function receivedBy(ip: string): Promise<{ held: AppState | null; received: Received[] }> {
  const res = await fetch(`http://${ip}:${RECEIVER_PORT}/received`, { signal: AbortSignal.timeout(2000) });
  return (await res.json()) as { held: AppState | null; received: Received[] };
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
