/**
 * Reports pods that opted in to injection but run without the sidecar (created while the webhook
 * was unreachable: failurePolicy Ignore admitted them as they were). A periodic sweep lists the
 * pods labelled `version-observer.io/inject=true`, counts those without the sidecar container
 * (gauge on every replica) and, as leader, records a Warning Event `SidecarMissing` on their
 * Deployment, naming the fix (`kubectl rollout restart`).
 *
 * Invariants:
 * - A pod is judged only once it is scheduled and not terminating (a pod being created may not
 *   have been admitted yet in the sense that matters).
 * - The Deployment is found from the pod's ReplicaSet owner (the ReplicaSet is named
 *   <deployment>-<pod-template-hash>), then read for its uid; a pod not owned by a Deployment
 *   only counts in the gauge.
 * - Events go through the controller's EventRecorder, so repeats within its window are
 *   deduplicated and rate-limited like every other Event.
 */
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { INJECT_LABEL } from '../../core/labels.ts';
import { INJECT_OPT_OUT_ANNOTATION } from '../../core/injection-patch.ts';
import { SIDECAR_CONTAINER_NAME } from '../../core/sidecar-container.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Logger } from '../../platform/logger.ts';
import type { EventRecorder } from '../events.ts';
import type { ControllerMetrics } from '../metrics.ts';

export interface MissingSidecarOptions {
  kubeConfig: KubeConfig;
  /** Namespaces to sweep; empty = all. */
  namespaces: readonly string[];
  everyMs: number;
  clock: Clock;
  log: Logger;
  metrics: Pick<ControllerMetrics, 'podsMissingSidecar'>;
  events: EventRecorder;
  leading(): boolean;
}

/** Pods of `pods` that asked for the sidecar and run without it, grouped by Deployment name. Pure. */
export function podsMissingSidecar(pods: readonly V1Pod[]): { count: number; byDeployment: Map<string, string[]> } {
  const byDeployment = new Map<string, string[]>();
  let count = 0;
  for (const pod of pods) {
    if (pod.metadata?.labels?.[INJECT_LABEL] !== 'true') continue;
    if (pod.metadata?.annotations?.[INJECT_OPT_OUT_ANNOTATION] === 'false') continue;
    if (pod.metadata?.deletionTimestamp || !pod.spec?.nodeName) continue;
    const names = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => c.name);
    if (names.includes(SIDECAR_CONTAINER_NAME)) continue;
    count++;
    const rs = pod.metadata?.ownerReferences?.find((o) => o.kind === 'ReplicaSet' && o.controller);
    const hash = pod.metadata?.labels?.['pod-template-hash'];
    if (!rs || !hash || !rs.name.endsWith(`-${hash}`)) continue;
    const key = `${pod.metadata?.namespace}/${rs.name.slice(0, -hash.length - 1)}`;
    byDeployment.set(key, [...(byDeployment.get(key) ?? []), pod.metadata!.name!]);
  }
  return { count, byDeployment };
}

export class MissingSidecarReporter {
  readonly #o: MissingSidecarOptions;
  readonly #core: CoreV1Api;
  readonly #apps: AppsV1Api;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: MissingSidecarOptions) {
    this.#o = options;
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#apps = options.kubeConfig.makeApiClient(AppsV1Api);
  }

  start(): void {
    this.#loop = (async () => {
      while (!this.#stop.signal.aborted) {
        try {
          await this.sweep();
        } catch (err) {
          this.#o.log.warn({ err: (err as Error).message }, 'missing-sidecar sweep failed');
        }
        await this.#o.clock.sleep(this.#o.everyMs, this.#stop.signal);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  async sweep(): Promise<number> {
    const labelSelector = `${INJECT_LABEL}=true`;
    const lists = this.#o.namespaces.length === 0
      ? [await this.#core.listPodForAllNamespaces({ labelSelector })]
      : await Promise.all(this.#o.namespaces.map((namespace) => this.#core.listNamespacedPod({ namespace, labelSelector })));
    const { count, byDeployment } = podsMissingSidecar(lists.flatMap((l) => l.items));
    this.#o.metrics.podsMissingSidecar.set(count);
    if (!this.#o.leading()) return count;
    for (const [key, pods] of byDeployment) {
      const [namespace, name] = key.split('/') as [string, string];
      let uid: string | undefined;
      try {
        uid = (await this.#apps.readNamespacedDeployment({ namespace, name })).metadata?.uid;
      } catch {
        continue; // gone meanwhile
      }
      if (!uid) continue;
      const note = `${pods.length} pod(s) labelled ${INJECT_LABEL}=true run without the version-observer sidecar (created while the injection webhook was unreachable): ${pods.slice(0, 5).join(', ')}${pods.length > 5 ? ', …' : ''}. Restart them: kubectl rollout restart deployment/${name} -n ${namespace}`;
      this.#o.events.record({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name, uid }, 'Warning', 'SidecarMissing', note, 'Inject');
      this.#o.log.warn({ deployment: key, pods: pods.length }, 'pods without the sidecar');
    }
    return count;
  }
}
