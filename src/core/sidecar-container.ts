/**
 * The ONE description of the sidecar container: the admission webhook patches it into pods, and
 * the demo, tests and benchmarks that need it inline build it from here. docs/install.md and the
 * chart NOTES tell app teams to add labels instead of pasting this block.
 *
 * Invariants:
 * - A *native sidecar*: an init container with `restartPolicy: Always` (started before the app
 *   containers, stopped after them). It has NO readinessProbe and NO startupProbe: a native
 *   sidecar's readiness counts in the pod's Ready, and a failing startup probe would block the
 *   app's start (docs/design-decisions.md "Sidecar form"). The supervisor (`version-observer
 *   sidecar`, PID 1) keeps the container alive when the server child crashes.
 * - Its identity comes from the pod by the downward API: the app and version labels, the pod IP,
 *   the namespace. Trust comes pinned in env (keys + installation), never fetched.
 * - Pure: plain values in, a plain object out (the Kubernetes V1Container shape).
 */
import type { V1Container, V1ResourceRequirements } from '@kubernetes/client-node';
import { APP_LABEL, DEFAULT_VERSION_LABEL } from './labels.ts';
import { SIDECAR_ADMIN_PORT, SIDECAR_PUBLIC_PORT } from './ports.ts';
// The Node flags belong to the sidecar's own settings; they are read here, not copied.
import { SIDECAR_NODE_OPTIONS } from '../sidecar/config.ts';

/** The container's name: the injector's idempotence check and the controller's report look for it. */
export const SIDECAR_CONTAINER_NAME = 'version-observer';

/** Requests and limits when a pod asks for nothing else (docs/install.md "Resources"). */
export const DEFAULT_SIDECAR_RESOURCES = {
  requests: { cpu: '10m', memory: '96Mi' },
  limits: { memory: '128Mi' },
} as const;

export interface SidecarResources {
  cpuRequest: string;
  memoryRequest: string;
  memoryLimit: string;
}

export interface SidecarSpec {
  /** Full image reference (repository:tag or repository@digest). */
  image: string;
  /** Trusted public keys, base64 raw Ed25519 (VERSION_OBSERVER_PUBLIC_KEY). Empty: none pinned. */
  publicKeys?: readonly string[];
  /** The installation the states must be bound to (VERSION_OBSERVER_INSTALLATION). */
  installation?: string;
  /** Pod label holding the version; default `app.kubernetes.io/version`. */
  versionLabel?: string;
  resources?: SidecarResources;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
}

export function defaultSidecarResources(): SidecarResources {
  return {
    cpuRequest: DEFAULT_SIDECAR_RESOURCES.requests.cpu,
    memoryRequest: DEFAULT_SIDECAR_RESOURCES.requests.memory,
    memoryLimit: DEFAULT_SIDECAR_RESOURCES.limits.memory,
  };
}

function resourcesOf(r: SidecarResources): V1ResourceRequirements {
  return { requests: { cpu: r.cpuRequest, memory: r.memoryRequest }, limits: { memory: r.memoryLimit } };
}

/** The sidecar container, as an init container with restartPolicy Always. */
export function sidecarContainer(spec: SidecarSpec): V1Container {
  const versionLabel = spec.versionLabel ?? DEFAULT_VERSION_LABEL;
  const env: NonNullable<V1Container['env']> = [
    { name: 'VERSION_OBSERVER_APP', valueFrom: { fieldRef: { fieldPath: `metadata.labels['${APP_LABEL}']` } } },
    { name: 'VERSION_OBSERVER_POD_VERSION', valueFrom: { fieldRef: { fieldPath: `metadata.labels['${versionLabel}']` } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'VERSION_OBSERVER_LISTEN_HOST', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: 'NODE_OPTIONS', value: SIDECAR_NODE_OPTIONS },
  ];
  if (spec.publicKeys && spec.publicKeys.length > 0) env.push({ name: 'VERSION_OBSERVER_PUBLIC_KEY', value: spec.publicKeys.join(',') });
  if (spec.installation) env.push({ name: 'VERSION_OBSERVER_INSTALLATION', value: spec.installation });
  const container: V1Container = {
    name: SIDECAR_CONTAINER_NAME,
    image: spec.image,
    args: ['sidecar'],
    restartPolicy: 'Always',
    env,
    ports: [
      { name: 'vo-public', containerPort: SIDECAR_PUBLIC_PORT, protocol: 'TCP' },
      { name: 'vo-admin', containerPort: SIDECAR_ADMIN_PORT, protocol: 'TCP' },
    ],
    resources: resourcesOf(spec.resources ?? defaultSidecarResources()),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65532,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
  if (spec.imagePullPolicy) container.imagePullPolicy = spec.imagePullPolicy;
  return container;
}
