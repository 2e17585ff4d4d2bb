/**
 * A work queue keyed by app ("namespace/name"), with client-go's workqueue semantics:
 *
 * - Deduplicated: a key waiting in the queue is there once, however often it is added.
 * - A key is processed by one worker at a time: adding a key while it is being processed marks
 *   it dirty, and it is queued again when `done` is called (no event is lost, none runs twice
 *   concurrently).
 * - Rate-limited retries: `addRateLimited` waits a per-item exponential delay without jitter
 *   (core backoffStep, 'none': `baseMs` × 2^(n-1), capped at `maxMs`; client-go's
 *   ItemExponentialFailureRateLimiter) that grows with the item's failures until `forget`.
 * - `addAfter` delays an add; several delayed adds of one key keep the earliest.
 * - The request is just the key: it "does not contain information about any specific event"
 *   (controller-runtime); handlers re-read the cache.
 *
 * `runWorker` drives a handler: success → forget (and optional requeue-after); a thrown
 * TerminalError → counted and forgotten, never retried; any other error → rate-limited retry.
 *
 * An optional `observer` hears what client-go's workqueue metrics count (adds after dedup,
 * depth, wait and work time, retries, work in progress) and each reconciliation's result and
 * duration; times are read from the queue's clock.
 */
import { backoffStep } from '../core/backoff.ts';
import { realClock, startTimer, type Clock, type Timer } from '../platform/clock.ts';

/** An error that retrying cannot fix: counted, logged, never retried. */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export type ReconcileResult = 'success' | 'error' | 'terminal' | 'requeue_after';

/** Hooks for the work-queue and reconcile metrics (src/controller/runtime-metrics.ts). */
export interface QueueObserver {
  added(): void;
  depth(n: number): void;
  /** Seconds a key waited between being queued and a worker taking it. */
  waited(seconds: number): void;
  /** Seconds a worker spent on a key (get → done). */
  worked(seconds: number): void;
  retried(): void;
  /** Called once at construction: the start times (clock ms) of the keys being worked on, and the clock. */
  running(startedAt: () => readonly number[], now: () => number): void;
  reconciled(result: ReconcileResult, seconds: number): void;
}

export interface QueueOptions {
  /** First retry delay, ms. Default 50. */
  baseMs?: number;
  /** Retry delay cap, ms. Default 5 min. */
  maxMs?: number;
  /** Default: the real clock. */
  clock?: Clock;
  /** Default: none. */
  observer?: QueueObserver;
}

export interface HandlerResult {
  /** Process the key again after this many ms (e.g. a settle window). */
  requeueAfterMs?: number;
}

export class WorkQueue {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #clock: Clock;
  readonly observer: QueueObserver | undefined;
  readonly #queuedAt = new Map<string, number>();
  readonly #startedAt = new Map<string, number>();
  #items: string[] = [];
  #head = 0;
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #delayed = new Map<string, { at: number; timer: Timer }>();
  #waiters: Array<(key: string | undefined) => void> = [];
  #shutdown = false;

  constructor(opts: QueueOptions = {}) {
    this.#baseMs = opts.baseMs ?? 50;
    this.#maxMs = opts.maxMs ?? 5 * 60_000;
    this.#clock = opts.clock ?? realClock;
    this.observer = opts.observer;
    this.observer?.running(() => [...this.#startedAt.values()], () => this.#clock.now());
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  add(key: string): void {
    if (this.#shutdown || this.#dirty.has(key)) return;
    this.observer?.added();
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#push(key);
  }

  addAfter(key: string, ms: number): void {
    if (this.#shutdown) return;
    if (ms <= 0) return this.add(key);
    const at = this.#clock.now() + ms;
    const existing = this.#delayed.get(key);
    if (existing && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = startTimer(this.#clock, ms, () => {
      this.#delayed.delete(key);
      this.add(key);
    });
    this.#delayed.set(key, { at, timer });
  }

  addRateLimited(key: string): void {
    const n = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, n);
    this.observer?.retried();
    this.addAfter(key, backoffStep(n, { baseMs: this.#baseMs, maxMs: this.#maxMs, jitter: 'none' }, 0));
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Next key to process, or undefined once shut down. Call `done(key)` when finished. */
  get(): Promise<string | undefined> {
    if (this.#shutdown) return Promise.resolve(undefined);
    const key = this.#shift();
    if (key !== undefined) return Promise.resolve(this.#begin(key));
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  done(key: string): void {
    const startedAt = this.#startedAt.get(key);
    if (startedAt !== undefined) {
      this.#startedAt.delete(key);
      this.observer?.worked((this.#clock.now() - startedAt) / 1000);
    }
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.#shutdown) this.#push(key);
  }

  shutdown(): void {
    this.#shutdown = true;
    for (const { timer } of this.#delayed.values()) timer.cancel();
    this.#delayed.clear();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w(undefined);
  }

  get isShutdown(): boolean {
    return this.#shutdown;
  }

  #begin(key: string): string {
    this.#dirty.delete(key);
    this.#processing.add(key);
    if (this.observer) {
      const now = this.#clock.now();
      const queuedAt = this.#queuedAt.get(key);
      this.#queuedAt.delete(key);
      this.observer.waited(queuedAt === undefined ? 0 : (now - queuedAt) / 1000);
      this.#startedAt.set(key, now);
      this.observer.depth(this.length);
    }
    return key;
  }

  #push(key: string): void {
    const waiter = this.#waiters.shift();
    if (waiter) return waiter(this.#begin(key));
    this.#items.push(key);
    if (this.observer) {
      this.#queuedAt.set(key, this.#clock.now());
      this.observer.depth(this.length);
    }
  }

  #shift(): string | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const key = this.#items[this.#head++] as string;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return key;
  }
}

export interface WorkerHooks {
  onError?(key: string, err: unknown, terminal: boolean): void;
}

/**
 * Processes keys until the queue shuts down. Returns when it has. The handler may be sync or
 * async; keys are processed one at a time per worker.
 */
export async function runWorker(
  queue: WorkQueue,
  handler: (key: string) => HandlerResult | void | Promise<HandlerResult | void>,
  hooks: WorkerHooks = {},
): Promise<void> {
  for (;;) {
    const key = await queue.get();
    if (key === undefined) return;
    // Wall time of the handler, as controller-runtime's reconcile_time: what the work costs,
    // not when it was scheduled (scheduling reads the queue's clock).
    const t0 = performance.now();
    try {
      const result = await handler(key);
      queue.forget(key);
      if (result?.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
      queue.observer?.reconciled(result?.requeueAfterMs !== undefined ? 'requeue_after' : 'success', (performance.now() - t0) / 1000);
    } catch (err) {
      const terminal = err instanceof TerminalError;
      queue.observer?.reconciled(terminal ? 'terminal' : 'error', (performance.now() - t0) / 1000);
      hooks.onError?.(key, err, terminal);
      if (terminal) queue.forget(key);
      else queue.addRateLimited(key);
    } finally {
      queue.done(key);
    }
  }
}
