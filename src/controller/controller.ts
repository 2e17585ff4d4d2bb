/**
 * The controller: informers → app index → work queue → evaluator (src/core) → AppState with
 * (epoch, seq) → pusher + Events, plus the views the HTTP API serves.
 *
 * Invariants:
 * - Level-triggered: a queue key is just the app; reconcile re-reads the index, so a burst of
 *   events for one app costs one evaluation, and an event costs O(objects of its app).
 * - Every replica evaluates (so /v1/apps answers everywhere and a new leader knows the history
 *   of every app), but only the leader pushes, records Events and counts announcements.
 * - (epoch, seq): epoch is the election's, seq a per-epoch counter that increases on every state
 *   change of any app. On becoming leader with epoch E every app's state is re-stamped (E, 1..n)
 *   and pushed, so every pod gets the current state from the new leader (its old-epoch states
 *   are older by (epoch, seq)).
 * - A state is recorded only when it changed (core's `changed`: ignoring epoch/seq), so
 *   resyncs and no-op pod updates produce no push, no Event, no seq.
 */
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { AppState, Phase } from '../core/app-state.ts';
import { evaluate, type InvalidPod, type SettleCandidate } from '../core/evaluate.ts';
import { signState, type SigningKey } from '../core/signature.ts';
import { invalidVersionLabelEvent, transitionEvent } from '../core/transition-events.ts';
import { realClock, type Clock } from '../platform/clock.ts';
import type { Logger } from '../platform/logger.ts';
import { APP_LABEL } from '../core/labels.ts';
import type { ControllerConfig } from './config.ts';
import { EventRecorder, type Regarding } from './events.ts';
import { AppIndex } from './index-by-app.ts';
import { Informer, type ListPage } from './informer.ts';
import type { ControllerMetrics } from './metrics.ts';
import { Pusher } from './pusher.ts';
import { WorkQueue, runWorker, type HandlerResult } from './queue.ts';
import { appKeyOf, slimDeployment, slimPod, type SlimDeployment, type SlimPod } from './slim.ts';

export interface ControllerDeps {
  config: ControllerConfig;
  kubeConfig: KubeConfig;
  key: SigningKey;
  metrics: ControllerMetrics;
  log: Logger;
  /** Every timer and time read of the controller (queue, pusher, informers, Events). Default: the real clock. */
  clock?: Clock;
}

interface AppRecord {
  state: AppState;
  candidate: SettleCandidate | null;
}

export class Controller {
  readonly #c: ControllerConfig;
  readonly #log: Logger;
  readonly #m: ControllerMetrics;
  readonly #clock: Clock;
  readonly #index = new AppIndex();
  readonly #queue: WorkQueue;
  readonly #records = new Map<string, AppRecord>();
  readonly #pusher: Pusher;
  readonly #events: EventRecorder;
  readonly #informers: Array<Informer<SlimPod> | Informer<SlimDeployment>> = [];
  readonly #phaseCounts = new Map<Phase, number>();
  #worker: Promise<void> | undefined;
  #leading = false;
  #epoch = 0;
  #seq = 0;

