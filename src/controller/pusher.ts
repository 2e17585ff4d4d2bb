/**
 * The pusher (leader only): sends each pod of an app its app's current signed state,
 * `PUT http://<podIP>:<pushPort>/internal/v1/state` with `{ state, sig }` (DESIGN.md
 * "Controller → sidecar push"). The per-pod decisions (coalescing, one in flight, backoff,
 * 409 = acknowledged) are src/core/push-policy.ts; this file only schedules and does I/O.
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
 * - Each state is signed once, on its first send.
 */
import http from 'node:http';
import type { AppState } from '../core/app-state.ts';
import type { PodView } from '../core/evaluate.ts';
import { isOlder, orderOf, type Order } from '../core/order.ts';
import { IDLE_POD, finished, isPushTarget, nextStep, outcomeOf, podKey, started, type BackoffConfig, type PodPush } from '../core/push-policy.ts';
import { realClock, startTimer, type Clock, type Timer } from '../platform/clock.ts';
import type { Logger } from '../platform/logger.ts';

export interface PusherOptions {
  port: number;
  concurrency: number;
  timeoutMs: number;
  resyncMs: number;
  /** Signs a state: base64 Ed25519 over its canonical JSON. */
  sign: (state: AppState) => string;
  backoff?: BackoffConfig;
  /** Called after every push attempt. status null = no HTTP answer. */
  onResult?: (r: { app: string; pod: string; status: number | null; error: string | null; seconds: number }) => void;
  log?: Logger;
  /** Backoff, retry and resync time. Default: the real clock. */
  clock?: Clock;
}

interface AppEntry {
  state: AppState | null;
  order: Order | null;
  body: string | null;
  targets: Set<string>;
  /**
   * The announced state being acknowledged: `onAll` runs once every target present when it was
   * set acknowledged it (or a newer one). Set only for a state the controller announces (core
   * evaluate's `announce`): the pusher never decides what is an announcement.
   */
  announcement: { order: Order; remaining: Set<string>; onAll: () => void } | null;
}

interface Target {
  key: string;
  app: string;
  ip: string;
  podName: string;
  /** the pod's Ready condition as last seen */
  ready: boolean;
  push: PodPush;
  timer: Timer | undefined;
  queued: boolean;
  request: http.ClientRequest | undefined;
}

export class Pusher {
  readonly #o: PusherOptions;
  readonly #apps = new Map<string, AppEntry>();
  readonly #targets = new Map<string, Target>();
  /** "namespace/name" of a pod → its current target key. */
  readonly #byPod = new Map<string, string>();
  #queue: Target[] = [];
  #active = 0;
  #running = false;
  #resync: Timer | undefined;
  readonly #clock: Clock;
  readonly #agent: http.Agent;

  constructor(o: PusherOptions) {
    this.#o = o;
    this.#clock = o.clock ?? realClock;
    this.#agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 10_000, maxSockets: 1, maxFreeSockets: 1, timeout: 60_000, scheduling: 'lifo' });
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
      t.request?.destroy(new Error('pusher stopped'));
      t.request = undefined;
      t.push = IDLE_POD;
    }
    for (const a of this.#apps.values()) a.announcement = null;
  }

  /** Closes idle sockets; call after stop() on shutdown. */
  close(): void {
    this.stop();
    this.#agent.destroy();
  }

