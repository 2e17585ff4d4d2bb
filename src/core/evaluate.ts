/**
 * The rollout evaluator (docs/design-decisions.md "Rollout evaluation"): one app's pods and Deployments, plus
 * the last state the controller holds for it, → the app's next AppState (without epoch/seq, which
 * the caller adds) and whether it is a new announcement: the one "announce?" decision of the
 * controller (its count, its Event, the pusher's acknowledgement tracking all follow it).
 *
 * Invariants (property-tested in test/unit/core/evaluate.test.ts):
 * - Pure and deterministic: no I/O, no clock reads (`now` is an argument); the order of `pods`
 *   and `deployments` does not matter.
 * - Never `converged` while any serving pod has a different or invalid version, no pod serves,
 *   or any Deployment is incomplete, paused or past its progress deadline.
 * - `version` is always the last converged version (null before the first); it moves only when
 *   the phase is `converged`, and then `newVersion` is true exactly when it differs from
 *   `previous.version` (including the first convergence, with `change: "none"`).
 * - `announce` = `newVersion` and not `firstSighting`: a process that has recorded nothing for
 *   the app yet (it just started and found the app already converged) pushes the state but did
 *   not watch a rollout, so it announces nothing (no count, no Event).
 * - With a settle window, a new version is announced only once the same converged version has
 *   been observed for `settleMs`; meanwhile the phase is `progressing`, reason `Settling`.
 * - `resourceVersion` is the fence of the decision: the resourceVersion of the app's one
 *   Deployment as read (omitted with none or several). It is never part of `changed`: a
 *   Deployment write that changes nothing else (a status heartbeat) makes no new state, so the
 *   state keeps the resourceVersion of the read that decided it.
 *
 * Choices of ours (docs/design-decisions.md):
 * - Reasons, first match wins. degraded: `InvalidVersionLabel` (a serving pod), then
 *   `ProgressDeadlineExceeded`. progressing: `Paused`, `MixedVersions` (several valid versions
 *   serve), `DeploymentIncomplete`, `NoServingPods`, `Settling`.
 * - No serving pod while every Deployment is complete (e.g. scaled to zero) is `progressing`,
 *   reason `NoServingPods`: nothing is broken, nothing can be announced.
 * - `serving` counts only valid versions, by normalized version ("v1.2.3" counts as "1.2.3");
 *   serving pods with a missing/invalid label are listed in `invalidPods` instead.
 * - Completeness follows `kubectl rollout status`: observedGeneration >= generation,
 *   updatedReplicas >= spec.replicas, status.replicas <= updatedReplicas, availableReplicas >=
 *   updatedReplicas. A scale-down of an already complete Deployment therefore stays complete.
 * - `since` is kept from `previous` while phase and version are unchanged, else it is `now`.
 * - `policy`: the valid `version-observer.io/policy` values of the app's Deployments; when they
 *   disagree the most permissive one wins (so no update is hidden); omitted when none is set.
 * - While not converged, `previousVersion` and `change` stay as in `previous` (they always
 *   describe the step that led to `version`).
 */
import type { AppState, Change, Phase, Policy } from './app-state.ts';
import { canonicalJson } from './canonical-json.ts';
import { classify, parsePolicy, policyBreadth } from './change.ts';
import { parseVersion } from './version.ts';

/** The fields of a Pod the evaluator reads (the informer cache may hold just these). */
export interface PodView {
  name: string;
  namespace: string;
  /** The raw value of the version label; undefined when the label is absent. */
  versionLabel: string | undefined;
  /** condition Ready=True */
  ready: boolean;
  /** metadata.deletionTimestamp is set */
  terminating: boolean;
  /** Not read by the evaluator; carried for the pusher. */
  podIP?: string;
  /** status.phase; not read by the evaluator. */
  phase?: string;
  /**
   * The sidecar's pinned key list (its VERSION_OBSERVER_PUBLIC_KEY env, raw); undefined when the
   * spec shows no literal value. Not read by the evaluator; carried for the pusher's key choice.
   */
  trustedKeys?: string;
}

