/**
 * The pusher (leader only): sends each pod of an app its app's current signed state (the push
 * of docs/protocol.md). The per-pod decisions (coalescing, one in flight, backoff,
 * 409 = acknowledged) are src/core/push-policy.ts; the HTTP put is push-transport.ts; this file
 * only schedules.
 *
 * Invariants:
 * - A pod is a target while core's isPushTarget holds (Running with an IP); a new IP is a new
 *   target. A target of an app with a state is pushed as soon as it appears.
 * - Running comes before the sidecar listens, so the first pushes to a new pod are often refused
 *   and back off; when the pod turns Ready (the sidecar's admin port answers its readiness probe)
 *   a target that is backing off is retried at once, so a state that arrives later (typically the
 *   announcement at the end of the rollout that started the pod) never waits out a long backoff.
 * - Latest wins: a push always carries the app's state at the moment it starts; states that
 *   arrive while a push is in flight or backing off are coalesced into the next one.
 * - At most `concurrency` pushes are in flight in total; waiting targets queue FIFO.
 * - Work per state change is O(targets of that app); per pod event O(1).
 * - Nothing is sent unless `start()`ed (leading); `stop()` aborts in-flight pushes, cancels
 *   timers and forgets acknowledgements (a new leader re-stamps every state anyway).
 * - Every `resyncMs` every target is sent its app's current state again (the sidecar answers 409
 *   when it holds it), which repairs a sidecar that restarted and lost its state.
 * - Each (state, key) is signed once, on its first send (the body comes from trust.ts).
 * - A 409 whose body names an order newer than the app's current state is foreign: reported,
 *   not acknowledged (an announcement waiting for that pod does not complete), retried with
 *   backoff.
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
import { heldOrderOf, isForeignOrder } from '../core/trust.ts';
import { IDLE_POD, finished, isPushTarget, nextStep, outcomeOf, podKey, started, type BackoffConfig, type PodPush } from '../core/push-policy.ts';
import { realClock, startTimer, type Clock, type Timer } from '../platform/clock.ts';
import type { Logger } from '../platform/logger.ts';
import { PushTransport, type PutHandle } from './push-transport.ts';

export interface PusherOptions {
  /** The sidecar's admin port on every pod. */
  port: number;
  /** Pushes in flight at most, in total. */
  concurrency: number;
  /** Per-push timeout, ms. */
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
  /** Retry bounds; default core's 250 ms → 30 s (full jitter). */
  backoff?: BackoffConfig;
  /** Called after every push attempt. status null = no HTTP answer. */
  onResult?: (r: { app: string; pod: string; status: number | null; error: string | null; seconds: number }) => void;
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
  #queue: Target[] = [];
  #active = 0;
  #running = false;
  #resync: Timer | undefined;

  constructor(options: PusherOptions) {
    this.#options = options;
    this.#clock = options.clock ?? realClock;
    this.#transport = new PushTransport({ port: options.port, timeoutMs: options.timeoutMs });
  }

  get running(): boolean {
    return this.#running;
  }

  get inFlight(): number {
    return this.#active;
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
    this.#queue = [];
    for (const t of this.#targets.values()) {
      t.timer?.cancel();
      t.timer = undefined;
      t.queued = false;
      t.request?.cancel('pusher stopped');
      t.request = undefined;
      t.push = IDLE_POD;
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
      if (becameReady && known.timer !== undefined) {
        // backing off after refused pushes: the sidecar answers now, retry at once
        known.timer.cancel();
        known.timer = undefined;
        known.push = { ...known.push, retryAtMs: 0 };
        this.#kick(known);
      }
      return;
    }
    const t: Target = { key: target, app, pod, push: IDLE_POD, timer: undefined, queued: false, request: undefined };
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

  #kick(t: Target): void {
    if (!this.#running || t.queued || t.timer !== undefined) return;
    const step = nextStep(t.push, this.#options.stateOf(t.app) ?? null, this.#clock.now());
    switch (step.kind) {
      case 'send':
        t.queued = true;
        this.#queue.push(t);
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
    while (this.#running && this.#active < this.#options.concurrency && this.#queue.length > 0) {
      const t = this.#queue.shift() as Target;
      t.queued = false;
      if (this.#targets.get(t.key) !== t) continue;
      const state = this.#options.stateOf(t.app);
      const step = nextStep(t.push, state ?? null, this.#clock.now());
      if (step.kind !== 'send' || state === undefined) {
        this.#kick(t);
        continue;
      }
      this.#send(t, step.order, this.#options.body(state, t.pod));
    }
  }

  #send(t: Target, order: Order, body: string): void {
    t.push = started(t.push, order);
    this.#active++;
    const podName = `${t.pod.namespace}/${t.pod.name}`;
    t.request = this.#transport.put(t.pod.podIP as string, body, (status, error, seconds, answer) => {
      this.#active--;
      t.request = undefined;
      this.#options.onResult?.({ app: t.app, pod: podName, status, error, seconds });
      if (this.#targets.get(t.key) === t && this.#running) {
        const outcome = status === 409 && this.#foreign(t, answer) ? 'failed' : outcomeOf(status);
        t.push = finished(t.push, outcome, this.#clock.now(), this.#clock.random(), this.#options.backoff);
        if (outcome === 'failed') this.#options.log?.debug({ app: t.app, pod: podName, status, error, failures: t.push.failures }, 'push failed');
        const announcement = this.#apps.get(t.app)?.announcement;
        if (announcement && outcome !== 'failed' && t.push.acked !== null && !isOlder(t.push.acked, announcement.order)) {
          if (announcement.remaining.delete(t.key) && announcement.remaining.size === 0) this.#announcementAcked(this.#apps.get(t.app) as AppEntry);
        }
        this.#kick(t);
      }
      this.#pump();
    });
  }

  /** Whether a 409 answer names an order this controller never issued for the app (reported). */
  #foreign(t: Target, answer: string | undefined): boolean {
    const held = heldOrderOf(answer);
    const current = this.#options.stateOf(t.app);
    if (held === null || current === undefined || !isForeignOrder(held, current)) return false;
    this.#options.onForeignOrder?.({ app: t.app, pod: t.pod, held, current: orderOf(current) });
    return true;
  }
}

