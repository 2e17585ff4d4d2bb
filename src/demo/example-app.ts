/**
 * The example SPA as an app team would deploy it: a Deployment whose pod template carries the
 * documented labels (app, version, inject) and nothing else of ours — the chart's webhook adds
 * the sidecar — plus a Service. Used by the demo, the end-to-end tests and the benchmarks; the
 * `inline` form carries the sidecar block itself, for clusters without the webhook.
 */
import type { V1Deployment, V1Service, V1Container } from '@kubernetes/client-node';
import { APP_LABEL, DEFAULT_VERSION_LABEL as VERSION_LABEL, INJECT_LABEL, POLICY_ANNOTATION } from '../core/labels.ts';
import { sidecarContainer as coreSidecarContainer } from '../core/sidecar-container.ts';
import { parseKeyList } from '../core/trust.ts';

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
  /**
   * `labels` (what app teams do): only the labels, the chart's webhook injects the sidecar.
   * `inline`: the sidecar block in the template, for clusters without the webhook. Default inline.
   */
  sidecar?: 'labels' | 'inline';
}

/**
 * The sidecar inline, for setups without the webhook (tests of the sidecar itself, benchmarks
 * that compare with and without it): the one block from src/core/sidecar-container.ts with the
 * demo's image. The example app itself gets it by label (injected by the chart's webhook).
 */
export function sidecarContainer(opts: { publicKey?: string; installation?: string } = {}): V1Container {
  return coreSidecarContainer({ image: IMAGE, publicKeys: parseKeyList(opts.publicKey), installation: opts.installation });
}

export function exampleAppObjects(o: ExampleAppOptions): [V1Deployment, V1Service] {
  const labels = { app: o.name, [APP_LABEL]: o.name };
  const byLabel = o.sidecar === 'labels';
  const templateLabels = { ...labels, [VERSION_LABEL]: o.version, ...(byLabel ? { [INJECT_LABEL]: 'true' } : {}) };
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
        metadata: { labels: templateLabels },
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
          ],
          ...(byLabel ? {} : { initContainers: [sidecarContainer({ publicKey: o.publicKey, installation: o.installation })] }),
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
