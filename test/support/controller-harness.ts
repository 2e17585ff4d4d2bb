/**
 * Shared by the controller integration tests and benchmarks: a real local cluster with the
 * test-receiver image, the chart's ServiceAccount + RBAC applied (rendered by helm from
 * charts/version-observer, applied by the system kubectl), a kubeconfig holding only that
 * ServiceAccount's token, the controller spawned as a real process (`node src/cli/main.ts
 * controller` with the chart's own args) under that token — so every controller test also
 * proves the chart's RBAC suffices.
 *
 * This module only gathers the pieces, one concern per module under test/support/controller/:
 * chart.ts (rendering), rbac.ts, kubeconfig.ts, process.ts (the controller process), fixtures.ts
 * (objects and receipts), env.ts (putting them together); and the shared helpers kubectl.ts,
 * wait.ts, metrics-text.ts.
 */
export { RELEASE, SYSTEM_NS } from './controller/chart.ts';
export { startEnv, type Env } from './controller/env.ts';
export {
  announcements, createNamespace, deployment, podsOf, receivedBy, setVersion, type DeploymentSpec,
} from './controller/fixtures.ts';
export {
  SHORT_LEASE, installationOf, isLeader, observe, publicKeyOf, spawnController, waitReadyz, type ControllerProc,
} from './controller/process.ts';
export { KUBECTL, kubectl } from './kubectl.ts';
export { metric } from './metrics-text.ts';
export { repoRoot } from './repo-root.ts';
export { sleep, waitFor } from './wait.ts';
