/**
 * The injection decision and its JSONPatch: a pod (as the API server sends it in an
 * AdmissionReview) in, the RFC 6902 operations that add the native sidecar out. The webhook's
 * HTTP layer only decodes, calls `planInjection`, and encodes.
 *
 * Invariants:
 * - Never refuses a pod: every outcome is `allowed`; problems become admission warnings (kubectl
 *   prints them) and an outcome the caller counts. A deploy is never blocked by us.
 * - Idempotent: a pod that already has a container or init container named
 *   SIDECAR_CONTAINER_NAME gets no patch (reinvocation, a pod created with the block by hand).
 *   Applying the patch and planning again yields `already_injected`.
 * - Opt-out: the annotation `version-observer.io/inject: "false"` wins over every opt-in.
 * - Resource overrides by annotation are parsed, bounded and checked (request ≤ limit); a bad one
 *   is ignored with a warning naming it, and the default takes its place (one bad value never
 *   costs the pod its sidecar nor its creation).
 * - A pod without the app label is not injected (the sidecar could not know its app) and is
 *   warned; a missing or invalid version label is injected and warned.
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { APP_LABEL, DEFAULT_VERSION_LABEL } from './labels.ts';
import { defaultSidecarResources, sidecarContainer, SIDECAR_CONTAINER_NAME, type SidecarResources } from './sidecar-container.ts';
import { parseVersion } from './version.ts';

/** Pod annotation `"false"`: never inject this pod, whatever selected it. */
export const INJECT_OPT_OUT_ANNOTATION = 'version-observer.io/inject';
/** Set on every injected pod: the injector's mark (what was injected, for humans and reports). */
export const INJECTED_ANNOTATION = 'version-observer.io/injected';
/** Per-pod resource overrides (docs/install.md "Overrides"). */
export const CPU_REQUEST_ANNOTATION = 'version-observer.io/sidecar-cpu-request';
export const MEMORY_REQUEST_ANNOTATION = 'version-observer.io/sidecar-memory-request';
export const MEMORY_LIMIT_ANNOTATION = 'version-observer.io/sidecar-memory-limit';

const MI = 1024 * 1024;
/** Bounds of the overrides: below the floor the sidecar cannot run, above the ceiling is a typo. */
export const OVERRIDE_BOUNDS = {
  cpuRequestMillis: { min: 1, max: 2000 },
  memoryRequestBytes: { min: 32 * MI, max: 1024 * MI },
  memoryLimitBytes: { min: 64 * MI, max: 2048 * MI },
} as const;

export interface InjectionSettings {
  image: string;
  publicKeys: readonly string[];
  installation: string;
  versionLabel?: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
}

export type JsonPatchOp = { op: 'add' | 'replace'; path: string; value: unknown };

export type InjectionOutcome = 'injected' | 'already_injected' | 'opted_out' | 'no_app_label';

export interface InjectionPlan {
  outcome: InjectionOutcome;
  /** Empty unless `injected`. */
  patch: JsonPatchOp[];
  /** Admission warnings, each one line (the API server shows them to the client). */
  warnings: string[];
  /** Why the version label is unusable, when it is (counted apart). */
  versionProblem: string | null;
  /** Override annotations that were ignored (counted apart). */
  rejectedOverrides: string[];
}

/** RFC 6901: "~" → "~0", "/" → "~1". */
export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

const BINARY: Record<string, number> = { Ki: 1024, Mi: MI, Gi: 1024 * MI };
const DECIMAL: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9 };

/** A memory quantity in bytes (Ki/Mi/Gi, k/M/G or plain), or null when it is not one. */
export function parseMemoryQuantity(text: string): number | null {
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(text.trim());
  if (!m) return null;
  const unit = m[2] ?? '';
  const factor = BINARY[unit] ?? DECIMAL[unit];
  if (factor === undefined) return null;
  return Math.round(Number(m[1]) * factor);
}

/** A CPU quantity in millicores ("250m", "0.5", "1"), or null when it is not one. */
export function parseCpuQuantity(text: string): number | null {
  const m = /^([0-9]+(?:\.[0-9]+)?)(m)?$/.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]);
  return m[2] ? (Number.isInteger(n) ? n : null) : Math.round(n * 1000);
}

function fmtMi(bytes: number): string {
  return `${Math.round(bytes / MI)}Mi`;
}