  constructor(d: ControllerDeps) {
    this.#c = d.config;
    this.#log = d.log;
    this.#m = d.metrics;
    this.#clock = d.clock ?? realClock;
    this.#queue = new WorkQueue({ clock: this.#clock });
    const key = d.key;
    this.#pusher = new Pusher({
      port: d.config.pushPort,
      concurrency: d.config.pushConcurrency,
      timeoutMs: d.config.pushTimeoutMs,
      resyncMs: d.config.resyncMs,
      stateOf: (app) => this.#records.get(app)?.state,
      sign: (s) => signState(s, key),
      log: d.log,
      clock: this.#clock,
      onResult: ({ status, error, seconds }) => {
        const result = status === 204 || status === 200 ? 'applied' : status === 409 ? 'stale' : 'failed';
        this.#m.pushDuration.observe({ result }, seconds);
        if (result === 'failed') this.#m.pushFailures.inc({ reason: error ?? `http_${status}` });
      },
    });
    this.#events = new EventRecorder({
      kubeConfig: d.kubeConfig,
      controller: 'version-observer.io/controller',
      instance: d.config.identity,
      dedupMs: d.config.eventDedupMs,
      log: d.log,
      clock: this.#clock,
      onOutcome: (reason, outcome) => this.#m.events.inc({ reason, outcome }),
    });
    for (const p of ['converged', 'progressing', 'degraded'] as const) this.#m.apps.set({ phase: p }, 0);
    this.#m.leader.set(0);
    this.#buildInformers(d.kubeConfig);
  }

  // --- lifecycle

  /**
   * Starts the informers, and the worker once every cache has synced (client-go's
   * WaitForCacheSync): evaluating from a half-listed cache — pods listed, Deployments not yet —
   * could call a rollout converged that is not.
   */
  start(): void {
    for (const inf of this.#informers) inf.start();
    this.#worker = this.synced().then(() => {
      this.#log.info({ apps: this.#index.apps().size, pods: this.#index.podCount }, 'caches synced: reconciling');
      return runWorker(this.#queue, (app) => this.#reconcile(app), {
        onError: (app, err, terminal) => {
          this.#m.reconciles.inc({ result: terminal ? 'terminal' : 'error' });
          this.#log.error({ app, err, terminal }, 'reconcile failed');
        },
      });
    });
  }

  hasSynced(): boolean {
    return this.#informers.every((i) => i.hasSynced());
  }

  async synced(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.synced()));
  }

  async stop(): Promise<void> {
    this.stopLeading();
    this.#pusher.close();
    this.#queue.shutdown();
    await Promise.all(this.#informers.map((i) => i.stop()));
    if (this.hasSynced()) await this.#worker;
  }

  // --- leadership (called by the elector's callbacks)

  startLeading(epoch: number): void {
    if (this.#leading && epoch === this.#epoch) return;
    this.#leading = true;
    this.#epoch = epoch;
    this.#seq = 0;
    for (const [app, rec] of [...this.#records].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      rec.state = { ...rec.state, epoch, seq: ++this.#seq };
      this.#pusher.stateChanged(app);
    }
    this.#pusher.start();
    this.#m.leader.set(1);
    this.#log.info({ epoch, apps: this.#records.size }, 'started leading: pushing');
    for (const app of this.#index.apps()) this.#queue.add(app);
  }

  stopLeading(): void {
    if (!this.#leading) return;
    this.#leading = false;
    this.#pusher.stop();
    this.#m.leader.set(0);
    this.#log.info({ epoch: this.#epoch }, 'stopped leading: pushes stopped');
  }

  get leading(): boolean {
    return this.#leading;
  }

  get epoch(): number {
    return this.#epoch;
  }

  // --- views

  apps(): AppState[] {
    return [...this.#records.values()].map((r) => r.state).sort((a, b) => (a.app < b.app ? -1 : a.app > b.app ? 1 : 0));
  }

  app(key: string): AppState | undefined {
    return this.#records.get(key)?.state;
  }

  // --- internals

  #buildInformers(kc: KubeConfig): void {
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const scopes: Array<string | null> = this.#c.namespaces.length > 0 ? [...this.#c.namespaces] : [null];
    const labelSelector = APP_LABEL;
    const limit = 500;
    const silenceMs = this.#c.watchSilenceMs;
    const onRestart = (resource: string) => (reason: 'error' | 'watchdog', err?: unknown, delayMs?: number) => {
      this.#m.informerRestarts.inc({ resource, reason });
      const msg = err instanceof Error ? err.message : err === undefined ? undefined : String((err as { message?: unknown })?.message ?? err);
      this.#log.warn({ resource, reason, err: msg, delayMs }, reason === 'watchdog' ? 'watch silent too long: relisting' : 'list/watch failed: restarting');
    };
    for (const ns of scopes) {
      const podInformer = new Informer<SlimPod>({
        kubeConfig: kc,
        resource: 'pods',
        path: ns ? `/api/v1/namespaces/${ns}/pods` : '/api/v1/pods',
        labelSelector,
        listPage: (cont) =>
          (ns
            ? core.listNamespacedPod({ namespace: ns, labelSelector, limit, _continue: cont })
            : core.listPodForAllNamespaces({ labelSelector, limit, _continue: cont })) as Promise<ListPage>,
        slim: (raw) => slimPod(raw, this.#c.versionLabel),
        silenceMs,
        onRestart: onRestart('pods'),
        clock: this.#clock,
      });
      podInformer.on('add', (p) => this.#onPod(p));
      podInformer.on('update', (p) => this.#onPod(p));
      podInformer.on('delete', (p) => this.#onPodDeleted(p));
      const deployInformer = new Informer<SlimDeployment>({
        kubeConfig: kc,
        resource: 'deployments',
        path: ns ? `/apis/apps/v1/namespaces/${ns}/deployments` : '/apis/apps/v1/deployments',
        labelSelector,
        listPage: (cont) =>
          (ns
            ? apps.listNamespacedDeployment({ namespace: ns, labelSelector, limit, _continue: cont })
            : apps.listDeploymentForAllNamespaces({ labelSelector, limit, _continue: cont })) as Promise<ListPage>,
        slim: slimDeployment,
        silenceMs,
        onRestart: onRestart('deployments'),
        clock: this.#clock,
      });
      deployInformer.on('add', (d) => this.#onDeployment(d));
      deployInformer.on('update', (d) => this.#onDeployment(d));
      deployInformer.on('delete', (d) => {
        for (const app of this.#index.deleteDeployment(d)) this.#queue.add(app);
      });
      this.#informers.push(podInformer, deployInformer);
    }
  }

  #onPod(pod: SlimPod): void {
    const change = this.#index.upsertPod(pod, this.#clock.now());
    const app = change.after ? appKeyOf(change.after) : null;
    if (app !== null) this.#pusher.upsertPod(app, pod.view);
    else this.#pusher.removePod(pod.view);
    const b = change.before?.view;
    const a = pod.view;
    const same = change.apps.length === 1 && b !== undefined && change.before?.app === pod.app && b.ready === a.ready && b.terminating === a.terminating && b.versionLabel === a.versionLabel;
    if (same) return;
    for (const app of change.apps) this.#queue.add(app);
  }

  #onPodDeleted(pod: SlimPod): void {
    const change = this.#index.deletePod(pod);
    this.#pusher.removePod(pod.view);
    for (const app of change.apps) this.#queue.add(app);
  }

  #onDeployment(d: SlimDeployment): void {
    for (const app of this.#index.upsertDeployment(d)) this.#queue.add(app);
  }

  #reconcile(app: string): HandlerResult | void {
    this.#m.queueDepth.set(this.#queue.length);
    const pods = [...this.#index.pods(app)];
    const deployments = [...this.#index.deployments(app)];
    const rec = this.#records.get(app);
    if (pods.length === 0 && deployments.length === 0) {
      if (rec) {
        this.#records.delete(app);
        this.#countPhase(rec.state.phase, -1);
        this.#pusher.stateChanged(app);
        this.#log.info({ app }, 'app gone');
      }
      this.#m.reconciles.inc({ result: 'ok' });
      return;
    }
    const now = this.#clock.now();
    const ev = evaluate({
      app,
      pods: pods.map((p) => p.view),
      deployments: deployments.map((d) => d.view),
      previous: rec?.state ?? null,
      now,
      settleMs: this.#c.settleMs,
      candidate: rec?.candidate ?? null,
      firstSighting: rec === undefined,
    });
    const previous = rec?.state ?? null;
    if (ev.changed || !rec) {
      const state: AppState = { ...ev.state, epoch: this.#epoch, seq: ++this.#seq };
      if (rec) {
        rec.state = state;
        rec.candidate = ev.candidate;
        if (previous!.phase !== state.phase) {
          this.#countPhase(previous!.phase, -1);
          this.#countPhase(state.phase, 1);
        }
      } else {
        this.#records.set(app, { state, candidate: ev.candidate });
        this.#countPhase(state.phase, 1);
      }
      // The line names the version move (`newVersion`), a first sighting included, as it always
      // has (benchmarks read it); what is announced is `ev.announce`.
      this.#log.info(
        { app, phase: state.phase, version: state.version, reason: state.reason, change: state.change, serving: state.serving, announce: ev.newVersion, leading: this.#leading, epoch: state.epoch, seq: state.seq },
        ev.newVersion ? 'announcing new version' : 'app state changed',
      );
      if (this.#leading) {
        let onAnnouncementAcked: (() => void) | undefined;
        const announce = ev.announce;
        if (announce) {
          this.#m.announcements.inc({ change: state.change });
          const readyAt = this.#index.lastReadyObservedAt(app);
          if (readyAt !== undefined) onAnnouncementAcked = () => this.#m.announceLatency.observe((this.#clock.now() - readyAt) / 1000);
        }
        this.#pusher.stateChanged(app, onAnnouncementAcked);
        this.#recordTransitionEvents(previous, state, announce, deployments);
      } else {
        this.#pusher.stateChanged(app);
      }
    } else if (rec) {
      rec.candidate = ev.candidate;
    }
    if (this.#leading && ev.invalidPods.length > 0) this.#recordInvalidPods(app, ev.invalidPods);
    this.#m.reconciles.inc({ result: 'ok' });
    if (ev.settleRemainingMs !== undefined) return { requeueAfterMs: ev.settleRemainingMs };
  }

  #countPhase(phase: Phase, delta: number): void {
    const n = (this.#phaseCounts.get(phase) ?? 0) + delta;
    this.#phaseCounts.set(phase, n);
    this.#m.apps.set({ phase }, n);
  }

  #recordTransitionEvents(prev: AppState | null, state: AppState, announce: boolean, deployments: SlimDeployment[]): void {
    const targets: Regarding[] = deployments.map((d) => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: d.metadata.namespace, name: d.metadata.name, uid: d.metadata.uid }));
    if (targets.length === 0) return;
    const event = transitionEvent(prev, state, announce);
    if (!event) return;
    for (const t of targets) this.#events.record(t, event.type, event.reason, event.note, event.action);
  }

  #recordInvalidPods(app: string, invalid: InvalidPod[]): void {
    const byName = new Map<string, SlimPod>();
    for (const p of this.#index.pods(app)) byName.set(p.metadata.name, p);
    for (const bad of invalid) {
      const pod = byName.get(bad.name);
      if (!pod) continue;
      const event = invalidVersionLabelEvent(app, this.#c.versionLabel, bad);
      this.#events.record({ apiVersion: 'v1', kind: 'Pod', namespace: bad.namespace, name: bad.name, uid: pod.metadata.uid }, event.type, event.reason, event.note, event.action);
    }
  }
}
