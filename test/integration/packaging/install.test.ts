/**
 * The chart installed for real (the suite test/e2e/kind.sh runs against kind too):
 * helm install → controller pods Ready, one holds the Lease, `helm test` passes; the example app
 * with the documented labels and sidecar is announced after a rollout; helm uninstall leaves
 * only what docs/install.md says it leaves (the signing key Secret and the Lease).
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { exampleAppObjects } from '../../../src/demo/example-app.ts';
import { chartDir, helmPath, KUBECTL, runAsync, runOkAsync, waitFor } from './support.ts';
import { startTarget, type Target } from './target.ts';

const NS = 'version-observer';
const APP_NS = 'shop';
const RELEASE = 'vo';
const FULL = 'vo-version-observer';
let t: Target;
let helmEnv: NodeJS.ProcessEnv;
// Async only: the local cluster's kubelet and proxy run on this process's event loop.
const helm = (args: string[], timeoutMs = 300_000) => runOkAsync(t.helm, [...args, '--kubeconfig', t.kubeconfigPath], { env: helmEnv, timeoutMs });
const kubectl = (args: string[], timeoutMs?: number) => runAsync(KUBECTL, ['--kubeconfig', t.kubeconfigPath, ...args], { timeoutMs });
const kubectlOk = (args: string[], timeoutMs?: number) => runOkAsync(KUBECTL, ['--kubeconfig', t.kubeconfigPath, ...args], { timeoutMs });

/**
 * GET a path on a pod's port from this process: the local cluster's pod IPs are loopback
 * addresses reachable here (and the API server refuses to proxy to loopback); on an external
 * cluster, through the API server's pod proxy. Throws (never skips) when the pod has no IP.
 */
async function getFromPod(pod: string, ip: string | undefined, port: number, path: string): Promise<string> {
  if (t.external) return t.kubeConfig.makeApiClient(CoreV1Api).connectGetNamespacedPodProxyWithPath({ name: `${pod}:${port}`, namespace: APP_NS, path });
  assert.ok(ip, `pod ${pod} has no IP`);
  return (await fetch(`http://${ip}:${port}/${path}`, { signal: AbortSignal.timeout(5000) })).text();
}

before(async () => {
  t = await startTarget(await helmPath());
  helmEnv = { HELM_CACHE_HOME: join(t.dir, 'helm/cache'), HELM_CONFIG_HOME: join(t.dir, 'helm/config'), HELM_DATA_HOME: join(t.dir, 'helm/data') };
});

after(async () => {
  await t?.stop();
});

