/**
 * What the informer caches keep of a Pod or a Deployment: only the fields the evaluator, the
 * pusher (its IP, phase and the sidecar's pinned keys) and the Event recorder read. managedFields, container specs, volumes, most of
 * status… are dropped at the edge, before an object reaches the cache, so the cache's memory is
 * O(objects × a few fields).
 *
 * Input may be a typed object from a list call (timestamps as Date) or raw JSON from a watch
 * (timestamps as RFC 3339 strings); the output is the same either way (only the presence of
 * deletionTimestamp is read). Pure, but for one bounded table that shares equal pinned-key strings
 * between pods (memory only: the output is the same with or without it).
 */
import type { DeploymentView, PodView } from '../core/evaluate.ts';
import { APP_LABEL, POLICY_ANNOTATION, appKey } from '../core/labels.ts';
import { PUBLIC_KEY_ENV } from '../core/trust.ts';

/** A cached object's identity: enough for client-node's ListWatch store (namespace/name/resourceVersion). */
export interface SlimMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
}

export interface SlimPod {
  metadata: SlimMeta;
  /** Value of the app label (core APP_LABEL; '' when absent). */
  app: string;
  view: PodView;
}

export interface SlimDeployment {
  metadata: SlimMeta;
  app: string;
  view: DeploymentView;
}

/** Readers of untrusted JSON: a missing or mistyped field reads as empty. */
type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null ? (v as Obj) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown, d = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);

function meta(metadata: Obj): SlimMeta {
  return { name: str(metadata.name), namespace: str(metadata.namespace), uid: str(metadata.uid), resourceVersion: str(metadata.resourceVersion) };
}

export function slimPod(raw: unknown, versionLabel: string): SlimPod {
  const object = obj(raw);
  const metadata = obj(object.metadata);
  const labels = obj(metadata.labels);
  const status = obj(object.status);
  const conditions = Array.isArray(status.conditions) ? (status.conditions as unknown[]) : [];
  const readyCond = conditions.map(obj).find((c) => c.type === 'Ready');
  const ready = readyCond?.status === 'True';
  const label = labels[versionLabel];
  const view: PodView = {
    name: str(metadata.name),
    namespace: str(metadata.namespace),
    versionLabel: typeof label === 'string' ? label : undefined,
    ready,
    terminating: metadata.deletionTimestamp !== undefined && metadata.deletionTimestamp !== null,
  };
  const ip = str(status.podIP);
  if (ip) view.podIP = ip;
  const phase = str(status.phase);
  if (phase) view.phase = phase;
  const trusted = pinnedKeys(obj(object.spec));
  if (trusted !== undefined) view.trustedKeys = trusted;
  return { metadata: meta(metadata), app: str(labels[APP_LABEL]), view };
}

/** Distinct pinned-key values kept as one string each (pods of one Deployment share it); beyond this the table starts over. */
const INTERNED_MAX = 256;
const interned = new Map<string, string>();

function intern(value: string): string {
  const known = interned.get(value);
  if (known !== undefined) return known;
  if (interned.size >= INTERNED_MAX) interned.clear();
  interned.set(value, value);
  return value;
}

/**
 * The literal value of the sidecar's key env in the pod spec (a native sidecar is an init
 * container, a classic one a container); undefined when no container sets it literally. Only
 * this one string is kept of the whole spec.
 */
function pinnedKeys(spec: Obj): string | undefined {
  for (const list of [spec.initContainers, spec.containers]) {
    if (!Array.isArray(list)) continue;
    for (const container of list) {
      const env = obj(container).env;
      if (!Array.isArray(env)) continue;
      for (const e of env) {
        const entry = obj(e);
        if (entry.name === PUBLIC_KEY_ENV && typeof entry.value === 'string') return intern(entry.value);
      }
    }
  }
  return undefined;
}

export function slimDeployment(raw: unknown): SlimDeployment {
  const object = obj(raw);
  const metadata = obj(object.metadata);
  const labels = obj(metadata.labels);
  const annotations = obj(metadata.annotations);
  const spec = obj(object.spec);
  const status = obj(object.status);
  const conditions = Array.isArray(status.conditions) ? (status.conditions as unknown[]).map(obj) : [];
  const progressing = conditions.find((c) => c.type === 'Progressing');
  const view: DeploymentView = {
    name: str(metadata.name),
    namespace: str(metadata.namespace),
    generation: num(metadata.generation),
    observedGeneration: num(status.observedGeneration),
    specReplicas: num(spec.replicas, 1),
    replicas: num(status.replicas),
    updatedReplicas: num(status.updatedReplicas),
    availableReplicas: num(status.availableReplicas),
    paused: spec.paused === true,
    progressDeadlineExceeded: progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded',
  };
  const policy = annotations[POLICY_ANNOTATION];
  if (typeof policy === 'string') view.policy = policy;
  return { metadata: meta(metadata), app: str(labels[APP_LABEL]), view };
}

/** The app key (core `appKey`) of the app an object belongs to, or null when it has no app label. */
export function appKeyOf(object: { metadata: SlimMeta; app: string }): string | null {
  return object.app ? appKey(object.metadata.namespace, object.app) : null;
}

