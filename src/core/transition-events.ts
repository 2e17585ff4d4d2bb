/**
 * The wording of the Kubernetes Events the controller records about apps, pure: which Event (if
 * any) a state transition deserves and its text. The controller records them (leader only) on
 * the app's Deployments, or on the pod for an invalid version label; src/controller/events.ts
 * does the dedup and rate limiting.
 *
 * Invariants:
 * - An announcement (core evaluate's `announce`) is exactly one Normal `VersionConverged`.
 * - Otherwise an Event is due only when the app enters a non-converged phase or its reason
 *   changes: `RolloutDegraded` (Warning) or `RolloutProgressing` (Normal). Converging on a
 *   version already announced, and steady states, say nothing.
 * - Texts are stable: dedup keys on (object, reason, note), and readers grep them.
 */
import type { AppState } from './app-state.ts';
import type { InvalidPod, StateBody } from './evaluate.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventWording {
  type: EventType;
  reason: 'VersionConverged' | 'RolloutDegraded' | 'RolloutProgressing' | 'InvalidVersionLabel';
  note: string;
  action: 'Announce' | 'Evaluate';
}

/** The Event for the move from `previous` (null: none recorded) to `state`, or null for none. */
export function transitionEvent(previous: Pick<AppState, 'phase' | 'reason'> | null, state: StateBody, announce: boolean): EventWording | null {
  if (announce) {
    const step = state.previousVersion === null ? '' : ` (${state.change} from ${state.previousVersion})`;
    return { type: 'Normal', reason: 'VersionConverged', note: `${state.app} converged on ${state.version}${step}; announced to its pods`, action: 'Announce' };
  }
  if (state.phase === 'converged') return null;
  if (previous !== null && previous.phase === state.phase && previous.reason === state.reason) return null;
  const versions = Object.keys(state.serving).join(', ') || 'none';
  return state.phase === 'degraded'
    ? { type: 'Warning', reason: 'RolloutDegraded', note: `${state.app} is degraded: ${state.reason}; serving ${versions}; nothing is announced until it converges`, action: 'Evaluate' }
    : { type: 'Normal', reason: 'RolloutProgressing', note: `${state.app} is rolling out (${state.reason}); serving ${versions}`, action: 'Evaluate' };
}

/** The Warning on a serving pod whose version label (`versionLabel`) is missing or invalid. */
export function invalidVersionLabelEvent(app: string, versionLabel: string, pod: Pick<InvalidPod, 'reason'>): EventWording {
  return { type: 'Warning', reason: 'InvalidVersionLabel', note: `label ${versionLabel}: ${pod.reason}; app ${app} is degraded and nothing is announced`, action: 'Evaluate' };
}