  /**
   * The app's current state (null: the app is gone). `onAnnouncementAcked`, given when the
   * controller announces this state, fires once every current
   * target has acknowledged this state (or a newer one), while this state is still current.
   */
  setState(app: string, state: AppState | null, onAnnouncementAcked?: () => void): void {
    if (state === null) {
      const entry = this.#apps.get(app);
      if (entry && entry.targets.size === 0) this.#apps.delete(app);
      else if (entry) Object.assign(entry, { state: null, order: null, body: null, announcement: null });
      return;
    }
    const entry = this.#entry(app);
    entry.state = state;
    entry.order = orderOf(state);
    entry.body = null;
    entry.announcement = onAnnouncementAcked && this.#running ? { order: entry.order, remaining: new Set(entry.targets), onAll: onAnnouncementAcked } : null;
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
      const becameReady = pod.ready && !known.ready;
      known.ready = pod.ready;
      if (becameReady && known.timer !== undefined) {
        // backing off after refused pushes: the sidecar answers now, retry at once
        known.timer.cancel();
        known.timer = undefined;
        known.push = { ...known.push, retryAtMs: 0 };
        this.#kick(known);
      }
      return;
    }
    const t: Target = { key: target, app, ip: pod.podIP as string, podName: id, ready: pod.ready, push: IDLE_POD, timer: undefined, queued: false, request: undefined };
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
    if (this.#o.resyncMs <= 0) return;
    this.#resync = startTimer(this.#clock, this.#o.resyncMs, () => {
      this.#resync = undefined;
      if (!this.#running) return;
      this.resync();
      this.#scheduleResync();
    });
  }

  #entry(app: string): AppEntry {
    let e = this.#apps.get(app);
    if (!e) this.#apps.set(app, (e = { state: null, order: null, body: null, targets: new Set(), announcement: null }));
    return e;
  }

  #drop(key: string, podId: string): void {
    const t = this.#targets.get(key);
    this.#byPod.delete(podId);
    if (!t) return;
    this.#targets.delete(key);
    t.timer?.cancel();
    t.request?.destroy(new Error('pod gone'));
    t.request = undefined;
    const entry = this.#apps.get(t.app);
    if (entry) {
      entry.targets.delete(key);
      if (entry.announcement?.remaining.delete(key) && entry.announcement.remaining.size === 0) this.#announcementAcked(entry);
      if (entry.targets.size === 0 && entry.state === null) this.#apps.delete(t.app);
    }
  }

  #announcementAcked(entry: AppEntry): void {
    const w = entry.announcement;
    entry.announcement = null;
    w?.onAll();
  }

  #kick(t: Target): void {
    if (!this.#running || t.queued || t.timer !== undefined) return;
    const entry = this.#apps.get(t.app);
    const step = nextStep(t.push, entry?.order ?? null, this.#clock.now());
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
    while (this.#running && this.#active < this.#o.concurrency && this.#queue.length > 0) {
      const t = this.#queue.shift() as Target;
      t.queued = false;
      if (this.#targets.get(t.key) !== t) continue;
      const entry = this.#apps.get(t.app);
      const step = nextStep(t.push, entry?.order ?? null, this.#clock.now());
      if (step.kind !== 'send' || !entry?.state) {
        this.#kick(t);
        continue;
      }
      if (entry.body === null) entry.body = JSON.stringify({ state: entry.state, sig: this.#o.sign(entry.state) });
      this.#send(t, step.order, entry.body);
    }
  }

  #send(t: Target, order: Order, body: string): void {
    t.push = started(t.push, order);
    this.#active++;
    const t0 = performance.now();
    let settled = false;
    const done = (status: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      this.#active--;
      t.request = undefined;
      const seconds = (performance.now() - t0) / 1000;
      this.#o.onResult?.({ app: t.app, pod: t.podName, status, error, seconds });
      if (this.#targets.get(t.key) === t && this.#running) {
        const outcome = outcomeOf(status);
        t.push = finished(t.push, outcome, this.#clock.now(), this.#clock.random(), this.#o.backoff);
        if (outcome === 'failed') this.#o.log?.debug({ app: t.app, pod: t.podName, status, error, failures: t.push.failures }, 'push failed');
        const entry = this.#apps.get(t.app);
        const w = entry?.announcement;
        if (w && outcome !== 'failed' && t.push.acked !== null && !isOlder(t.push.acked, w.order)) {
          if (w.remaining.delete(t.key) && w.remaining.size === 0) this.#announcementAcked(entry);
        }
        this.#kick(t);
      }
      this.#pump();
    };
    const req = http.request(
      {
        host: t.ip,
        port: this.#o.port,
        method: 'PUT',
        path: '/internal/v1/state',
        agent: this.#agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: this.#o.timeoutMs,
      },
      (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? null, null));
        res.on('error', (err) => done(null, errorReason(err)));
      },
    );
    t.request = req;
    req.on('timeout', () => req.destroy(Object.assign(new Error('push timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => done(null, errorReason(err)));
    req.end(body);
  }
}

/** A short, bounded reason for a network failure (metrics label). */
export function errorReason(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  switch (code) {
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ECONNREFUSED':
      return 'refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return 'unreachable';
    default:
      return 'network';
  }
}
