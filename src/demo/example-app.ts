/**
 * The example SPA as an app team would deploy it: a Deployment whose pod template carries the
 * two documented labels and the sidecar container (the snippet from the chart's NOTES), plus a
 * Service. Used by the demo, the end-to-end tests and the benchmarks.
 */
import type { V1Deployment, V1Service, V1Container } from '@kubernetes/client-node';
import { SIDECAR_NODE_OPTIONS } from '../sidecar/config.ts';
import { APP_LABEL, DEFAULT_VERSION_LABEL as VERSION_LABEL, POLICY_ANNOTATION } from '../core/labels.ts';

export { VERSION_LABEL };

export const IMAGE = 'ghcr.io/version-observer/version-observer:0.1.0';
export const EXAMPLE_IMAGE = 'version-observer/example-spa';

export interface ExampleAppOptions {
  namespace: string;
  name: string;
  version: string;
  replicas?: number;
  /** Pinned controller public key(s), base64 raw Ed25519 (VERSION_OBSERVER_PUBLIC_KEY). */
  publicKey?: string;
  /** The installation id pushes are signed for (VERSION_OBSERVER_INSTALLATION). */
  installation?: string;
  policy?: 'major' | 'minor' | 'patch' | 'any';
  progressDeadlineSeconds?: number;
  /** App container image; default the example SPA. */
  image?: string;
}

/** The sidecar container exactly as docs/install.md tells app teams to add it. */
export function sidecarContainer(opts: { publicKey?: string; installation?: string } = {}): V1Container {
  const env: V1Container['env'] = [
    { name: 'VERSION_OBSERVER_APP', valueFrom: { fieldRef: { fieldPath: `metadata.labels['${APP_LABEL}']` } } },
    { name: 'VERSION_OBSERVER_POD_VERSION', valueFrom: { fieldRef: { fieldPath: `metadata.labels['${VERSION_LABEL}']` } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'VERSION_OBSERVER_LISTEN_HOST', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: 'NODE_OPTIONS', value: SIDECAR_NODE_OPTIONS },
  ];
  if (opts.publicKey) env.push({ name: 'VERSION_OBSERVER_PUBLIC_KEY', value: opts.publicKey });
  if (opts.installation) env.push({ name: 'VERSION_OBSERVER_INSTALLATION', value: opts.installation });
  return {
    name: 'version-observer',
    image: IMAGE,
    args: ['sidecar'],
    env,
    ports: [
      { name: 'vo-public', containerPort: 8787 },
      { name: 'vo-admin', containerPort: 8788 },
    ],
    readinessProbe: { httpGet: { path: '/readyz', port: 8788 }, periodSeconds: 1, failureThreshold: 1 },
    resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65532,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}

export function exampleAppObjects(o: ExampleAppOptions): [V1Deployment, V1Service] {
  const labels = { app: o.name, [APP_LABEL]: o.name };
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: o.name,
      namespace: o.namespace,
      labels,
      annotations: o.policy ? { [POLICY_ANNOTATION]: o.policy } : {},
    },
    spec: {
      replicas: o.replicas ?? 3,
      selector: { matchLabels: { app: o.name } },
      progressDeadlineSeconds: o.progressDeadlineSeconds ?? 600,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { ...labels, [VERSION_LABEL]: o.version } },
        spec: {
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: 'app',
              image: `${o.image ?? EXAMPLE_IMAGE}:${o.version}`,
              env: [
                { name: 'APP_VERSION', valueFrom: { fieldRef: { fieldPath: `metadata.labels['${VERSION_LABEL}']` } } },
                { name: 'PORT', value: '8080' },
              ],
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1, failureThreshold: 1 },
            },
            sidecarContainer({ publicKey: o.publicKey, installation: o.installation }),
          ],
        },
      },
    },
  };
  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: o.name, namespace: o.namespace, labels },
    spec: { selector: { app: o.name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
  return [deployment, service];
}
