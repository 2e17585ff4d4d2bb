/**
 * The pusher (leader only): sends each pod of an app its app's current signed state (the push
 * of docs/protocol.md). The per-pod decisions (coalescing, one in flight, backoff,
 * 409 = acknowledged) are src/core/push-policy.ts; the HTTP put is push-transport.ts; this file
 * only schedules; which namespace's push starts next is src/core/push-fairness.ts, its queues
 * fair-queue.ts.
 *
 * Longer than our ~300 lines: it is one state machine's shell (a target is idle, waiting on a
 * timer, queued or in flight, never two at once), and splitting the timers from the queue would
 * spread that one invariant over two files.
 *
 * Invariants:
 * - A pod is a target while core's isPushTarget holds (Running with an IP); a new IP is a new
 *   target. A target of an app with a state is pushed as soon as it appears.
 * - Only sidecars that listen get pushes: the push's own connect is the probe. A refused
 *   connect (nothing sent yet) means "not listening": no failure, a short backoff of its own
 *   (core: ~50 ms for the first 80 tries, a sidecar's start-up, then 100 ms → 2 s), then the
 *   next try. Pod readiness does not say the sidecar listens (a
 *   native sidecar with no probe does not gate Ready) but hints at it: the sidecar starts
 *   before the app's containers, so when a pod turns Ready while its sidecar was refusing, it
 *   is tried again at once. That keeps a late announcement (the one the pod's own Ready
 *   triggers, at the end of a rollout) from waiting out a listen backoff; a pod that failed
 *   otherwise (timeout, error) is not retried early.
 * - Latest wins: a push always carries the app's state at the moment it starts; states that
 *   arrive while a push is in flight or backing off are coalesced into the next one.
 * - At most `concurrency` pushes are in flight in total and `namespaceConcurrency` (the share)
 *   per namespace while another namespace waits; a namespace alone may borrow idle slots, but
 *   never the last share's worth (core: push-fairness.ts). Waiting targets queue FIFO per
 *   namespace, and a free slot goes to the waiting namespace with the fewest pushes in flight.
 *   Every push ends within the transport's absolute deadline, so a namespace whose pods never
 *   answer leaves a share free for the next announcement elsewhere, and once another namespace
 *   waits it is back to its share within `timeoutMs`.
 * - Work per state change is O(targets of that app); per pod event O(1); per start O(namespaces waiting).
 * - Nothing is sent unless `start()`ed (leading); `stop()` aborts in-flight pushes, cancels
 *   timers and forgets acknowledgements (a new leader re-stamps every state anyway).
 * - Every `resyncMs` every target is sent its app's current state again (the sidecar answers 409
 *   when it holds it), which repairs a sidecar that restarted and lost its state.
 * - Each (state, key) is signed once, on its first send: `#signedBody` is the one place the
 *   pusher asks for a body, and trust.ts (which picks the newest key the pod pins) caches it.
 * - A 409 whose body names an order newer than the app's current state is foreign: reported,
 *   not acknowledged (an announcement waiting for that pod does not complete), retried with
 *   failure backoff. `#finished` decides that, with core's outcomeOf, and nowhere else.
 *
 * Who owns what:
 * - App states are the controller's (its records: it evaluates and stamps them on every replica
 *   and serves them on /v1/apps; the pusher only delivers, and only while leading). The pusher
 *   reads them through `stateOf` and holds none; `stateChanged` tells it to look again.
 * - Pods are the informer store's (the app index groups the same objects). A target keeps a
 *   reference to its pod's latest view, not a copy, plus what only the pusher knows: the push
 *   state, its timer, its place in the queue, its request. The per-app target sets and the
 *   pod → target map are indexes over those targets, so a state change costs O(targets of
 *   the app) and a pod event O(1).
 */
import type { AppState } from '../core/app-state.ts';
import type { PodView } from '../core/evaluate.ts';
import { isOlder, orderOf, type Order } from '../core/order.ts';
import { defaultPerNamespace } from '../core/push-fairness.ts';
import { IDLE_POD, finished, isPushTarget, nextStep, outcomeOf, podKey, started, type BackoffConfig, type ListenBackoffConfig, type PodPush } from '../core/push-policy.ts';
import { heldOrderOf, isForeignOrder } from '../core/trust.ts';
import { realClock, startTimer, type Clock, type Timer } from '../platform/clock.ts';
import type { Logger } from '../platform/logger.ts';
import { FairQueue } from './fair-queue.ts';
import { PushTransport, type PutHandle, type PutResult } from './push-transport.ts';

