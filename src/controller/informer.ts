/**
 * A shared informer for one resource in one scope (all namespaces or one namespace), built by
 * wrapping @kubernetes/client-node's ListWatch — its store, its list-then-watch loop, its 410
 * handling and its per-reconnect backoff stay as they are. What this wrapper adds:
 *
 * - Slim objects: the list function and the watch both convert objects with `slim` before the
 *   ListWatch store sees them, so the store only ever holds the few fields we read.
 * - Restart after failure: ListWatch stops for good when a list or watch fails with anything
 *   but 410/timeout (it fires `error` and returns). We restart it with exponential backoff,
 *   equal jitter (core backoffStep: a herd of watches after an apiserver restart never lines up,
 *   yet the delay still grows; `restartBaseMs` → `restartMaxMs`), reset after a successful list
 *   or any event.
 * - Watchdog: when no event (bookmarks included; we ask for them) arrived for `silenceMs`, the
 *   open watch is ended as if the server had answered 410 Gone, which makes ListWatch relist;
 *   the relist diff emits the deletes that were missed.
 * - Synced: `hasSynced()` turns true once the first list has been applied to the store (the
 *   watch opening right after a list is the signal); `synced()` resolves then.
 * - Stopping is quiet: the abort of our own watch is never reported as an error.
 *
 * Event callbacks receive slim objects; `delete` may carry the last cached object (relist).
 */
import { apiObserverOf, codeOfError } from './api-metrics.ts';
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { backoffStep } from '../core/backoff.ts';
import { realClock, startTimer, type Clock, type Timer } from '../platform/clock.ts';

export type ListPage = { items: unknown[]; metadata?: { resourceVersion?: string; _continue?: string } };

export interface InformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** For logs and metrics, e.g. "pods". */
  resource: string;
  /** Watch path, e.g. /api/v1/pods or /api/v1/namespaces/ns/pods. */
  path: string;
  labelSelector: string;
  /** One page of the list (label selector applied by the caller). */
  listPage: (continueToken: string | undefined) => Promise<ListPage>;
  slim: (raw: unknown) => T;
  /** Relist when silent this long; 0 = no watchdog. */
  silenceMs: number;
  restartBaseMs?: number;
  restartMaxMs?: number;
  /** Called when the informer restarts a failed list/watch or the watchdog relists. */
  onRestart?: (reason: 'error' | 'watchdog', err?: unknown, delayMs?: number) => void;
  /** Restart backoff, watchdog and watch timeouts. Default: the real clock. */
  clock?: Clock;
}

type Callback<T> = (obj: T) => void;

/** ListWatch relists when its watch ends with this (see cache.js doneHandler). */
const GONE = Object.assign(new Error('watchdog: watch silent too long, relisting'), { statusCode: 410 });

export class Informer<T extends KubernetesObject> {
  readonly resource: string;
  readonly #options: InformerOptions<T>;
  readonly #lw: ListWatch<T>;
  readonly #clock: Clock;
  #stopped = true;
  #failures = 0;
  #restartTimer: Timer | undefined;
  #watchdog: Timer | undefined;
  #lastActivity = 0;
  #listedSinceWatch = false;
  #synced = false;
  #syncedWaiters: Array<() => void> = [];
  /** Ends the open watch as 410 (watchdog); undefined when no watch is open. */
  #relistOpenWatch: (() => void) | undefined;

