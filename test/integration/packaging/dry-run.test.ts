/**
 * Every object the chart renders is accepted by a real kube-apiserver (the local control plane)
 * in a server-side dry run, for default and non-default values, in namespaces that enforce the
 * restricted Pod Security Standard (a PodSecurity warning fails the test too). Also: manifests/
 * applies, and `helm install --dry-run` prints NOTES with the app-team snippet.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startCluster, type Cluster } from '../../../src/local/cluster.ts';
import { chartDir, ciValues, helmPath, kubectlPath, renderText, repoRoot, run, runOk } from './support.ts';

let cluster: Cluster;
let kubectl: (args: string[], input?: string) => ReturnType<typeof run>;

before(async () => {
  cluster = await startCluster({ kubelet: false, log: () => {} });
  const bin = kubectlPath();
  kubectl = (args, input) => run(bin, ['--kubeconfig', cluster.kubeconfigPath, ...args], { input });
  for (const ns of ['version-observer', 'shop', 'blog']) {
    const r = kubectl(['create', 'namespace', ns]);
    assert.equal(r.status, 0, r.stderr);
    const l = kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/warn=restricted']);
    assert.equal(l.status, 0, l.stderr);
  }
  const crd = kubectl(['apply', '-f', `${repoRoot}test/integration/packaging/fixtures/servicemonitor-crd.yaml`]);
  assert.equal(crd.status, 0, crd.stderr);
  const est = kubectl(['wait', '--for=condition=Established', 'crd/servicemonitors.monitoring.coreos.com', '--timeout=30s']);
  assert.equal(est.status, 0, est.stderr);
});

after(async () => {
  await cluster?.stop();
});

function dryRun(yaml: string): { kinds: string[] } {
  const r = kubectl(['apply', '--dry-run=server', '-o', 'name', '-f', '-'], yaml);
  assert.equal(r.status, 0, `server-side dry run refused:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /would violate PodSecurity|Warning:/, r.stderr);
  return { kinds: r.stdout.trim().split('\n').map((l) => l.split('/')[0]!) };
}

describe('server-side dry run of every rendered object', () => {
  it('default values', async () => {
    const { kinds } = dryRun(await renderText());
    for (const k of ['serviceaccount', 'clusterrole.rbac.authorization.k8s.io', 'clusterrolebinding.rbac.authorization.k8s.io', 'role.rbac.authorization.k8s.io', 'rolebinding.rbac.authorization.k8s.io', 'service', 'deployment.apps', 'poddisruptionbudget.policy', 'pod']) {
      assert.ok(kinds.includes(k), `${k} in ${kinds.join(', ')}`);
    }
  });

  it('ci/full-values.yaml (namespaced RBAC, Helm-made key, ServiceMonitor, NetworkPolicy)', async () => {
    const { kinds } = dryRun(await renderText({ valuesFiles: [ciValues] }));
    for (const k of ['secret', 'networkpolicy.networking.k8s.io', 'servicemonitor.monitoring.coreos.com']) assert.ok(kinds.includes(k), `${k} in ${kinds.join(', ')}`);
    assert.ok(!kinds.includes('clusterrole.rbac.authorization.k8s.io'));
  });

  it('signingKey.source=existing', async () => {
    dryRun(await renderText({ set: ['signingKey.source=existing', 'signingKey.existingSecret=my-key'] }));
  });

  it('manifests/version-observer.yaml', () => {
    dryRun(readFileSync(`${repoRoot}manifests/version-observer.yaml`, 'utf8'));
  });
});

it('helm install --dry-run prints NOTES with the pod-template labels and the sidecar snippet', async () => {
  const helm = await helmPath();
  const r = runOk(helm, ['install', 'vo', chartDir, '--dry-run=server', '--namespace', 'version-observer', '--kubeconfig', cluster.kubeconfigPath]);
  const notes = r.stdout.slice(r.stdout.indexOf('NOTES:'));
  for (const needle of [
    'version-observer.io/app: <your-app>',
    'app.kubernetes.io/version: "1.4.0"',
    'args: ["sidecar"]',
    'VERSION_OBSERVER_APP',
    "fieldPath: metadata.labels['app.kubernetes.io/version']",
    'fieldPath: status.podIP',
    'POD_NAMESPACE',
    'name: VERSION_OBSERVER_PUBLIC_KEY',
    'name: VERSION_OBSERVER_INSTALLATION',
    "get configmap version-observer-trust -o jsonpath='{.data.publicKeys}",
    'containerPort: 8787',
    'httpGet: { path: /readyz, port: 8788 }',
    'image: ghcr.io/version-observer/version-observer:0.1.0',
  ]) {
    assert.ok(notes.includes(needle), `NOTES.txt lacks ${needle}\n${notes}`);
  }
});