/** The pusher's counts at one moment (metrics gauges). */
export interface PusherStats {
  inFlight: number;
  queued: number;
  /** Namespaces with waiting pushes held back by their own bound while slots were free. */
  namespacesAtBound: number;
  /** Targets whose last connect was refused. */
  notListening: number;
}

/** One push attempt, as `onResult` reports it. status null = no HTTP answer (error says why). */
export interface PushReport extends PutResult {
  app: string;
  /** "namespace/name" of the pod. */
  pod: string;
  /** How long the push waited for a slot. */
  queueSeconds: number;
  /** The pusher's counts right after this push was handled (and the next ones started). */
  stats: PusherStats;
}

export interface PusherOptions {
  /** The sidecar's admin port on every pod. */
  port: number;
  /** Pushes in flight at most, in total. */
  concurrency: number;
  /** A namespace's share of the slots (it may borrow idle ones); default core's defaultPerNamespace (a quarter of `concurrency`). */
  namespaceConcurrency?: number;
  /** Absolute deadline of one push (connect + request + response), ms. */
  timeoutMs: number;
  /** Re-send every target its app's state this often, ms; 0 = never. */
  resyncMs: number;
  /** The app's current state (the controller's record), undefined when there is none. */
  stateOf: (app: string) => AppState | undefined;
  /** The signed push body of a state for one pod (the key is chosen per pod; src/controller/trust.ts). */
  body: (state: AppState, pod: PodView) => string;
  /**
   * A 409 named a held order newer than the app's current state (core isForeignOrder): it is
   * not counted as acknowledged; the pod is retried with backoff.
   */
  onForeignOrder?: (r: { app: string; pod: PodView; held: Order; current: Order }) => void;
  /** Retry bounds after a failure; default core's 250 ms → 30 s (full jitter). */
  backoff?: BackoffConfig;
  /** Retry bounds after a refused connect (sidecar not listening); default core's 80 × ~50 ms, then 100 ms → 2 s. */
  listenBackoff?: ListenBackoffConfig;
  /** Called after every push attempt. */
  onResult?: (r: PushReport) => void;
  log?: Logger;
  /** Backoff, retry and resync time. Default: the real clock. */
  clock?: Clock;
}

interface AppEntry {
  targets: Set<string>;
  /**
   * The announced state being acknowledged: `onAll` runs once every target present when it was
   * set acknowledged it (or a newer one). Set only for a state the controller announces (core
   * evaluate's `announce`): the pusher never decides what is an announcement.
   */
  announcement: { order: Order; remaining: Set<string>; onAll: () => void } | null;
}

interface Target {
  /** podKey: "namespace/name@ip". */
  key: string;
  app: string;
  /** The pod's latest view (the informer's object, not a copy). */
  pod: PodView;
  push: PodPush;
  timer: Timer | undefined;
  queued: boolean;
  /** When it joined the queue (clock ms), for the queue-wait metric. */
  queuedAt: number;
  request: PutHandle | undefined;
}

export class Pusher {
  readonly #options: PusherOptions;
  readonly #clock: Clock;
  readonly #transport: PushTransport;
  readonly #apps = new Map<string, AppEntry>();
  readonly #targets = new Map<string, Target>();
  /** "namespace/name" of a pod → its current target key. */
  readonly #byPod = new Map<string, string>();
  readonly #queue: FairQueue<Target>;
  #notListening = 0;
  #running = false;
  #resync: Timer | undefined;

  constructor(options: PusherOptions) {
    this.#options = options;
    this.#clock = options.clock ?? realClock;
    this.#transport = new PushTransport({ port: options.port, deadlineMs: options.timeoutMs });
    this.#queue = new FairQueue({ total: options.concurrency, perNamespace: Math.min(options.concurrency, options.namespaceConcurrency ?? defaultPerNamespace(options.concurrency)) });
  }

  get running(): boolean {
    return this.#running;
  }

  get inFlight(): number {
    return this.#queue.active;
  }

  /** Pushes in flight for pods of one namespace. */
  inFlightIn(namespace: string): number {
    return this.#queue.activeIn(namespace);
  }

