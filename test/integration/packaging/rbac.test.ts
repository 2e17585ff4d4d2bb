/**
 * Least privilege, proven against a real kube-apiserver: the chart is installed (helm install,
 * no pods), then (1) `kubectl auth can-i --as=<the chart's ServiceAccount>` answers yes for
 * exactly what the controller does and no for the rest; (2) the controller itself runs with a
 * token of that ServiceAccount (TokenRequest) and the chart's own args: it creates its signing
 * key Secret (with the installation id), publishes the trust ConfigMap, takes the Lease, syncs
 * its caches and reports ready, fills its webhook TLS Secret and sets the webhook configuration's
 * caBundle, with no 403 in its logs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../../../src/local/cluster.ts';
import { freePort } from '../../../src/local/control-plane/ports.ts';
import { chartDir, find, helmPath, kubectlPath, render, repoRoot, run, runOk, waitFor } from './support.ts';
import { silentLogger } from '../../../src/platform/logger.ts';

const NS = 'version-observer';
const RELEASE = 'vo';
const SA = 'vo-version-observer';
const LEASE = 'vo-version-observer';
const KEY = 'vo-version-observer-signing-key';
const TRUST = 'version-observer-trust';
const WEBHOOK_TLS = 'vo-version-observer-webhook-tls';
const WEBHOOK_CONFIG = `vo-version-observer.${NS}`;
const MWC = 'mutatingwebhookconfigurations.admissionregistration.k8s.io';

let cluster: Cluster;
let kubectl: (args: string[], input?: string) => ReturnType<typeof run>;
let controller: ChildProcess | undefined;

before(async () => {
  cluster = await startCluster({ kubelet: false, logger: silentLogger });
  const bin = kubectlPath();
  kubectl = (args, input) => run(bin, ['--kubeconfig', cluster.kubeconfigPath, ...args], { input });
  for (const ns of [NS, 'shop']) assert.equal(kubectl(['create', 'namespace', ns]).status, 0);
  const helm = await helmPath();
  runOk(helm, ['install', RELEASE, chartDir, '-n', NS, '--kubeconfig', cluster.kubeconfigPath, '--set', 'replicaCount=0'], {
    env: { HELM_CACHE_HOME: join(cluster.dir, 'helm/cache'), HELM_CONFIG_HOME: join(cluster.dir, 'helm/config'), HELM_DATA_HOME: join(cluster.dir, 'helm/data') },
  });
});

after(async () => {
  if (controller && controller.exitCode === null) {
    controller.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 2000));
    if (controller.exitCode === null) controller.kill('SIGKILL');
  }
  await cluster?.stop();
});

function canI(verb: string, resource: string, ns?: string): boolean {
  const args = ['auth', 'can-i', verb, resource, `--as=system:serviceaccount:${NS}:${SA}`, ...(ns ? ['-n', ns] : ['--all-namespaces'])];
  const r = kubectl(args);
  const answer = r.stdout.trim();
  if (answer !== 'yes' && answer !== 'no') throw new Error(`kubectl ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return answer === 'yes';
}

describe('kubectl auth can-i as the chart ServiceAccount', () => {
  const allowed: Array<[string, string, string?]> = [
    ['list', 'pods'],
    ['watch', 'pods'],
    ['get', 'pods', 'shop'],
    ['list', 'deployments.apps'],
    ['watch', 'deployments.apps'],
    ['create', 'events.events.k8s.io', 'shop'],
    ['patch', 'events.events.k8s.io', 'shop'],
    ['create', 'events', 'shop'],
    ['get', `leases.coordination.k8s.io/${LEASE}`, NS],
    ['update', `leases.coordination.k8s.io/${LEASE}`, NS],
    ['create', 'leases.coordination.k8s.io', NS],
    ['get', `secrets/${KEY}`, NS],
    ['update', `secrets/${KEY}`, NS],
    ['create', 'secrets', NS],
    ['get', `configmaps/${TRUST}`, NS],
    ['update', `configmaps/${TRUST}`, NS],
    ['create', 'configmaps', NS],
    // the injection webhook's TLS: its one Secret and its one configuration, by name
    ['get', `secrets/${WEBHOOK_TLS}`, NS],
    ['update', `secrets/${WEBHOOK_TLS}`, NS],
    ['get', `${MWC}/${WEBHOOK_CONFIG}`],
    ['patch', `${MWC}/${WEBHOOK_CONFIG}`],
  ];
  const refused: Array<[string, string, string?]> = [
    ['get', 'secrets/other-secret', NS],
    ['list', 'secrets', NS],
    ['watch', 'secrets', NS],
    ['get', 'secrets', 'kube-system'],
    ['create', 'secrets', 'shop'],
    ['update', 'secrets/other-secret', NS],
    ['patch', `secrets/${KEY}`, NS],
    ['delete', `secrets/${KEY}`, NS],
    ['update', 'deployments.apps', 'shop'],
    ['patch', 'deployments.apps', 'shop'],
    ['create', 'deployments.apps', 'shop'],
    ['delete', 'pods', 'shop'],
    ['create', 'pods', 'shop'],
    ['update', 'pods', 'shop'],
    ['update', 'leases.coordination.k8s.io/kube-scheduler', 'kube-system'],
    ['update', 'leases.coordination.k8s.io/someone-else', NS],
    ['create', 'leases.coordination.k8s.io', 'shop'],
    ['get', 'configmaps/other-config', NS],
    ['list', 'configmaps', NS],
    ['watch', 'configmaps', NS],
    ['update', 'configmaps/other-config', NS],
    ['delete', `configmaps/${TRUST}`, NS],
    ['create', 'configmaps', 'shop'],
    ['get', 'configmaps', 'kube-system'],
    ['list', 'nodes'],
    ['delete', 'events', 'shop'],
    ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
    ['create', 'serviceaccounts/token', NS],
    ['delete', `secrets/${WEBHOOK_TLS}`, NS],
    ['list', MWC],
    ['create', MWC],
    ['delete', `${MWC}/${WEBHOOK_CONFIG}`],
    ['patch', `${MWC}/someone-elses-webhook`],
    ['patch', 'validatingwebhookconfigurations.admissionregistration.k8s.io/' + WEBHOOK_CONFIG],
  ];
  for (const [verb, resource, ns] of allowed) it(`may ${verb} ${resource}${ns ? ` in ${ns}` : ''}`, () => assert.equal(canI(verb, resource, ns), true));
  for (const [verb, resource, ns] of refused) it(`may not ${verb} ${resource}${ns ? ` in ${ns}` : ' anywhere'}`, () => assert.equal(canI(verb, resource, ns), false));
});

it('the controller does its job with only the chart ServiceAccount token', async () => {
  const token = runOk(kubectlPath(), ['--kubeconfig', cluster.kubeconfigPath, 'create', 'token', SA, '-n', NS, '--duration=1h']).stdout.trim();
  const kc = cluster.kubeConfig.getCurrentCluster()!;
  const ca = kc.caData ?? Buffer.from(readFileSync(kc.caFile!)).toString('base64');
  const kubeconfig = join(cluster.dir, 'sa.kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server: kc.server, 'certificate-authority-data': ca } }],
      users: [{ name: SA, user: { token } }],
      contexts: [{ name: 'sa', context: { cluster: 'local', user: SA, namespace: NS } }],
      'current-context': 'sa',
    }),
    { mode: 0o600 },
  );
  // The chart's own container args, so the names the RBAC allows are the names it is told to use.
  const objs = await render({ release: RELEASE, namespace: NS });
  const args = ((find(objs, 'Deployment') as any).spec.template.spec.containers[0].args as string[]).slice();
  const port = await freePort();
  args.push(`--port=${port}`, '--listen-host=127.0.0.1', `--webhook-port=${await freePort()}`);
  let logs = '';
  controller = spawn(process.execPath, [`${repoRoot}src/cli/main.ts`, ...args], {
    cwd: repoRoot,
    env: { ...process.env, KUBECONFIG: kubeconfig, POD_NAME: 'vo-rbac-test-0', POD_NAMESPACE: NS, KUBERNETES_SERVICE_HOST: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  controller.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  controller.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  const ready = await waitFor('controller /readyz', async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined), 60_000).catch((err: Error) => err);
  assert.equal(ready, true, `${String(ready)}\n${logs}`);
  const holder = await waitFor('Lease holder', () => {
    const r = kubectl(['get', 'lease', LEASE, '-n', NS, '-o', 'jsonpath={.spec.holderIdentity}']);
    return r.status === 0 && r.stdout ? r.stdout : undefined;
  }, 30_000);
  assert.equal(holder, 'vo-rbac-test-0');
  const secret = JSON.parse(runOk(kubectlPath(), ['--kubeconfig', cluster.kubeconfigPath, 'get', 'secret', KEY, '-n', NS, '-o', 'json']).stdout) as { data: Record<string, string> };
  assert.ok(secret.data['private.pem'], 'the controller created its key Secret');
  const installation = Buffer.from(secret.data['installation'] ?? '', 'base64').toString('utf8');
  assert.match(installation, /^[0-9a-f-]{36}$/, 'with an installation id');
  const trust = await waitFor('trust ConfigMap', () => {
    const r = kubectl(['get', 'configmap', TRUST, '-n', NS, '-o', 'json']);
    return r.status === 0 ? (JSON.parse(r.stdout) as { data: Record<string, string> }).data : undefined;
  }, 30_000);
  assert.equal(trust.installation, installation, 'the ConfigMap publishes the installation');
  const keys = (await (await fetch(`http://127.0.0.1:${port}/v1/keys`)).json()) as { keys: Array<{ publicKey: string }> };
  const { signingKeyFromPem } = await import('../../../src/core/signature.ts');
  assert.equal(keys.keys[0]?.publicKey, signingKeyFromPem(Buffer.from(secret.data['private.pem']!, 'base64').toString('utf8')).publicKeyBase64);
  assert.equal(trust.publicKeys, keys.keys[0]?.publicKey, 'and the key sidecars pin');
  assert.equal((await fetch(`http://127.0.0.1:${port}/v1/apps`)).status, 200);
  const tls = JSON.parse(runOk(kubectlPath(), ['--kubeconfig', cluster.kubeconfigPath, 'get', 'secret', WEBHOOK_TLS, '-n', NS, '-o', 'json']).stdout) as { data?: Record<string, string> };
  assert.ok(tls.data?.['tls.crt'] && tls.data['ca.crt'], 'the controller filled the webhook TLS Secret');
  const bundle = await waitFor('caBundle set', () => {
    const r = kubectl(['get', MWC, WEBHOOK_CONFIG, '-o', 'jsonpath={.webhooks[0].clientConfig.caBundle}']);
    return r.status === 0 && r.stdout ? r.stdout : undefined;
  }, 30_000);
  assert.equal(bundle, tls.data['ca.crt'], 'the caBundle is the CA bundle of the Secret');
  assert.doesNotMatch(logs, /forbidden|\b403\b/i, logs);
});
