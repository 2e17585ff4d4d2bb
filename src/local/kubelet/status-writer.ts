/**
 * Writes pod status through the status subresource, coalesced: a pod marked dirty many times
 * is written once with its latest status; at most `concurrency` writes are in flight; a failed
 * write is retried by one shared timer (no per-pod timers, so 10 000 virtual pods stay cheap).
 *
 * Invariants: a status equal to the last one written is not sent again; a pod that is gone
 * (404, or worker.gone) is dropped; writes are JSON merge patches of the whole status carrying
 * metadata.uid, so a write can never land on a newer pod with the same name.
 */
import type { V1PodStatus } from '@kubernetes/client-node';
import type { Logger } from '../../platform/logger.ts';
import { KubeApiError, MERGE_PATCH } from '../kube-http.ts';
import type { KubeHttp } from '../kube-http.ts';
import { errorMessage } from '../log.ts';

export interface StatusTarget {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  lastWritten: string;
  gone: boolean;
  buildStatus(): V1PodStatus;
}

export class StatusWriter {
  readonly #api: KubeHttp;
  readonly #log: Logger;
  readonly #concurrency: number;
  readonly #queue = new Set<StatusTarget>();
  readonly #inFlight = new Set<StatusTarget>();
  readonly #again = new Set<StatusTarget>();
  readonly #failed = new Set<StatusTarget>();
  #retryTimer: NodeJS.Timeout | undefined;
  #idleWaiters: Array<() => void> = [];
  #stopped = false;
  /** number of status writes sent (for benchmarks) */
  writes = 0;

  /** concurrency: parallel writes; default 8 */
  constructor(api: KubeHttp, log: Logger, concurrency = 8) {
    this.#api = api;
    this.#log = log;
    this.#concurrency = concurrency;
  }

  enqueue(t: StatusTarget): void {
    if (this.#stopped || t.gone) return;
    if (this.#inFlight.has(t)) this.#again.add(t);
    else this.#queue.add(t);
    this.#pump();
  }

  #pump(): void {
    while (this.#inFlight.size < this.#concurrency && this.#queue.size > 0) {
      const t = this.#queue.values().next().value as StatusTarget;
      this.#queue.delete(t);
      this.#inFlight.add(t);
      void this.#write(t).finally(() => {
        this.#inFlight.delete(t);
        if (this.#again.delete(t)) this.#queue.add(t);
        this.#pump();
        if (this.#inFlight.size === 0 && this.#queue.size === 0) {
          const w = this.#idleWaiters;
          this.#idleWaiters = [];
          for (const f of w) f();
        }
      });
    }
  }

  async #write(t: StatusTarget): Promise<void> {
    if (t.gone || this.#stopped) return;
    const status = t.buildStatus();
    const json = JSON.stringify(status);
    if (json === t.lastWritten) return;
    try {
      this.writes++;
      await this.#api.request('PATCH', `/api/v1/namespaces/${t.namespace}/pods/${t.name}/status`, { metadata: { uid: t.uid }, status }, MERGE_PATCH);
      t.lastWritten = json;
    } catch (err) {
      if (this.#stopped) return;
      if (err instanceof KubeApiError && err.status === 404) {
        t.gone = true;
        return;
      }
      if (err instanceof KubeApiError && (err.status === 409 || err.status === 422) && /uid|UID|Precondition/.test(err.message)) {
        t.gone = true; // a different pod with this name now
        return;
      }
      this.#log.warn({ pod: `${t.namespace}/${t.name}`, err: errorMessage(err) }, 'status write failed; will retry');
      this.#failed.add(t);
      this.#retryTimer ??= setTimeout(() => {
        this.#retryTimer = undefined;
        const f = [...this.#failed];
        this.#failed.clear();
        for (const x of f) this.enqueue(x);
      }, 1000);
    }
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.#inFlight.size === 0 && this.#queue.size === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  stop(): void {
    this.#stopped = true;
    this.#queue.clear();
    this.#failed.clear();
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
  }
}
