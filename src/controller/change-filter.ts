/**
 * Change filtering: which informer events can change an app's evaluation, so the rest cost no
 * reconcile. Pure.
 *
 * Invariants:
 * - A pod update that keeps its app and its Ready, terminating and version-label fields cannot
 *   change the evaluation (core evaluate reads nothing else of a pod), so it queues nothing. The
 *   pusher still sees it (an IP or phase change makes or ends a push target).
 * - Anything else queues every app the index reports touched (two with a relabel). Pod deletes
 *   and every Deployment event queue their apps unfiltered.
 */
import type { PodChange } from './index-by-app.ts';
import type { SlimPod } from './slim.ts';

/** The apps to reconcile after `pod` was added or updated, given what the index reported. */
export function appsToReconcile(change: PodChange, pod: SlimPod): string[] {
  const before = change.before;
  const unchanged =
    change.apps.length === 1 &&
    before !== undefined &&
    before.app === pod.app &&
    before.view.ready === pod.view.ready &&
    before.view.terminating === pod.view.terminating &&
    before.view.versionLabel === pod.view.versionLabel;
  return unchanged ? [] : change.apps;
}
