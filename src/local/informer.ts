/**
 * A list+watch cache for the local components, wrapped around client-node's ListWatch (wrap,
 * don't rewrite). ListWatch stops for good on any watch error other than 410/timeout; this
 * wrapper restarts it with core's backoff step (1 s doubling to 30 s, no jitter; a successful
 * list starts the count again) until stop(). Lists go through KubeHttp so objects from lists
 * and from watch events have the same plain-JSON shape.
 *
 * Invariant: handlers run in event order; synced() resolves after the first successful list.
 */
import { ListWatch, Watch } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { backoffStep } from '../core/backoff.ts';
import type { BackoffPolicy } from '../core/backoff.ts';
import { silentLogger } from '../platform/logger.ts';
import type { Logger } from '../platform/logger.ts';
import type { KubeHttp } from './kube-http.ts';
import { errorMessage } from './log.ts';

const RESTART_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 30_000, jitter: 'none' };

export interface Handlers<T> {
  add?: (obj: T) => void;
  update?: (obj: T) => void;
  delete?: (obj: T) => void;
}

export interface LocalInformer<T> {
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): ReadonlyArray<T>;
  /** Resolves once the first list has been applied. */
  synced(): Promise<void>;
  stop(): Promise<void>;
}

export function startInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  api: KubeHttp,
  path: string,
  handlers: Handlers<T>,
  /** default silent */
  logger: Logger = silentLogger,
): LocalInformer<T> {
  const log = logger;
  let resolveSynced!: () => void;
  const syncedP = new Promise<void>((r) => (resolveSynced = r));
  const listFn = async (): Promise<KubernetesListObject<T>> => {
    const list = await api.request<KubernetesListObject<T>>('GET', path);
    failures = 0;
    setImmediate(resolveSynced); // after ListWatch has applied the items
    return list;
  };
  const listWatch = new ListWatch<T>(path, new Watch(kc), listFn, false);
  let stopped = false;
  /** watch failures since the last successful list */
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  if (handlers.add) listWatch.on('add', handlers.add);
  if (handlers.update) listWatch.on('update', handlers.update);
  if (handlers.delete) listWatch.on('delete', handlers.delete);
  listWatch.on('error', (err: unknown) => {
    if (stopped) return;
    failures++;
    const delayMs = backoffStep(failures, RESTART_BACKOFF, 0);
    log.warn({ path, err: errorMessage(err), delayMs }, 'watch failed; restarting');
    timer = setTimeout(() => {
      timer = undefined;
      if (!stopped) void listWatch.start();
    }, delayMs);
  });
  void listWatch.start();
  return {
    get: (name, namespace) => listWatch.get(name, namespace),
    list: (namespace) => listWatch.list(namespace),
    synced: () => syncedP,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await listWatch.stop();
    },
  };
}
