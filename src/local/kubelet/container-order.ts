/**
 * In what order the containers of one pod start and stop, as the kubelet orders them with
 * native sidecars (KEP-753: an init container with restartPolicy Always). Pure: plain values
 * in, decisions out; the pod worker only carries them out.
 *
 * Invariants:
 * - Start: init containers run one at a time in declaration order. A regular init container
 *   lets the next one start once it has exited 0; a sidecar once it has *started* (running and
 *   its startup probe, if any, passed), and it keeps running. Virtual containers (no process)
 *   are passed over. The app containers start when every init container has been passed.
 * - Stop: app containers and regular init containers are stopped at once; each sidecar waits
 *   until every app container and every sidecar declared after it have exited (so sidecars stop
 *   in reverse declaration order, last), and then gets what is left of the pod's grace period,
 *   never less than the kubelet's minimum of 2 s (nor more than the whole grace period).
 */
import type { ContainerRole } from './restart-policy.ts';

export interface InitSlotState {
  role: ContainerRole;
  /** no process behind it: counts as passed at once */
  virtual: boolean;
  /** its process has been started once */
  launched: boolean;
  /** running, and its startup probe (if any) has passed */
  started: boolean;
  /** exited 0 and will not run again */
  succeeded: boolean;
}

/** launch: start init container `index` now; wait: `index` is running (or restarting); done: start the app containers. */
export type InitStep = { kind: 'launch'; index: number } | { kind: 'wait'; index: number } | { kind: 'done'; index: number };

/** The next thing to do for the init containers, scanning from `from` (the first one not yet passed). */
export function nextInitStep(slots: readonly InitSlotState[], from: number): InitStep {
  for (let index = from; index < slots.length; index++) {
    const slot = slots[index]!;
    if (slot.virtual) continue;
    if (!slot.launched) return { kind: 'launch', index };
    const passed = slot.role === 'sidecar' ? slot.started : slot.succeeded;
    if (!passed) return { kind: 'wait', index };
  }
  return { kind: 'done', index: slots.length };
}

/**
 * Which containers each container waits for before it is sent SIGTERM on pod termination, by
 * name. Containers with no entry stop at once.
 */
export function stopPrerequisites(init: ReadonlyArray<{ name: string; role: ContainerRole }>, main: readonly string[]): Map<string, string[]> {
  const waits = new Map<string, string[]>();
  let laterSidecar: string | undefined;
  for (let i = init.length - 1; i >= 0; i--) {
    const c = init[i]!;
    if (c.role !== 'sidecar') continue;
    waits.set(c.name, laterSidecar === undefined ? [...main] : [...main, laterSidecar]);
    laterSidecar = c.name;
  }
  return waits;
}

/** The kubelet never gives a container less than this to shut down (kuberuntime minimumGracePeriodInSeconds). */
export const MIN_GRACE_MS = 2000;

/** The grace a container gets after it waited `waitedMs` for its turn out of the pod's `graceMs`. */
export function graceAfterWait(graceMs: number, waitedMs: number): number {
  return Math.max(graceMs - waitedMs, Math.min(MIN_GRACE_MS, graceMs));
}
