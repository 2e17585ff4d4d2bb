/**
 * Informer wiring: the pod and Deployment informers of every watched scope (all namespaces, or
 * each of `--namespaces`), filtered by the app label, with slim objects, and their restarts
 * reported (metric and log). The events go to the controller's handlers.
 *
 * Invariants:
 * - Only objects carrying APP_LABEL are listed and watched (a label-selector), in pages of 500.
 * - One informer per (resource, scope): a failure of one scope restarts only that one.
 */
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { APP_LABEL } from '../core/labels.ts';
import type { Clock } from '../platform/clock.ts';
import type { Logger } from '../platform/logger.ts';
import { Informer, type ListPage } from './informer.ts';
import type { ControllerMetrics } from './metrics.ts';
import { slimDeployment, slimPod, type SlimDeployment, type SlimPod } from './slim.ts';

export interface AppEventHandlers {
  podChanged(pod: SlimPod): void;
  podDeleted(pod: SlimPod): void;
  deploymentChanged(deployment: SlimDeployment): void;
  deploymentDeleted(deployment: SlimDeployment): void;
}

export interface AppInformersOptions {
  kubeConfig: KubeConfig;
  /** Namespaces to watch; empty = all. */
  namespaces: readonly string[];
  versionLabel: string;
  watchSilenceMs: number;
  clock: Clock;
  metrics: ControllerMetrics;
  log: Logger;
  handlers: AppEventHandlers;
}

export type AppInformer = Informer<SlimPod> | Informer<SlimDeployment>;

const PAGE = 500;

export function buildAppInformers(options: AppInformersOptions): AppInformer[] {
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const apps = options.kubeConfig.makeApiClient(AppsV1Api);
  const scopes: Array<string | null> = options.namespaces.length > 0 ? [...options.namespaces] : [null];
  const labelSelector = APP_LABEL;
  const limit = PAGE;
  const common = { kubeConfig: options.kubeConfig, labelSelector, silenceMs: options.watchSilenceMs, clock: options.clock };
  const informers: AppInformer[] = [];
  for (const ns of scopes) {
    const pods = new Informer<SlimPod>({
      ...common,
      resource: 'pods',
      path: ns ? `/api/v1/namespaces/${ns}/pods` : '/api/v1/pods',
      listPage: (cont) =>
        (ns
          ? core.listNamespacedPod({ namespace: ns, labelSelector, limit, _continue: cont })
          : core.listPodForAllNamespaces({ labelSelector, limit, _continue: cont })) as Promise<ListPage>,
      slim: (raw) => slimPod(raw, options.versionLabel),
      onRestart: restartReporter(options, 'pods'),
    });
    pods.on('add', (p) => options.handlers.podChanged(p));
    pods.on('update', (p) => options.handlers.podChanged(p));
    pods.on('delete', (p) => options.handlers.podDeleted(p));
    const deployments = new Informer<SlimDeployment>({
      ...common,
      resource: 'deployments',
      path: ns ? `/apis/apps/v1/namespaces/${ns}/deployments` : '/apis/apps/v1/deployments',
      listPage: (cont) =>
        (ns
          ? apps.listNamespacedDeployment({ namespace: ns, labelSelector, limit, _continue: cont })
          : apps.listDeploymentForAllNamespaces({ labelSelector, limit, _continue: cont })) as Promise<ListPage>,
      slim: slimDeployment,
      onRestart: restartReporter(options, 'deployments'),
    });
    deployments.on('add', (d) => options.handlers.deploymentChanged(d));
    deployments.on('update', (d) => options.handlers.deploymentChanged(d));
    deployments.on('delete', (d) => options.handlers.deploymentDeleted(d));
    informers.push(pods, deployments);
  }
  return informers;
}

function restartReporter(options: Pick<AppInformersOptions, 'metrics' | 'log'>, resource: string) {
  return (reason: 'error' | 'watchdog', err?: unknown, delayMs?: number): void => {
    options.metrics.informerRestarts.inc({ resource, reason });
    const message = err instanceof Error ? err.message : err === undefined ? undefined : String((err as { message?: unknown })?.message ?? err);
    options.log.warn({ resource, reason, err: message, delayMs }, reason === 'watchdog' ? 'watch silent too long: relisting' : 'list/watch failed: restarting');
  };
}
