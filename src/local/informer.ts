/**
 * A list+watch cache for the local components, wrapped around client-node's ListWatch (wrap,
 * don't rewrite). ListWatch stops for good on any watch error other than 410/timeout; this
 * wrapper restarts it with backoff (1 s → 30 s) until stop(). Lists go through KubeHttp so
 * objects from lists and from watch events have the same plain-JSON shape.
 *
 * Invariant: handlers run in event order; synced() resolves after the first successful list.
 */
import { ListWatch, Watch } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { KubeHttp } from './kube-http.ts';

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
  log: (msg: string) => void,
): LocalInformer<T> {
  let resolveSynced!: () => void;
  const syncedP = new Promise<void>((r) => (resolveSynced = r));
  const listFn = async (): Promise<KubernetesListObject<T>> => {
    const list = await api.request<KubernetesListObject<T>>('GET', path);
    delayMs = 0;
    setImmediate(resolveSynced); // after ListWatch has applied the items
    return list;
  };
  const lw = new ListWatch<T>(path, new Watch(kc), listFn, false);
  let stopped = false;
  let delayMs = 0;
  let timer: NodeJS.Timeout | undefined;
  if (handlers.add) lw.on('add', handlers.add);
  if (handlers.update) lw.on('update', handlers.update);
  if (handlers.delete) lw.on('delete', handlers.delete);
  lw.on('error', (err: unknown) => {
    if (stopped) return;
    delayMs = Math.min(delayMs ? delayMs * 2 : 1000, 30_000);
    log(`informer ${path}: ${err instanceof Error ? err.message : String(err)}; restarting in ${delayMs} ms`);
    timer = setTimeout(() => {
      timer = undefined;
      if (!stopped) void lw.start();
    }, delayMs);
  });
  void lw.start();
  return {
    get: (name, namespace) => lw.get(name, namespace),
    list: (namespace) => lw.list(namespace),
    synced: () => syncedP,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await lw.stop();
    },
  };
}
