/**
 * Writes pod status through the status subresource, coalesced: a pod marked dirty many times
 * is written once with its latest status; at most `concurrency` writes are in flight; a failed
 * write is retried by one shared timer (no per-pod timers, so 10 000 virtual pods stay cheap).
 *
 * While held (hold(): the node lost its API server, as a partitioned kubelet), nothing is sent:
 * dirty pods stay queued with their latest status, and release() sends them.
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
import { readyStatusOf } from './status.ts';

export interface StatusTarget {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  lastWritten: string;
  /** the Ready condition's status in the last write ('True' / 'False'); undefined before one */
  lastReady?: string;
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
  #heldWaiters: Array<() => void> = [];
  #stopped = false;
  #held = false;
  /** number of status writes sent (for benchmarks) */
  writes = 0;

  /** concurrency: parallel writes; default 8 */
  constructor(api: KubeHttp, log: Logger, concurrency = 8) {
    this.#api = api;
    this.#log = log;
    this.#concurrency = concurrency;
  }

  enqueue(target: StatusTarget): void {
    if (this.#stopped || target.gone) return;
    if (this.#inFlight.has(target)) this.#again.add(target);
    else this.#queue.add(target);
    this.#pump();
  }

  /**
   * Writes this kubelet's status again when the API's copy carries a Ready condition someone
   * else wrote (the node lifecycle controller marks a silent node's pods Ready=False), as the
   * kubelet's status manager does. A pod not written yet, or already terminal, is left alone.
   * Returns whether a write was queued.
   */
  rewriteForeignReady(target: StatusTarget, apiStatus: V1PodStatus | undefined): boolean {
    if (target.gone || target.lastReady === undefined || target.lastWritten === 'terminal') return false;
    if (readyStatusOf(apiStatus) === target.lastReady) return false;
    target.lastWritten = '';
    this.enqueue(target);
    return true;
  }

  /** Stops sending; resolves once no write is in flight (queued ones wait for release()). */
  hold(): Promise<void> {
    this.#held = true;
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((r) => this.#heldWaiters.push(r));
  }

  /** Sends again: the queue first, then whatever is enqueued. */
  release(): void {
    this.#held = false;
    this.#pump();
  }

  #pump(): void {
    while (!this.#held && this.#inFlight.size < this.#concurrency && this.#queue.size > 0) {
      const target = this.#queue.values().next().value as StatusTarget;
      this.#queue.delete(target);
      this.#inFlight.add(target);
      void this.#write(target).finally(() => {
        this.#inFlight.delete(target);
        if (this.#again.delete(target)) this.#queue.add(target);
        this.#pump();
        if (this.#inFlight.size === 0 && this.#held) {
          const waiters = this.#heldWaiters;
          this.#heldWaiters = [];
          for (const wake of waiters) wake();
        }
        if (this.#inFlight.size === 0 && this.#queue.size === 0) {
          const waiters = this.#idleWaiters;
          this.#idleWaiters = [];
          for (const wake of waiters) wake();
        }
      });
    }
  }

  async #write(target: StatusTarget): Promise<void> {
    if (target.gone || this.#stopped) return;
    const status = target.buildStatus();
    const json = JSON.stringify(status);
    if (json === target.lastWritten) return;
    try {
      this.writes++;
      await this.#api.request('PATCH', `/api/v1/namespaces/${target.namespace}/pods/${target.name}/status`, { metadata: { uid: target.uid }, status }, MERGE_PATCH);
      target.lastWritten = json;
      target.lastReady = readyStatusOf(status);
    } catch (err) {
      if (this.#stopped) return;
      if (err instanceof KubeApiError && err.status === 404) {
        target.gone = true;
        return;
      }
      if (err instanceof KubeApiError && (err.status === 409 || err.status === 422) && /uid|UID|Precondition/.test(err.message)) {
        target.gone = true; // a different pod with this name now
        return;
      }
      this.#log.warn({ pod: `${target.namespace}/${target.name}`, err: errorMessage(err) }, 'status write failed; will retry');
      this.#failed.add(target);
      this.#retryTimer ??= setTimeout(() => {
        this.#retryTimer = undefined;
        const failed = [...this.#failed];
        this.#failed.clear();
        for (const target of failed) this.enqueue(target);
      }, 1000);
    }
  }

  /** Resolves when nothing is queued or in flight (while held, not before release()). */
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