/** The fields of a Deployment the evaluator reads. */
export interface DeploymentView {
  name: string;
  namespace: string;
  /** metadata.generation */
  generation: number;
  /** status.observedGeneration (0 when absent) */
  observedGeneration: number;
  /** spec.replicas (Kubernetes defaults it to 1) */
  specReplicas: number;
  /** status.replicas (0 when absent) */
  replicas: number;
  /** status.updatedReplicas (0 when absent) */
  updatedReplicas: number;
  /** status.availableReplicas (0 when absent) */
  availableReplicas: number;
  /** spec.paused */
  paused: boolean;
  /** condition Progressing=False with reason ProgressDeadlineExceeded */
  progressDeadlineExceeded: boolean;
  /** raw `version-observer.io/policy` annotation value, if any */
  policy?: string;
  /** metadata.resourceVersion of the object read; not judged, only carried into the state as its fence. */
  resourceVersion?: string;
}

/** A converged version waiting out the settle window; the caller stores it between evaluations. */
export interface SettleCandidate {
  version: string;
  /** ms since the epoch when this version was first seen converged (continuously since). */
  sinceMs: number;
}

/** AppState without the ordering fields the caller (the leader) assigns. */
export type StateBody = Omit<AppState, 'epoch' | 'seq'>;

export interface EvaluateInput {
  /** "namespace/name" */
  app: string;
  pods: readonly PodView[];
  deployments: readonly DeploymentView[];
  /** The last state the controller holds for this app (as pushed), or null if none yet. */
  previous: AppState | StateBody | null;
  /** ms since the epoch; the only time source. */
  now: number;
  /** Settle window in ms (`--settle`); default 0 = announce at once. */
  settleMs?: number;
  /** The candidate returned by the previous evaluation of this app (only used when settleMs > 0). */
  candidate?: SettleCandidate | null;
  /**
   * The caller has recorded no state for this app yet (`previous` is null because this process
   * just started or just learned of the app, not because the app never converged): a new
   * version seen now is not announced. The controller always passes it; default false.
   */
  firstSighting?: boolean;
}

export interface InvalidPod {
  name: string;
  namespace: string;
  /** the raw label value; undefined when missing */
  label: string | undefined;
  reason: string;
}

export interface Evaluation {
  /** The next state; the caller adds epoch and seq. */
  state: StateBody;
  /** The converged version moved now (≠ previous.version): `version` is new. */
  newVersion: boolean;
  /** Announce it: `newVersion`, and not a first sighting. The one "announce?" decision. */
  announce: boolean;
  /** `state` differs from `previous` (ignoring epoch/seq and resourceVersion): the caller should push it. */
  changed: boolean;
  /** Serving pods whose version label is missing or invalid, sorted by namespace/name (Warning Events). */
  invalidPods: InvalidPod[];
  /** Pass back as `candidate` next time; non-null only while a settle window is running. */
  candidate: SettleCandidate | null;
  /** While settling: ms until the window has held (the caller requeues after it). */
  settleRemainingMs?: number;
}

export const REASONS = {
  InvalidVersionLabel: 'InvalidVersionLabel',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  Paused: 'Paused',
  MixedVersions: 'MixedVersions',
  DeploymentIncomplete: 'DeploymentIncomplete',
  NoServingPods: 'NoServingPods',
  Settling: 'Settling',
} as const;
export type Reason = (typeof REASONS)[keyof typeof REASONS];

/** A pod serves when it is Ready and not being deleted. */
export function isServing(pod: PodView): boolean {
  return pod.ready && !pod.terminating;
}

/** `kubectl rollout status` completeness (progress deadline and pause are judged separately). */
export function isDeploymentComplete(d: DeploymentView): boolean {
  return (
    d.observedGeneration >= d.generation &&
    d.updatedReplicas >= d.specReplicas &&
    d.replicas <= d.updatedReplicas &&
    d.availableReplicas >= d.updatedReplicas
  );
}

