/**
 * Pod binding (there is no scheduler in the local cluster): every pod without spec.nodeName is
 * bound to this node through the pods/binding subresource, which also sets PodScheduled=True.
 *
 * Invariants: one binding request per pod UID at a time, at most `concurrency` in flight; a
 * pod already bound (409) or gone (404) is dropped; other failures retry on one shared timer.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../platform/logger.ts';
import { KubeApiError } from '../kube-http.ts';
import type { KubeHttp } from '../kube-http.ts';
import { errorMessage } from '../log.ts';

export class Binder {
  readonly #api: KubeHttp;
  readonly #nodeName: string;
  readonly #log: Logger;
  readonly #concurrency: number;
  readonly #queue = new Map<string, V1Pod>();
  readonly #inFlight = new Set<string>();
  readonly #failed = new Map<string, V1Pod>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(api: KubeHttp, nodeName: string, log: Logger, concurrency = 8) {
    this.#api = api;
    this.#nodeName = nodeName;
    this.#log = log;
    this.#concurrency = concurrency;
  }

  bind(pod: V1Pod): void {
    const uid = pod.metadata?.uid ?? '';
    if (this.#stopped || this.#inFlight.has(uid) || pod.metadata?.deletionTimestamp) return;
    this.#queue.set(uid, pod);
    this.#pump();
  }

  #pump(): void {
    while (this.#inFlight.size < this.#concurrency && this.#queue.size > 0) {
      const [uid, pod] = this.#queue.entries().next().value as [string, V1Pod];
      this.#queue.delete(uid);
      this.#inFlight.add(uid);
      void this.#bindOne(pod).finally(() => {
        this.#inFlight.delete(uid);
        this.#pump();
      });
    }
  }

  async #bindOne(pod: V1Pod): Promise<void> {
    const ns = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    try {
      await this.#api.request('POST', `/api/v1/namespaces/${ns}/pods/${name}/binding`, {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name, namespace: ns, uid: pod.metadata?.uid },
        target: { apiVersion: 'v1', kind: 'Node', name: this.#nodeName },
      });
    } catch (err) {
      if (this.#stopped || (err instanceof KubeApiError && (err.status === 409 || err.status === 404))) return;
      this.#log.warn({ pod: `${ns}/${name}`, err: errorMessage(err) }, 'bind failed; will retry');
      this.#failed.set(pod.metadata?.uid ?? '', pod);
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        const failed = [...this.#failed.values()];
        this.#failed.clear();
        for (const pod of failed) this.bind(pod);
      }, 1000);
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#queue.clear();
    this.#failed.clear();
    if (this.#timer) clearTimeout(this.#timer);
  }
}
