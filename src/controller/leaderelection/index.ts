/**
 * Leader election on a coordination.k8s.io/v1 Lease with client-go semantics: the lock
 * (lease-lock.ts) is apart from the loop (elector.ts); decisions are src/core/election.ts.
 *
 *   const elector = createElector({ kubeConfig, namespace, name, identity, log }, {
 *     onStartedLeading(leading, epoch) { startPushing(leading, epoch); },
 *     onStoppedLeading() { ... },
 *   });
 *   process.once('SIGTERM', () => void elector.release());
 *   await elector.run(signal);
 */
export { createElector } from './elector.ts';
export type { Elector } from './elector.ts';
export type { Callbacks, ElectorConfig } from './config.ts';
export { LeaderElectionHealthz } from './healthz.ts';
export type { HealthCheck } from './healthz.ts';