it('helm install: controller pods Ready, one holds the Lease, helm test passes', async () => {
  await helm(['install', RELEASE, chartDir, '-n', NS, '--create-namespace', '--wait', '--timeout', '3m']);
  const pods = JSON.parse((await kubectl(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/component=controller', '-o', 'json'])).stdout) as { items: Array<{ metadata: { name: string }; spec: { serviceAccountName: string }; status: { conditions?: Array<{ type: string; status: string }> } }> };
  assert.equal(pods.items.length, 2);
  for (const p of pods.items) {
    assert.ok(p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'), `${p.metadata.name} Ready`);
    assert.equal(p.spec.serviceAccountName, FULL);
  }
  const holder = await waitFor('Lease holder', async () => {
    const r = await kubectl(['get', 'lease', FULL, '-n', NS, '-o', 'jsonpath={.spec.holderIdentity}']);
    return r.status === 0 && r.stdout ? r.stdout : undefined;
  }, 60_000);
  assert.ok(pods.items.some((p) => p.metadata.name === holder), `holder ${holder} is one of the pods`);
  // The chart's default (http://vo-version-observer.version-observer.svc:8080/readyz) needs
  // cluster DNS, which the local cluster does not have: its pods are host processes resolving
  // names with the host's resolver, and Services are reached only through the local service
  // proxy's ports. So the local run points the test pod at that proxy; on kind the default is used.
  if (!t.external) await helm(['upgrade', RELEASE, chartDir, '-n', NS, '--reset-then-reuse-values', '--wait', '--set', `tests.url=${await t.serviceUrl(NS, FULL, 'http')}/readyz`]);
  const test = await helm(['test', RELEASE, '-n', NS, '--timeout', '2m']);
  assert.match(test.stdout, /Phase:\s+Succeeded/);
});

it('the example app with the documented labels and sidecar is announced after a rollout', async () => {
  const apiUrl = await t.serviceUrl(NS, FULL, 'http');
  // The trust set as docs/install.md tells app teams to read it: the controller's ConfigMap.
  const trust = await waitFor('trust ConfigMap published', async () => {
    const r = await kubectl(['get', 'configmap', 'version-observer-trust', '-n', NS, '-o', 'jsonpath={.data.publicKeys} {.data.installation}']);
    const [publicKey, installation] = r.stdout.trim().split(' ');
    return r.status === 0 && publicKey && installation ? { publicKey, installation } : undefined;
  }, 60_000);
  assert.equal((await kubectl(['create', 'namespace', APP_NS])).status, 0);
  const [dep, svc] = exampleAppObjects({ namespace: APP_NS, name: 'storefront', version: '1.0.0', replicas: 2, ...trust });
  const apps = t.kubeConfig.makeApiClient(AppsV1Api);
  const core = t.kubeConfig.makeApiClient(CoreV1Api);
  await apps.createNamespacedDeployment({ namespace: APP_NS, body: dep });
  await core.createNamespacedService({ namespace: APP_NS, body: svc });
  const state = async (want: string) => {
    const res = await fetch(`${apiUrl}/v1/apps/${APP_NS}/storefront`);
    if (!res.ok) return undefined;
    const s = (await res.json()) as { phase: string; version: string; change: string };
    return s.phase === 'converged' && s.version === want ? s : undefined;
  };
  await waitFor('1.0.0 converged', () => state('1.0.0'), 120_000, 500);
  await kubectlOk(['-n', APP_NS, 'patch', 'deployment', 'storefront', '--type=json', '-p',
    JSON.stringify([
      { op: 'replace', path: '/spec/template/metadata/labels/app.kubernetes.io~1version', value: '1.1.0' },
      { op: 'replace', path: '/spec/template/spec/containers/0/image', value: dep.spec!.template.spec!.containers[0]!.image!.replace(/:1\.0\.0$/, ':1.1.0') },
    ])]);
  await kubectlOk(['-n', APP_NS, 'rollout', 'status', 'deployment/storefront', '--timeout=180s'], 200_000);
  const announced = await waitFor('1.1.0 announced', () => state('1.1.0'), 60_000, 250);
  assert.equal(announced.change, 'minor');
  // Every pod's sidecar holds it (what browsers get). Asked pod by pod on its public port: the
  // app's Service has no sidecar port, and a Service would answer from one pod only.
  const running = JSON.parse((await kubectlOk(['get', 'pods', '-n', APP_NS, '-l', 'app=storefront', '-o', 'json'])).stdout) as { items: Array<{ metadata: { name: string; deletionTimestamp?: string }; status: { podIP?: string; phase?: string } }> };
  const pods = running.items.filter((p) => p.status.phase === 'Running' && !p.metadata.deletionTimestamp);
  assert.equal(pods.length, 2, `two running storefront pods: ${pods.map((p) => p.metadata.name).join(', ')}`);
  for (const p of pods) {
    const seen = await waitFor(`sidecar of ${p.metadata.name} holds 1.1.0`, async () => {
      const v = JSON.parse(await getFromPod(p.metadata.name, p.status.podIP, 8787, 'version')) as { state: { version: string; phase: string } | null };
      return v.state?.version === '1.1.0' && v.state.phase === 'converged' ? v : undefined;
    }, 30_000);
    assert.equal(seen.state!.version, '1.1.0');
  }
  await kubectlOk(['delete', 'namespace', APP_NS, '--wait=false']);
});

it('helm uninstall leaves only the signing key Secret and the Lease', async () => {
  await helm(['uninstall', RELEASE, '-n', NS, '--wait']);
  // The Deployment is gone at once; its pods go by garbage collection after their grace period.
  await waitFor('controller pods gone', async () => ((await kubectl(['get', 'pods', '-n', NS, '-o', 'name'])).stdout.trim() === '' ? true : undefined), 60_000);
  const left = (await kubectl(['get', 'all,serviceaccounts,roles,rolebindings,secrets,leases,poddisruptionbudgets,networkpolicies', '-n', NS, '-o', 'name'])).stdout.trim().split('\n').filter(Boolean);
  const ours = left.filter((n) => !n.endsWith('/default') && !n.startsWith('configmap/kube-root-ca'));
  assert.deepEqual(ours.sort(), [`lease.coordination.k8s.io/${FULL}`, `secret/${FULL}-signing-key`].sort(), left.join('\n'));
  const cluster = (await kubectl(['get', 'clusterroles,clusterrolebindings', '-o', 'name'])).stdout;
  assert.doesNotMatch(cluster, new RegExp(FULL));
});
