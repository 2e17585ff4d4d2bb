/**
 * The app index: pods and Deployments grouped by app (core `appKey` of the namespace and the
 * APP_LABEL value), so one event costs O(objects of that app) and never O(all objects). Fed by
 * the informers' add/update/delete callbacks (slim objects).
 *
 * Why a second map beside the informer store: ListWatch keeps its objects by namespace/name (it
 * needs them for the relist diff) and has no secondary index (client-go's Indexer would hold
 * this one). The index holds references to the store's own objects, not copies.
 *
 * Invariants:
 * - An object is in at most one app bucket: the one of its current label; a relabel moves it
 *   and both apps are reported as touched.
 * - Empty buckets are removed, so `apps()` lists exactly the apps that have objects.
 * - `readyObservedAt` keeps, per pod, the local time this process first saw it Ready
 *   (the watch event time), for the ready → announcement latency metric.
 */
import type { SlimDeployment, SlimMeta, SlimPod } from './slim.ts';
import { appKeyOf } from './slim.ts';

export interface PodChange {
  /** Apps whose evaluation may have changed (0, 1 or 2 with a relabel). */
  apps: string[];
  before: SlimPod | undefined;
  after: SlimPod | undefined;
}

class Buckets<T extends { metadata: SlimMeta; app: string }> {
  readonly byApp = new Map<string, Map<string, T>>();
  readonly appOf = new Map<string, string>();

  upsert(obj: T): { apps: string[]; before: T | undefined } {
    const id = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const app = appKeyOf(obj);
    const oldApp = this.appOf.get(id);
    let before: T | undefined;
    const apps: string[] = [];
    if (oldApp !== undefined) {
      before = this.byApp.get(oldApp)?.get(id);
      if (oldApp !== app) {
        this.#remove(oldApp, id);
        apps.push(oldApp);
      }
    }
    if (app === null) {
      this.appOf.delete(id);
      return { apps, before };
    }
    let bucket = this.byApp.get(app);
    if (!bucket) this.byApp.set(app, (bucket = new Map()));
    bucket.set(id, obj);
    this.appOf.set(id, app);
    apps.push(app);
    return { apps, before };
  }

  delete(obj: T): { apps: string[]; before: T | undefined } {
    const id = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const app = this.appOf.get(id);
    if (app === undefined) return { apps: [], before: undefined };
    const before = this.byApp.get(app)?.get(id);
    this.#remove(app, id);
    this.appOf.delete(id);
    return { apps: [app], before };
  }

  of(app: string): Iterable<T> {
    return this.byApp.get(app)?.values() ?? [];
  }

  #remove(app: string, id: string): void {
    const bucket = this.byApp.get(app);
    if (!bucket) return;
    bucket.delete(id);
    if (bucket.size === 0) this.byApp.delete(app);
  }
}

export class AppIndex {
  readonly #pods = new Buckets<SlimPod>();
  readonly #deployments = new Buckets<SlimDeployment>();
  readonly #readyObservedAt = new Map<string, number>();

  upsertPod(pod: SlimPod, now: number): PodChange {
    const { apps, before } = this.#pods.upsert(pod);
    const id = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const wasReady = before?.view.ready === true && before.metadata.uid === pod.metadata.uid;
    if (pod.view.ready) {
      if (!wasReady || !this.#readyObservedAt.has(id)) this.#readyObservedAt.set(id, now);
    } else {
      this.#readyObservedAt.delete(id);
    }
    return { apps, before, after: appKeyOf(pod) ? pod : undefined };
  }

  deletePod(pod: SlimPod): PodChange {
    const { apps, before } = this.#pods.delete(pod);
    this.#readyObservedAt.delete(`${pod.metadata.namespace}/${pod.metadata.name}`);
    return { apps, before, after: undefined };
  }

  upsertDeployment(d: SlimDeployment): string[] {
    return this.#deployments.upsert(d).apps;
  }

  deleteDeployment(d: SlimDeployment): string[] {
    return this.#deployments.delete(d).apps;
  }

  pods(app: string): Iterable<SlimPod> {
    return this.#pods.of(app);
  }

  deployments(app: string): Iterable<SlimDeployment> {
    return this.#deployments.of(app);
  }

  /** Latest local time a currently serving pod of the app was first seen Ready; undefined if none. */
  lastReadyObservedAt(app: string): number | undefined {
    let last: number | undefined;
    for (const p of this.#pods.of(app)) {
      if (!p.view.ready || p.view.terminating) continue;
      const t = this.#readyObservedAt.get(`${p.metadata.namespace}/${p.metadata.name}`);
      if (t !== undefined && (last === undefined || t > last)) last = t;
    }
    return last;
  }

  apps(): Set<string> {
    return new Set([...this.#pods.byApp.keys(), ...this.#deployments.byApp.keys()]);
  }

  get podCount(): number {
    return this.#pods.appOf.size;
  }
}
