/**
 * The labels and annotations of the contract (docs/protocol.md "Labels and annotations"):
 * the one place their keys are spelled. Controller, demo, tests and benchmarks import them.
 */

/** Pod template (and Deployment) label: opt-in; the app's name. An app is (namespace, name). */
export const APP_LABEL = 'version-observer.io/app';
/** Pod template label holding the pod's semver version (the default of `--version-label`). */
export const DEFAULT_VERSION_LABEL = 'app.kubernetes.io/version';
/** Deployment annotation: the smallest change announced as an update (major|minor|patch|any). */
export const POLICY_ANNOTATION = 'version-observer.io/policy';
/** Pod template label `"true"`: the admission webhook injects the sidecar. */
export const INJECT_LABEL = 'version-observer.io/inject';
/** Lease annotation holding the leader's epoch (written with the holder, resourceVersion-checked). */
export const EPOCH_ANNOTATION = 'version-observer.io/epoch';

/** The app key "namespace/name": computed here only. */
export function appKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
