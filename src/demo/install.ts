/**
 * Installs the controller from the Helm chart into a cluster (as a platform team would) and
 * reads back what app teams need: the controller API URL (through the local service proxy)
 * and its public key.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Cluster } from '../local/cluster.ts';
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
