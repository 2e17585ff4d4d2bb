/**
 * When a container of the process kubelet restarts, and after how long: the kubelet's restart
 * rules as pure functions (no clock, no process), so the container shell only schedules what
 * they decide and the rules are tested with plain values.
 *
 * Invariants:
 * - The container's role picks the rule. An init container reruns only after a failure and
 *   only when the pod's restartPolicy is not Never; a sidecar (an init container with its own
 *   restartPolicy Always) always restarts; a main container follows the pod's restartPolicy
 *   (Always: always; OnFailure: after a non-zero exit; anything else: never).
 * - The delay before a restart is core's backoffStep without jitter: initialMs × 2^(crashes−1),
 *   capped at maxMs. An exit after a run of at least resetAfterMs starts the count again; a start
 *   that failed before any process ran counts as a crash and never resets the count.
 */
import type { V1Container } from '@kubernetes/client-node';
import { backoffStep } from '../../core/backoff.ts';

/** init: runs to completion before the next; sidecar: init container that keeps running; main: spec.containers. */
export type ContainerRole = 'init' | 'sidecar' | 'main';

export interface RestartBackoff {
  /** first restart delay; default 1000 ms */
  initialMs: number;
  /** cap; default 60000 ms */
  maxMs: number;
  /** a run at least this long resets the backoff; default 60000 ms */
  resetAfterMs: number;
}

export function containerRole(spec: Pick<V1Container, 'restartPolicy'>, inInitList: boolean): ContainerRole {
  if (!inInitList) return 'main';
  return spec.restartPolicy === 'Always' ? 'sidecar' : 'init';
}

/** Whether a container that exited with `exitCode` is started again (the pod is not being deleted). */
export function shouldRestart(role: ContainerRole, podRestartPolicy: string, exitCode: number): boolean {
  switch (role) {
    case 'sidecar':
      return true;
    case 'init':
      return podRestartPolicy !== 'Never' && exitCode !== 0;
    case 'main':
      return podRestartPolicy === 'Always' || (podRestartPolicy === 'OnFailure' && exitCode !== 0);
  }
}

export interface NextRestart {
  /** the crash count to keep */
  crashes: number;
  delayMs: number;
}

/**
 * The next restart after `crashes` earlier ones. `ranMs` is how long the process ran before it
 * exited; undefined when the start itself failed (no process ran).
 */
export function nextRestart(crashes: number, ranMs: number | undefined, backoff: RestartBackoff): NextRestart {
  const counted = ranMs !== undefined && ranMs >= backoff.resetAfterMs ? 0 : crashes;
  const next = counted + 1;
  return { crashes: next, delayMs: backoffStep(next, { baseMs: backoff.initialMs, maxMs: backoff.maxMs, jitter: 'none' }, 0) };
}

/** The kubelet's waiting message while a crashed container waits for its restart. */
export function crashLoopMessage(o: { container: string; pod: string; namespace: string; delayMs: number; exitCode: number; outputTail: string }): string {
  const why = o.outputTail ? `; last exit code ${o.exitCode}: ${o.outputTail}` : `; last exit code ${o.exitCode}`;
  return `back-off ${Math.round(o.delayMs / 1000)}s restarting failed container=${o.container} pod=${o.pod}_${o.namespace}${why}`;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

/** The number of a signal as status reports it (0 when unknown). */
export function signalNumber(signal: NodeJS.Signals): number {
  return SIGNAL_NUMBERS[signal] ?? 0;
}

/** The exit code a shell would report: the code, or 128 + the signal number, or 1 when neither is known. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  return code ?? (signal ? 128 + signalNumber(signal) : 1);
}

export function terminatedReason(exitCode: number): 'Completed' | 'Error' {
  return exitCode === 0 ? 'Completed' : 'Error';
}
