/**
 * Installs the controller from the Helm chart into a cluster (as a platform team would) and
 * reads back what app teams need: the controller API URL (through the local service proxy)
 * and its public key.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import type { Cluster } from '../local/cluster.ts';
import { APP_LABEL, DEFAULT_VERSION_LABEL, INJECT_LABEL } from '../core/labels.ts';
import { SIDECAR_CONTAINER_NAME } from '../core/sidecar-container.ts';
import { realClock } from '../platform/clock.ts';

const run = promisify(execFile);
const chart = new URL('../../charts/version-observer', import.meta.url).pathname;

export interface Installed {
  namespace: string;
  release: string;
  /** http://127.0.0.1:<port> → the controller Service */
  apiUrl: string;
  /** base64 raw Ed25519 public key(s), comma-separated, for VERSION_OBSERVER_PUBLIC_KEY */
  publicKey: string;
  /** the installation id, for VERSION_OBSERVER_INSTALLATION */
  installation: string;
}

export async function installController(
  cluster: Cluster,
  opts: { namespace?: string; release?: string; values?: Record<string, string>; log?: (l: string) => void } = {},
): Promise<Installed> {
  const namespace = opts.namespace ?? 'version-observer';
  const release = opts.release ?? 'version-observer';
  const log = opts.log ?? (() => {});
  const set = Object.entries(opts.values ?? {}).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  log(`helm install ${release} charts/version-observer -n ${namespace}`);
  await run(
    cluster.binaries.helm,
    ['upgrade', '--install', release, chart, '-n', namespace, '--create-namespace', '--wait', '--timeout', '3m', '--kubeconfig', cluster.kubeconfigPath, ...set],
    { env: { ...process.env, HELM_CACHE_HOME: `${cluster.dir}/helm/cache`, HELM_CONFIG_HOME: `${cluster.dir}/helm/config`, HELM_DATA_HOME: `${cluster.dir}/helm/data` } },
  );
  const apiUrl = await cluster.serviceUrl(namespace, release, 'http');
  const { publicKey, installation } = await waitForKeys(apiUrl, 60_000);
  log(`controller installed; public key ${publicKey.slice(0, 12)}…, installation ${installation}`);
  if (opts.values?.['injection.enabled'] !== 'false') {
    await waitForInjection(cluster, 60_000);
    log('sidecar injection in effect');
  }
  return { namespace, release, apiUrl, publicKey, installation };
}

async function waitForKeys(apiUrl: string, timeoutMs: number): Promise<{ publicKey: string; installation: string }> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${apiUrl}/v1/keys`);
      if (res.ok) {
        const body = (await res.json()) as { installation: string; keys: Array<{ publicKey: string }> };
        if (body.keys.length > 0) return { publicKey: body.keys.map((k) => k.publicKey).join(','), installation: body.installation };
      }
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = String(err);
    }
    await realClock.sleep(250);
  }
  throw new Error(`controller /v1/keys not available within ${timeoutMs} ms (${last})`);
}

/**
 * The API server applies a new webhook configuration (and the caBundle the controller sets) a
 * moment after the change: a labelled pod created before that is admitted without its sidecar.
 * A server-side dry run (the webhook has no side effects) shows when injection is in effect.
 */
export async function waitForInjection(cluster: Cluster, timeoutMs: number, namespace = 'default'): Promise<void> {
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const body: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'injection-probe', labels: { [APP_LABEL]: 'injection-probe', [DEFAULT_VERSION_LABEL]: '0.0.0', [INJECT_LABEL]: 'true' } },
    spec: { containers: [{ name: 'app', image: 'example.invalid/probe:1' }] },
  };
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const pod = await core.createNamespacedPod({ namespace, body, dryRun: 'All' });
      if (pod.spec?.initContainers?.some((c) => c.name === SIDECAR_CONTAINER_NAME)) return;
      last = 'admitted without the sidecar';
    } catch (err) {
      last = String(err);
    }
    await realClock.sleep(250);
  }
  throw new Error(`sidecar injection not in effect within ${timeoutMs} ms (${last})`);
}
