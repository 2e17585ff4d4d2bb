/**
 * AppState: the one shape used on every wire (controller → sidecar → browser).
 * See docs/protocol.md "AppState". Receivers ignore unknown fields but reject a state that
 * lacks a required field or has one of the wrong type.
 */

export const PHASES = ['converged', 'progressing', 'degraded'] as const;
export type Phase = (typeof PHASES)[number];

export const CHANGES = ['major', 'minor', 'patch', 'prerelease', 'rollback', 'none'] as const;
export type Change = (typeof CHANGES)[number];

export const POLICIES = ['major', 'minor', 'patch', 'any'] as const;
export type Policy = (typeof POLICIES)[number];

export interface AppState {
  /** "namespace/name" */
  app: string;
  phase: Phase;
  /** The version all serving pods run; the last converged one while progressing. null before any convergence. */
  version: string | null;
  /** The converged version before `version`; null at first. */
  previousVersion: string | null;
  change: Change;
  /** Ready, non-terminating pods by version. */
  serving: Record<string, number>;
  /** The app's policy annotation, the client's default. Optional. */
  policy?: Policy;
  /** For progressing/degraded: e.g. "Paused", "ProgressDeadlineExceeded", "InvalidVersionLabel", "MixedVersions". */
  reason: string | null;
  /** Leader term; strictly increases on every acquisition of the Lease. */
  epoch: number;
  /** Per-epoch, strictly increasing. */
  seq: number;
  /** ISO-8601 time this phase began. */
  since: string;
  /**
   * metadata.resourceVersion of the app's Deployment as the decision read it (opaque, compared
   * only for equality). Optional: omitted when the app has not exactly one Deployment, by older
   * controllers, and dropped by older sidecars. Not part of the state's identity: a change of it
   * alone makes no new state.
   */
  resourceVersion?: string;
}

export type ValidationResult = { ok: true; state: AppState } | { ok: false; error: string };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isNullableString = (v: unknown): v is string | null => v === null || typeof v === 'string';
/** Kubernetes resourceVersions are opaque strings; this bounds what a receiver keeps. */
export const MAX_RESOURCE_VERSION_LENGTH = 64;
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * Checks an untrusted value against the AppState contract. Returns a copy holding only the
 * known fields (unknown ones are dropped, so the shape can grow without breaking receivers).
 */
export function validateAppState(value: unknown): ValidationResult {
  if (!isObject(value)) return { ok: false, error: 'state must be an object' };
  const v = value;
  if (typeof v.app !== 'string' || !/^[^/\s]+\/[^/\s]+$/.test(v.app)) return fail('app', 'a "namespace/name" string');
  if (!PHASES.includes(v.phase as Phase)) return fail('phase', `one of ${PHASES.join(', ')}`);
  if (!isNullableString(v.version)) return fail('version', 'a string or null');
  if (!isNullableString(v.previousVersion)) return fail('previousVersion', 'a string or null');
  if (!CHANGES.includes(v.change as Change)) return fail('change', `one of ${CHANGES.join(', ')}`);
  if (!isObject(v.serving) || !Object.values(v.serving).every(isCount)) return fail('serving', 'an object of version → count');
  if (v.policy !== undefined && !POLICIES.includes(v.policy as Policy)) return fail('policy', `one of ${POLICIES.join(', ')}`);
  if (!isNullableString(v.reason)) return fail('reason', 'a string or null');
  if (!isCount(v.epoch)) return fail('epoch', 'a non-negative integer');
  if (!isCount(v.seq)) return fail('seq', 'a non-negative integer');
  if (typeof v.since !== 'string' || Number.isNaN(Date.parse(v.since))) return fail('since', 'an ISO-8601 time');
  const rv = v.resourceVersion;
  if (rv !== undefined && (typeof rv !== 'string' || rv === '' || rv.length > MAX_RESOURCE_VERSION_LENGTH)) {
    return fail('resourceVersion', `a non-empty string of at most ${MAX_RESOURCE_VERSION_LENGTH} characters`);
  }
  const state: AppState = {
    app: v.app,
    phase: v.phase as Phase,
    version: v.version,
    previousVersion: v.previousVersion,
    change: v.change as Change,
    serving: { ...(v.serving as Record<string, number>) },
    reason: v.reason,
    epoch: v.epoch,
    seq: v.seq,
    since: v.since,
  };
  if (v.policy !== undefined) state.policy = v.policy as Policy;
  if (rv !== undefined) state.resourceVersion = rv;
  return { ok: true, state };
}

function fail(field: string, expected: string): ValidationResult {
  return { ok: false, error: `state.${field} must be ${expected}` };
}

