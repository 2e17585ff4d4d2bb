/**
 * Every object the chart renders is accepted by a real kube-apiserver (the local control plane)
 * in a server-side dry run, for default and non-default values, in namespaces that enforce the
 * restricted Pod Security Standard (a PodSecurity warning fails the test too). Also: manifests/
 * applies, and `helm install --dry-run` prints NOTES with the app-team labels (or snippet).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startCluster, type Cluster } from '../../../src/local/cluster.ts';
import { chartDir, ciValues, helmPath, kubectlPath, renderText, repoRoot, run, runOk } from './support.ts';
import { silentLogger } from '../../../src/platform/logger.ts';

let cluster: Cluster;
let kubectl: (args: string[], input?: string) => ReturnType<typeof run>;

before(async () => {
  cluster = await startCluster({ kubelet: false, logger: silentLogger });
  const bin = kubectlPath();
  kubectl = (args, input) => run(bin, ['--kubeconfig', cluster.kubeconfigPath, ...args], { input });
  for (const ns of ['version-observer', 'shop', 'blog']) {
    const r = kubectl(['create', 'namespace', ns]);
    assert.equal(r.status, 0, r.stderr);
    const l = kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/warn=restricted']);
    assert.equal(l.status, 0, l.stderr);
  }
  for (const kind of ['servicemonitor', 'podmonitor', 'prometheusrule']) {
    const crd = kubectl(['apply', '-f', `${repoRoot}test/integration/packaging/fixtures/${kind}-crd.yaml`]);
    assert.equal(crd.status, 0, crd.stderr);
    const est = kubectl(['wait', '--for=condition=Established', `crd/${kind}s.monitoring.coreos.com`, '--timeout=30s']);
    assert.equal(est.status, 0, est.stderr);
  }
});

after(async () => {
  await cluster?.stop();
});

function dryRun(yaml: string): { kinds: string[]; lines: string[] } {
  const r = kubectl(['apply', '--dry-run=server', '-o', 'name', '-f', '-'], yaml);
  assert.equal(r.status, 0, `server-side dry run refused:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /would violate PodSecurity|Warning:/, r.stderr);
  const lines = r.stdout.trim().split('\n');
  return { kinds: lines.map((l) => l.split('/')[0]!), lines };
}

describe('server-side dry run of every rendered object', () => {
  it('default values', async () => {
    const { kinds } = dryRun(await renderText());
    for (const k of ['serviceaccount', 'clusterrole.rbac.authorization.k8s.io', 'clusterrolebinding.rbac.authorization.k8s.io', 'role.rbac.authorization.k8s.io', 'rolebinding.rbac.authorization.k8s.io', 'service', 'deployment.apps', 'poddisruptionbudget.policy', 'pod']) {
      assert.ok(kinds.includes(k), `${k} in ${kinds.join(', ')}`);
    }
  });

  it('ci/full-values.yaml (namespaced RBAC, Helm-made key, ServiceMonitor, NetworkPolicy)', async () => {
    const { kinds, lines } = dryRun(await renderText({ valuesFiles: [ciValues] }));
    for (const k of ['secret', 'networkpolicy.networking.k8s.io', 'servicemonitor.monitoring.coreos.com', 'mutatingwebhookconfiguration.admissionregistration.k8s.io']) assert.ok(kinds.includes(k), `${k} in ${kinds.join(', ')}`);
    // namespaced RBAC: the one ClusterRole left is the webhook configuration's, by name
    const clusterRoles = lines.filter((l) => l.startsWith('clusterrole.rbac.authorization.k8s.io/'));
    assert.deepEqual(clusterRoles.map((l) => /\/\S+-webhook-/.test(l)), [true], clusterRoles.join('\n'));
  });

  it('ci/monitoring-values.yaml (PodMonitor, PrometheusRule, Grafana dashboard ConfigMap)', async () => {
    const { kinds } = dryRun(await renderText({ valuesFiles: [`${chartDir}/ci/monitoring-values.yaml`] }));
    for (const k of ['podmonitor.monitoring.coreos.com', 'prometheusrule.monitoring.coreos.com', 'configmap', 'servicemonitor.monitoring.coreos.com']) assert.ok(kinds.includes(k), `${k} in ${kinds.join(', ')}`);
  });

  it('signingKey.source=existing', async () => {
    dryRun(await renderText({ set: ['signingKey.source=existing', 'signingKey.existingSecret=my-key'] }));
  });

  it('manifests/version-observer.yaml', () => {
    dryRun(readFileSync(`${repoRoot}manifests/version-observer.yaml`, 'utf8'));
  });
});

it('helm install --dry-run prints NOTES with the labels to add (injection on), or the native sidecar block (injection off)', async () => {
  const helm = await helmPath();
  const notesOf = (set: string[]) => {
    const r = runOk(helm, ['install', 'vo', chartDir, '--dry-run=server', '--namespace', 'version-observer', '--kubeconfig', cluster.kubeconfigPath, ...set]);
    return r.stdout.slice(r.stdout.indexOf('NOTES:'));
  };
  const injected = notesOf([]);
  for (const needle of ['version-observer.io/app: <your-app>', 'app.kubernetes.io/version: "1.4.0"', 'version-observer.io/inject: "true"', 'SidecarMissing']) {
    assert.ok(injected.includes(needle), `NOTES.txt lacks ${needle}\n${injected}`);
  }
  assert.ok(!injected.includes('args: ["sidecar"]'), 'no block to paste when the webhook injects it');
  const notes = notesOf(['--set', 'injection.enabled=false']);
  assert.ok(!notes.includes('readinessProbe'), 'the native sidecar has no readiness probe');
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
    'initContainers:',
    'restartPolicy: Always',
    'image: ghcr.io/version-observer/version-observer:0.1.0',
  ]) {
    assert.ok(notes.includes(needle), `NOTES.txt lacks ${needle}\n${notes}`);
  }
});