  constructor(options: InformerOptions<T>) {
    this.resource = options.resource;
    this.#options = options;
    this.#clock = options.clock ?? realClock;
    const listFn = async (): Promise<KubernetesListObject<T>> => {
      const items: T[] = [];
      let cont: string | undefined;
      let resourceVersion = '';
      do {
        const page = await options.listPage(cont);
        for (const raw of page.items) items.push(options.slim(raw));
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        cont = page.metadata?._continue || undefined;
      } while (cont);
      this.#listedSinceWatch = true;
      this.#activity();
      return { apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion } };
    };
    // ListWatch's own reconnect delay (1 s → 30 s between watches) sleeps on our clock too.
    this.#lw = new ListWatch<T>(options.path, new SlimWatch(options.kubeConfig, this), listFn, false, options.labelSelector, undefined, {
      delayFn: (ms) => this.#clock.sleep(ms),
    });
    this.#lw.on('error', (err) => this.#onError(err));
  }

  on(verb: 'add' | 'update' | 'delete', cb: Callback<T>): void {
    this.#lw.on(verb, cb);
  }

  /** The store (slim objects). */
  list(namespace?: string): ReadonlyArray<T> {
    return this.#lw.list(namespace);
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves once the first list has been applied. */
  synced(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncedWaiters.push(resolve));
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#activity();
    this.#scheduleWatchdog();
    void this.#lw.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#restartTimer?.cancel();
    this.#watchdog?.cancel();
    await this.#lw.stop();
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  // --- called by SlimWatch

  /** A watch is being opened: if a list preceded it, the store now holds that list. */
  _watchOpening(relist: () => void): void {
    this.#relistOpenWatch = relist;
    if (this.#listedSinceWatch) {
      this.#listedSinceWatch = false;
      this.#failures = 0;
      if (!this.#synced) {
        this.#synced = true;
        for (const w of this.#syncedWaiters.splice(0)) w();
      }
    }
  }

  _watchClosed(): void {
    this.#relistOpenWatch = undefined;
  }

  _event(): void {
    this.#failures = 0;
    this.#activity();
  }

  _slim(raw: unknown): T {
    return this.#options.slim(raw);
  }

  /** A uniform draw in [0, 1) from the informer's clock (the watch's randomized timeout). */
  _random(): number {
    return this.#clock.random();
  }

  // ---

  #activity(): void {
    this.#lastActivity = this.#clock.now();
  }

  /** Checks for silence every silenceMs/4 (0.25 s..30 s) while started. */
  #scheduleWatchdog(): void {
    if (this.#options.silenceMs <= 0) return;
    const every = Math.max(250, Math.min(this.#options.silenceMs / 4, 30_000));
    this.#watchdog = startTimer(this.#clock, every, () => {
      if (this.#stopped) return;
      this.#checkSilence();
      this.#scheduleWatchdog();
    });
  }

  #checkSilence(): void {
    if (this.#stopped || !this.#relistOpenWatch) return;
    if (this.#clock.now() - this.#lastActivity < this.#options.silenceMs) return;
    this.#activity();
    this.#options.onRestart?.('watchdog');
    this.#relistOpenWatch();
  }

  #onError(err: unknown): void {
    if (this.#stopped) return;
    this.#failures++;
    const delay = backoffStep(this.#failures, { baseMs: this.#options.restartBaseMs ?? 500, maxMs: this.#options.restartMaxMs ?? 15_000, jitter: 'equal' }, this.#clock.random());
    this.#options.onRestart?.('error', err, delay);
    this.#restartTimer?.cancel();
    this.#restartTimer = startTimer(this.#clock, delay, () => {
      if (!this.#stopped) void this.#lw.start();
    });
  }
}

/**
 * client-node's Watch with slim objects, bookmarks, a randomized server-side timeout (as
 * client-go's reflector: 5–10 min) and a done callback that fires once, quietly on stop.
 */
class SlimWatch<T extends KubernetesObject> extends Watch {
  readonly #informer: Informer<T>;

  readonly #kubeConfig: KubeConfig;

  constructor(kc: KubeConfig, informer: Informer<T>) {
    super(kc);
    this.#kubeConfig = kc;
    this.#informer = informer;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: any, watchObj?: any) => void,
    done: (err: any) => void,
  ): Promise<AbortController> {
    const informer = this.#informer;
    let finished = false;
    let controller: AbortController | undefined;
    // The request metric of a watch: time to the response headers, or to the failure before them.
    const observe = apiObserverOf(this.#kubeConfig);
    const t0 = performance.now();
    let observed = false;
    const observeOnce = (code: string) => {
      if (observed) return;
      observed = true;
      observe?.('WATCH', code, (performance.now() - t0) / 1000);
    };
    const finish = (err: unknown) => {
      if (err) observeOnce(codeOfError(err));
      if (finished) return;
      finished = true;
      informer._watchClosed();
      done(informer.stopped ? null : err);
    };
    informer._watchOpening(() => {
      finish(GONE);
      controller?.abort();
    });
    const query = { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: 300 + Math.floor(informer._random() * 300) };
    const onEvent = (phase: string, obj: any, raw?: any) => {
      if (finished) return;
      informer._event();
      if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') callback(phase, informer._slim(obj), raw);
      else callback(phase, obj, raw);
    };
    try {
      controller = await super.watch(path, query, onEvent, finish);
      observeOnce('200');
      if (finished) controller.abort();
      return controller;
    } catch (err) {
      finish(err);
      return controller ?? new AbortController();
    }
  }
}