export function evaluate(input: EvaluateInput): Evaluation {
  const { app, pods, deployments, previous, now } = input;
  const settleMs = Math.max(0, input.settleMs ?? 0);

  // Serving pods by normalized version; invalid ones apart.
  const counts = new Map<string, number>();
  const invalidPods: InvalidPod[] = [];
  for (const pod of pods) {
    if (!isServing(pod)) continue;
    const parsed = parseVersion(pod.versionLabel);
    if (parsed.ok) {
      counts.set(parsed.version.text, (counts.get(parsed.version.text) ?? 0) + 1);
    } else {
      invalidPods.push({ name: pod.name, namespace: pod.namespace, label: pod.versionLabel, reason: parsed.reason });
    }
  }
  invalidPods.sort((a, b) => cmpStr(a.namespace, b.namespace) || cmpStr(a.name, b.name));
  const serving: Record<string, number> = {};
  for (const v of [...counts.keys()].sort(cmpStr)) serving[v] = counts.get(v) as number;

  const policy = appPolicy(deployments);
  const lastVersion = previous?.version ?? null;

  let phase: Phase;
  let reason: Reason | null = null;
  if (invalidPods.length > 0) {
    phase = 'degraded';
    reason = REASONS.InvalidVersionLabel;
  } else if (deployments.some((d) => d.progressDeadlineExceeded)) {
    phase = 'degraded';
    reason = REASONS.ProgressDeadlineExceeded;
  } else if (deployments.some((d) => d.paused)) {
    phase = 'progressing';
    reason = REASONS.Paused;
  } else if (counts.size > 1) {
    phase = 'progressing';
    reason = REASONS.MixedVersions;
  } else if (!deployments.every(isDeploymentComplete)) {
    phase = 'progressing';
    reason = REASONS.DeploymentIncomplete;
  } else if (counts.size === 0) {
    phase = 'progressing';
    reason = REASONS.NoServingPods;
  } else {
    phase = 'converged';
  }

  let version = lastVersion;
  let previousVersion = previous?.previousVersion ?? null;
  let change: Change = previous?.change ?? 'none';
  let newVersion = false;
  let candidate: SettleCandidate | null = null;
  let settleRemainingMs: number | undefined;

  if (phase === 'converged') {
    const converged = counts.keys().next().value as string;
    if (converged !== lastVersion) {
      const since = settleMs > 0 && input.candidate?.version === converged ? Math.min(input.candidate.sinceMs, now) : now;
      const remaining = settleMs - (now - since);
      if (remaining > 0) {
        phase = 'progressing';
        reason = REASONS.Settling;
        candidate = { version: converged, sinceMs: since };
        settleRemainingMs = remaining;
      } else {
        previousVersion = lastVersion;
        version = converged;
        change = classify(lastVersion, converged);
        newVersion = true;
      }
    }
  }

  const keepSince = previous !== null && previous.phase === phase && previous.version === version;
  const state: StateBody = {
    app,
    phase,
    version,
    previousVersion,
    change,
    serving,
    reason,
    since: keepSince ? previous.since : new Date(now).toISOString(),
  };
  if (policy !== null) state.policy = policy;
  const fence = deployments.length === 1 ? deployments[0]!.resourceVersion : undefined;
  if (fence !== undefined && fence !== '') state.resourceVersion = fence;

  const changed = previous === null || canonicalJson(decisionOf(previous)) !== canonicalJson(decisionOf(state));
  const announce = newVersion && input.firstSighting !== true;
  const result: Evaluation = { state, newVersion, announce, changed, invalidPods, candidate };
  if (settleRemainingMs !== undefined) result.settleRemainingMs = settleRemainingMs;
  return result;
}

/** The state without epoch/seq (and without unknown fields). */
export function bodyOf(s: AppState | StateBody): StateBody {
  const body: StateBody = {
    app: s.app,
    phase: s.phase,
    version: s.version,
    previousVersion: s.previousVersion,
    change: s.change,
    serving: s.serving,
    reason: s.reason,
    since: s.since,
  };
  if (s.policy !== undefined) body.policy = s.policy;
  if (s.resourceVersion !== undefined) body.resourceVersion = s.resourceVersion;
  return body;
}

/** What makes a state new: its body without the resourceVersion fence. */
function decisionOf(s: AppState | StateBody): StateBody {
  const body = bodyOf(s);
  delete body.resourceVersion;
  return body;
}

function appPolicy(deployments: readonly DeploymentView[]): Policy | null {
  let best: Policy | null = null;
  for (const d of deployments) {
    const p = parsePolicy(d.policy);
    if (p !== null && (best === null || policyBreadth(p) > policyBreadth(best))) best = p;
  }
  return best;
}


function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
