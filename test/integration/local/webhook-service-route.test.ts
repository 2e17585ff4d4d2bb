/**
 * kube-apiserver reaches an admission webhook on the local cluster the way it does in a real
 * cluster: through the MutatingWebhookConfiguration's `service:` reference. It resolves the
 * Service to its ClusterIP (the local range is on loopback) and dials https://<ClusterIP>:<port>,
 * verifying the serving certificate for <service>.<namespace>.svc against the caBundle; the
 * service proxy listens on that ClusterIP:port and passes the TLS bytes to a ready webhook pod.
 *
 * The webhook is a Deployment + Service of the fixture image version-observer/test-webhook with
 * a certificate signed by a CA made here with openssl; failurePolicy Fail, so a missing route
 * fails pod creation instead of silently skipping the mutation. The negative check: a second
 * webhook whose Service routes to no pod makes the API server refuse the pod, naming the
 * Service address it dialled.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { kubectl as kubectlRun } from '../../support/kubectl.ts';
import { apply, getPods, isReady, kubectl, waitFor } from '../../support/local-k8s.ts';
import { useCluster } from './cluster-fixture.ts';

const HOOK_NS = 'hook-system';
// a Service port above 1024, so the proxy can listen on it without privileges
const PORT = 9443;
const local = useCluster('vo-webhook-');

/** A CA and a serving certificate for the Service's DNS names, made with the openssl CLI. */
function makeCerts(service: string, namespace: string): { ca: string; cert: string; key: string } {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: local.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=local webhook test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  ssl('req', ...ec, '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', `/CN=${service}.${namespace}.svc`);
  writeFileSync(join(local.dir, 'ext.cnf'), `subjectAltName=DNS:${service}.${namespace}.svc,DNS:${service}.${namespace}.svc.cluster.local\nextendedKeyUsage=serverAuth\n`);
  ssl('x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'tls.crt', '-days', '1', '-extfile', 'ext.cnf');
  const read = (f: string) => readFileSync(join(local.dir, f), 'utf8');
  return { ca: read('ca.crt'), cert: read('tls.crt'), key: read('tls.key') };
}


const b64 = (s: string) => Buffer.from(s).toString('base64');

const webhookConfig = (name: string, service: string, label: string, caPem: string) => `
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: { name: ${name} }
webhooks:
- name: ${name}.test.version-observer.io
  clientConfig:
    service: { namespace: ${HOOK_NS}, name: ${service}, port: ${PORT}, path: /mutate }
    caBundle: ${b64(caPem)}
  rules: [{ operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods] }]
  objectSelector: { matchLabels: { webhook-test: "${label}" } }
  failurePolicy: Fail
  sideEffects: None
  timeoutSeconds: 5
  admissionReviewVersions: [v1]
`;

const podYaml = (name: string, label: string) => `
apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: default, labels: { webhook-test: "${label}" } }
spec:
  containers: [{ name: app, image: example.invalid/virtual:1 }]
`;

test('the API server calls a webhook Deployment through its Service reference, over TLS', async () => {
  const { ca, cert, key } = makeCerts('hook', HOOK_NS);
  assert.match(local.cluster.serviceCIDR, /^127\.\d+\.240\.0\/20$/);
  await apply(local.cluster, `
apiVersion: v1
kind: Namespace
metadata: { name: ${HOOK_NS} }
---
apiVersion: v1
kind: Secret
metadata: { name: hook-tls, namespace: ${HOOK_NS} }
type: kubernetes.io/tls
data: { tls.crt: ${b64(cert)}, tls.key: ${b64(key)} }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: hook, namespace: ${HOOK_NS} }
spec:
  replicas: 1
  selector: { matchLabels: { app: hook } }
  template:
    metadata: { labels: { app: hook } }
    spec:
      containers:
      - name: webhook
        image: version-observer/test-webhook:1
        env:
        - { name: TLS_CERT, valueFrom: { secretKeyRef: { name: hook-tls, key: tls.crt } } }
        - { name: TLS_KEY, valueFrom: { secretKeyRef: { name: hook-tls, key: tls.key } } }
        ports: [{ name: https, containerPort: 8443 }]
        readinessProbe: { httpGet: { path: /healthz, port: https, scheme: HTTPS }, periodSeconds: 1 }
---
apiVersion: v1
kind: Service
metadata: { name: hook, namespace: ${HOOK_NS} }
spec:
  selector: { app: hook }
  ports: [{ name: https, port: ${PORT}, targetPort: https }]
---
apiVersion: v1
kind: Service
metadata: { name: nowhere, namespace: ${HOOK_NS} }
spec:
  selector: { app: no-such-pod }
  ports: [{ name: https, port: ${PORT}, targetPort: 8443 }]
`);
  const hookPod = await waitFor('webhook pod Ready', async () => (await getPods(local.cluster, HOOK_NS, 'app=hook')).find(isReady), 60_000, 200);
  const svc = JSON.parse(await kubectl(local.cluster, ['get', 'service', 'hook', '-n', HOOK_NS, '-o', 'json'])) as { spec: { clusterIP: string } };
  assert.deepEqual(await local.cluster.serviceClusterIPAddresses(HOOK_NS, 'hook'), [`${svc.spec.clusterIP}:${PORT}`]);
  await apply(local.cluster, webhookConfig('hook', 'hook', 'yes', ca) + '---' + webhookConfig('nowhere', 'nowhere', 'nowhere', ca));

  // the API server picks up a new configuration within moments: a server-side dry run (which
  // runs webhooks with sideEffects None) shows when it does
  const dryRun = async (name: string, label: string) => {
    const r = await kubectlRun(local.cluster, ['create', '--dry-run=server', '-o', 'json', '-f', '-'], podYaml(name, label));
    if (r.status !== 0) throw new Error(r.stderr.trim()); // waitFor reports the last one on timeout
    return JSON.parse(r.stdout) as V1Pod;
  };
  await waitFor('the webhook configuration in effect', async () => (await dryRun('probe', 'yes'))?.metadata?.annotations?.['webhook.test/served-by'], 30_000, 200);

  await apply(local.cluster, podYaml('mutated', 'yes') + '---' + podYaml('untouched', 'no'));
  const created = JSON.parse(await kubectl(local.cluster, ['get', 'pod', 'mutated', '-o', 'json'])) as V1Pod;
  assert.equal(created.metadata?.annotations?.['webhook.test/served-by'], hookPod.metadata!.name, 'the webhook pod behind the Service mutated the pod');
  const plain = JSON.parse(await kubectl(local.cluster, ['get', 'pod', 'untouched', '-o', 'json'])) as V1Pod;
  assert.equal(plain.metadata?.annotations?.['webhook.test/served-by'], undefined, 'the objectSelector kept the API server from calling it');

  const refused = await kubectlRun(local.cluster, ['create', '-f', '-'], podYaml('routed-nowhere', 'nowhere'));
  assert.notEqual(refused.status, 0, `a pod whose webhook Service routes nowhere must be refused: ${refused.stdout}`);
  assert.match(refused.stderr, /failed calling webhook "nowhere\.test\.version-observer\.io"/);
  assert.match(refused.stderr, new RegExp(`https://nowhere\\.${HOOK_NS}\\.svc:${PORT}/mutate`), 'the API server dialled the Service, not a URL');
});