  get stats(): PusherStats {
    return { inFlight: this.#queue.active, queued: this.#queue.waiting, namespacesAtBound: this.#queue.lanesAtNamespaceBound, notListening: this.#notListening };
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#scheduleResync();
    for (const t of this.#targets.values()) this.#kick(t);
  }

  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#resync?.cancel();
    this.#resync = undefined;
    this.#queue.clearWaiting();
    for (const t of this.#targets.values()) {
      t.timer?.cancel();
      t.timer = undefined;
      t.queued = false;
      t.request?.cancel('pusher stopped');
      t.request = undefined;
      this.#setPush(t, IDLE_POD);
    }
    for (const a of this.#apps.values()) a.announcement = null;
  }

  /** Closes idle sockets; call after stop() on shutdown. */
  close(): void {
    this.stop();
    this.#transport.close();
  }

  /**
   * The app's state (as `stateOf` answers) changed, or the app is gone. `onAnnouncementAcked`,
   * given when the controller announces this state, fires once every current target has
   * acknowledged it (or a newer one), while it is still current.
   */
  stateChanged(app: string, onAnnouncementAcked?: () => void): void {
    const state = this.#options.stateOf(app);
    if (state === undefined) {
      const entry = this.#apps.get(app);
      if (entry && entry.targets.size === 0) this.#apps.delete(app);
      else if (entry) entry.announcement = null;
      return;
    }
    const entry = this.#entry(app);
    entry.announcement = onAnnouncementAcked && this.#running ? { order: orderOf(state), remaining: new Set(entry.targets), onAll: onAnnouncementAcked } : null;
    if (entry.announcement && entry.announcement.remaining.size === 0) this.#announcementAcked(entry);
    for (const key of entry.targets) {
      const t = this.#targets.get(key);
      if (t) this.#kick(t);
    }
  }

  /** A pod of `app` was added or changed (O(1)). Pods that are no push target are dropped. */
  upsertPod(app: string, pod: PodView): void {
    const id = `${pod.namespace}/${pod.name}`;
    const oldKey = this.#byPod.get(id);
    const target = isPushTarget(pod) ? podKey(pod) : null;
    if (oldKey !== undefined && (oldKey !== target || this.#targets.get(oldKey)?.app !== app)) this.#drop(oldKey, id);
    if (target === null) return;
    const known = this.#targets.get(target);
    if (known) {
      const becameReady = pod.ready && !known.pod.ready;
      known.pod = pod;
      if (becameReady && known.push.refusals > 0 && known.timer !== undefined) {
        // a hint only (see the header): the sidecar probably listens now; one connect tells
        known.timer.cancel();
        known.timer = undefined;
        this.#setPush(known, { ...known.push, retryAtMs: 0 });
        this.#kick(known);
      }
      return;
    }
    const t: Target = { key: target, app, pod, push: IDLE_POD, timer: undefined, queued: false, queuedAt: 0, request: undefined };
    this.#targets.set(target, t);
    this.#byPod.set(id, target);
    this.#entry(app).targets.add(target);
    this.#kick(t);
  }

  removePod(pod: Pick<PodView, 'namespace' | 'name'>): void {
    const id = `${pod.namespace}/${pod.name}`;
    const key = this.#byPod.get(id);
    if (key !== undefined) this.#drop(key, id);
  }

  /** Re-sends every target its app's current state (forgets acknowledgements). */
  resync(): void {
    for (const t of this.#targets.values()) {
      if (t.push.acked !== null) t.push = { ...t.push, acked: null };
      this.#kick(t);
    }
  }

  /** Targets per app, for tests and debugging. */
  targetsOf(app: string): string[] {
    return [...(this.#apps.get(app)?.targets ?? [])];
  }

  /** Every `resyncMs` while running (re-armed after each round, so stop() ends it). */
  #scheduleResync(): void {
    if (this.#options.resyncMs <= 0) return;
    this.#resync = startTimer(this.#clock, this.#options.resyncMs, () => {
      this.#resync = undefined;
      if (!this.#running) return;
      this.resync();
      this.#scheduleResync();
    });
  }

  #entry(app: string): AppEntry {
    let e = this.#apps.get(app);
    if (!e) this.#apps.set(app, (e = { targets: new Set(), announcement: null }));
    return e;
  }

  #drop(key: string, podId: string): void {
    const t = this.#targets.get(key);
    this.#byPod.delete(podId);
    if (!t) return;
    this.#targets.delete(key);
    this.#setPush(t, IDLE_POD);
    t.timer?.cancel();
    t.request?.cancel('pod gone');
    t.request = undefined;
    const entry = this.#apps.get(t.app);
    if (entry) {
      entry.targets.delete(key);
      if (entry.announcement?.remaining.delete(key) && entry.announcement.remaining.size === 0) this.#announcementAcked(entry);
      if (entry.targets.size === 0 && this.#options.stateOf(t.app) === undefined) this.#apps.delete(t.app);
    }
  }

  #announcementAcked(entry: AppEntry): void {
    const announcement = entry.announcement;
    entry.announcement = null;
    announcement?.onAll();
  }

  /** Replaces a target's push state, keeping the not-listening count in step. */
  #setPush(t: Target, push: PodPush): void {
    this.#notListening += Number(push.refusals > 0) - Number(t.push.refusals > 0);
    t.push = push;
  }

  #kick(t: Target): void {
    if (!this.#running || t.queued || t.timer !== undefined) return;
    const step = nextStep(t.push, this.#options.stateOf(t.app) ?? null, this.#clock.now());
    switch (step.kind) {
      case 'send':
        t.queued = true;
        t.queuedAt = this.#clock.now();
        this.#queue.enqueue(t.pod.namespace, t);
        this.#pump();
        return;
      case 'wait':
        t.timer = startTimer(this.#clock, step.delayMs, () => {
          t.timer = undefined;
          this.#kick(t);
        });
        return;
      case 'idle':
      case 'busy':
        return;
    }
  }

  #pump(): void {
    while (this.#running) {
      const next = this.#queue.take();
      if (next === null) return;
      const t = next.item;
      t.queued = false;
      if (this.#targets.get(t.key) !== t) continue;
      const state = this.#options.stateOf(t.app);
      const step = nextStep(t.push, state ?? null, this.#clock.now());
      if (step.kind !== 'send' || state === undefined) {
        this.#kick(t);
        continue;
      }
      this.#send(t, next.namespace, step.order, this.#signedBody(t, state));
    }
  }

  /**
   * The one place the pusher gets a signed body: the state signed for this pod's key (the
   * newest it pins), built once per (state, key) by trust.ts and shared by every pod of that key.
   */
  #signedBody(t: Target, state: AppState): string {
    return this.#options.body(state, t.pod);
  }

  #send(t: Target, namespace: string, order: Order, body: string): void {
    t.push = started(t.push, order);
    this.#queue.begin(namespace);
    const queueSeconds = (this.#clock.now() - t.queuedAt) / 1000;
    const podName = `${t.pod.namespace}/${t.pod.name}`;
    t.request = this.#transport.put(t.pod.podIP as string, body, (result) => {
      this.#queue.end(namespace);
      t.request = undefined;
      if (this.#targets.get(t.key) === t && this.#running) this.#finished(t, podName, result);
      this.#pump();
      this.#options.onResult?.({ ...result, app: t.app, pod: podName, queueSeconds, stats: this.stats });
    });
  }

  #finished(t: Target, podName: string, result: PutResult): void {
    const outcome = result.status === 409 && this.#foreign(t, result.body) ? 'failed' : outcomeOf(result.status, result.error);
    this.#setPush(t, finished(t.push, outcome, this.#clock.now(), this.#clock.random(), this.#options.backoff, this.#options.listenBackoff));
    if (outcome === 'failed') this.#options.log?.debug({ app: t.app, pod: podName, status: result.status, error: result.error, failures: t.push.failures }, 'push failed');
    const entry = this.#apps.get(t.app);
    const announcement = entry?.announcement;
    if (entry && announcement && (outcome === 'applied' || outcome === 'stale') && t.push.acked !== null && !isOlder(t.push.acked, announcement.order)) {
      if (announcement.remaining.delete(t.key) && announcement.remaining.size === 0) this.#announcementAcked(entry);
    }
    this.#kick(t);
  }

  /** Whether a 409 answer names an order this controller never issued for the app (reported). */
  #foreign(t: Target, answer: string | null): boolean {
    const held = heldOrderOf(answer);
    const current = this.#options.stateOf(t.app);
    if (held === null || current === undefined || !isForeignOrder(held, current)) return false;
    this.#options.onForeignOrder?.({ app: t.app, pod: t.pod, held, current: orderOf(current) });
    return true;
  }
}