/** The sidecar's resources after the pod's overrides, and the warnings for those ignored. */
export function resourcesFor(annotations: Record<string, string>): { resources: SidecarResources; warnings: string[]; rejected: string[] } {
  const resources = defaultSidecarResources();
  const warnings: string[] = [];
  const rejected: string[] = [];
  const reject = (key: string, why: string) => {
    rejected.push(key);
    warnings.push(`version-observer: annotation ${key}=${JSON.stringify(annotations[key])} ignored (${why}); the default is used`);
  };
  const cpu = annotations[CPU_REQUEST_ANNOTATION];
  if (cpu !== undefined) {
    const millis = parseCpuQuantity(cpu);
    const b = OVERRIDE_BOUNDS.cpuRequestMillis;
    if (millis === null) reject(CPU_REQUEST_ANNOTATION, 'not a CPU quantity like 10m or 0.5');
    else if (millis < b.min || millis > b.max) reject(CPU_REQUEST_ANNOTATION, `outside ${b.min}m..${b.max}m`);
    else resources.cpuRequest = `${millis}m`;
  }
  const memory = (key: string, b: { min: number; max: number }): number | null => {
    const text = annotations[key];
    if (text === undefined) return null;
    const bytes = parseMemoryQuantity(text);
    if (bytes === null) reject(key, 'not a memory quantity like 96Mi');
    else if (bytes < b.min || bytes > b.max) reject(key, `outside ${fmtMi(b.min)}..${fmtMi(b.max)}`);
    else return bytes;
    return null;
  };
  const request = memory(MEMORY_REQUEST_ANNOTATION, OVERRIDE_BOUNDS.memoryRequestBytes);
  const limit = memory(MEMORY_LIMIT_ANNOTATION, OVERRIDE_BOUNDS.memoryLimitBytes);
  const requestBytes = request ?? (parseMemoryQuantity(resources.memoryRequest) as number);
  const limitBytes = limit ?? (parseMemoryQuantity(resources.memoryLimit) as number);
  if (requestBytes > limitBytes) {
    // keep the pair valid: the API server would refuse request > limit, which would block the pod
    if (request !== null) reject(MEMORY_REQUEST_ANNOTATION, `above the memory limit ${fmtMi(limitBytes)}`);
    else reject(MEMORY_LIMIT_ANNOTATION, `below the memory request ${fmtMi(requestBytes)}`);
  } else {
    if (request !== null) resources.memoryRequest = annotations[MEMORY_REQUEST_ANNOTATION]!.trim();
    if (limit !== null) resources.memoryLimit = annotations[MEMORY_LIMIT_ANNOTATION]!.trim();
  }
  return { resources, warnings, rejected };
}

function hasSidecar(pod: V1Pod): boolean {
  const named = (cs: V1Container[] | undefined) => (cs ?? []).some((c) => c.name === SIDECAR_CONTAINER_NAME);
  return named(pod.spec?.containers) || named(pod.spec?.initContainers);
}

/** Decides and builds the patch for one pod. Pure; the same pod and settings give the same plan. */
export function planInjection(pod: V1Pod, settings: InjectionSettings): InjectionPlan {
  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};
  const versionLabel = settings.versionLabel ?? DEFAULT_VERSION_LABEL;
  const none = (outcome: InjectionOutcome, warnings: string[] = []): InjectionPlan => ({ outcome, patch: [], warnings, versionProblem: null, rejectedOverrides: [] });

  if (annotations[INJECT_OPT_OUT_ANNOTATION] === 'false') return none('opted_out');
  if (hasSidecar(pod)) return none('already_injected');
  if (!labels[APP_LABEL]) {
    return none('no_app_label', [`version-observer: pod has no ${APP_LABEL} label, so the sidecar was not injected; add ${APP_LABEL}: <app name> to the pod template`]);
  }

  const warnings: string[] = [];
  const version = parseVersion(labels[versionLabel]);
  const versionProblem = version.ok ? null : version.reason;
  if (versionProblem !== null) {
    warnings.push(`version-observer: ${versionLabel}: ${versionProblem}; the sidecar is injected but this pod's version will not be announced`);
  }
  const overrides = resourcesFor(annotations);
  warnings.push(...overrides.warnings);

  const container = sidecarContainer({
    image: settings.image,
    publicKeys: settings.publicKeys,
    installation: settings.installation,
    versionLabel,
    resources: overrides.resources,
    imagePullPolicy: settings.imagePullPolicy,
  });
  const patch: JsonPatchOp[] = [];
  // First among the init containers, so later init containers already have it (as Istio does).
  if (pod.spec?.initContainers && pod.spec.initContainers.length > 0) patch.push({ op: 'add', path: '/spec/initContainers/0', value: container });
  else patch.push({ op: 'add', path: '/spec/initContainers', value: [container] });
  if (!pod.metadata?.annotations) patch.push({ op: 'add', path: '/metadata/annotations', value: {} });
  patch.push({ op: 'add', path: `/metadata/annotations/${escapePointer(INJECTED_ANNOTATION)}`, value: settings.image });
  return { outcome: 'injected', patch, warnings, versionProblem, rejectedOverrides: overrides.rejected };
}
