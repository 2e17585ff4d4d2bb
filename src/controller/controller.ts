/**
 * The controller: informers → app index → work queue → reconcile (core evaluate) → app records
 * with (epoch, seq) → pusher + Events, plus the views the HTTP API serves. This file wires the
 * parts and holds the lifecycle and leadership; each part has its own file:
 *
 *   app-informers.ts   pod/Deployment informers per scope          change-filter.ts  which events queue a reconcile
 *   index-by-app.ts    objects grouped by app                       queue.ts          the work queue and its worker
 *   reconcile.ts       one app: evaluate, record, push, Events      app-records.ts    the states and their (epoch, seq)
 *   pusher.ts          delivery to the pods (push-transport.ts)     events.ts         Kubernetes Events, flood control
 *   metrics.ts         the metrics and their bookkeeping
 *
 * Invariants:
 * - Level-triggered: a queue key is just the app; reconcile re-reads the index, so a burst of
 *   events for one app costs one evaluation, and an event costs O(objects of its app).
 * - Every replica evaluates (so /v1/apps answers everywhere and a new leader knows the history
 *   of every app), but only the leader pushes, records Events and counts announcements.
 * - On becoming leader with epoch E every app's state is re-stamped (E, 1..n) and pushed, so
 *   every pod gets the current state from the new leader (its old-epoch states are older by
 *   (epoch, seq)).
 * - Nothing is reconciled before every informer has synced (see start()).
 * - Time (queue delays, push backoff, resync, informer restarts, Event windows) is read from one
 *   injected Clock.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { AppState } from '../core/app-state.ts';
import { realClock, type Clock } from '../platform/clock.ts';
import type { Logger } from '../platform/logger.ts';
import { buildAppInformers, type AppInformer } from './app-informers.ts';
import { AppRecords } from './app-records.ts';
import { appsToReconcile } from './change-filter.ts';
import type { ControllerConfig } from './config.ts';
import { EventRecorder } from './events.ts';
import { AppIndex } from './index-by-app.ts';
import { phaseCounter, recordPushResult, resetControllerGauges, type ControllerMetrics } from './metrics.ts';
import { Pusher } from './pusher.ts';
import { WorkQueue, runWorker } from './queue.ts';
import { Reconciler } from './reconcile.ts';
import { appKeyOf, type SlimPod } from './slim.ts';
import type { Trust } from './trust.ts';

export interface ControllerDeps {
  config: ControllerConfig;
  kubeConfig: KubeConfig;
  /** The keys and installation pushes are signed with (src/controller/trust.ts). */
  trust: Trust;
  metrics: ControllerMetrics;
  log: Logger;
  /** Every timer and time read of the controller (queue, pusher, informers, Events). Default: the real clock. */
  clock?: Clock;
}

export class Controller {
  readonly #log: Logger;
  readonly #metrics: ControllerMetrics;
  readonly #clock: Clock;
  readonly #index = new AppIndex();
  readonly #queue: WorkQueue;
  readonly #records: AppRecords;
  readonly #pusher: Pusher;
  readonly #reconciler: Reconciler;
  readonly #informers: AppInformer[];
  readonly #trust: Trust;
  readonly #events: EventRecorder;
  #worker: Promise<void> | undefined;
  #leading = false;

  constructor(deps: ControllerDeps) {
    const { config, metrics, log } = deps;
    this.#log = log;
    this.#metrics = metrics;
    this.#clock = deps.clock ?? realClock;
    this.#trust = deps.trust;
    this.#queue = new WorkQueue({ clock: this.#clock, observer: metrics.runtime.queue });
    resetControllerGauges(metrics);
    this.#records = new AppRecords(phaseCounter(metrics));
    this.#pusher = new Pusher({
      port: config.pushPort,
      concurrency: config.pushConcurrency,
      timeoutMs: config.pushTimeoutMs,
      resyncMs: config.resyncMs,
      stateOf: (app) => this.#records.stateOf(app),
      body: (state, pod) => deps.trust.body(state, pod),
      onForeignOrder: (r) => this.#onForeignOrder(r),
      log,
      clock: this.#clock,
      onResult: (result) => recordPushResult(metrics, result),
    });
    const events = (this.#events = new EventRecorder({
      kubeConfig: deps.kubeConfig,
      controller: 'version-observer.io/controller',
      instance: config.identity,
      dedupMs: config.eventDedupMs,
      log,
      clock: this.#clock,
      onOutcome: (reason, outcome) => metrics.events.inc({ reason, outcome }),
    }));
    this.#reconciler = new Reconciler({
      config,
      index: this.#index,
      records: this.#records,
      pusher: this.#pusher,
      events,
      metrics,
      log,
      clock: this.#clock,
      queueLength: () => this.#queue.length,
      leading: () => this.#leading,
    });
    this.#informers = buildAppInformers({
      kubeConfig: deps.kubeConfig,
      namespaces: config.namespaces,
      versionLabel: config.versionLabel,
      watchSilenceMs: config.watchSilenceMs,
      clock: this.#clock,
      metrics,
      log,
      handlers: {
        podChanged: (pod) => this.#onPod(pod),
        podDeleted: (pod) => this.#onPodDeleted(pod),
        deploymentChanged: (d) => this.#enqueue(this.#index.upsertDeployment(d)),
        deploymentDeleted: (d) => this.#enqueue(this.#index.deleteDeployment(d)),
      },
    });
  }

  // --- lifecycle

  /**
   * Starts the informers, and the worker once every cache has synced (client-go's
   * WaitForCacheSync): evaluating from a half-listed cache — pods listed, Deployments not yet —
   * could call a rollout converged that is not.
   */
  start(): void {
    for (const informer of this.#informers) informer.start();
    this.#worker = this.synced().then(() => {
      this.#log.info({ apps: this.#index.apps().size, pods: this.#index.podCount }, 'caches synced: reconciling');
      return runWorker(this.#queue, (app) => this.#reconciler.reconcile(app), {
        onError: (app, err, terminal) => {
          this.#metrics.reconciles.inc({ result: terminal ? 'terminal' : 'error' });
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
    if (this.#leading && epoch === this.#records.epoch) return;
    this.#leading = true;
    for (const app of this.#records.restamp(epoch)) this.#pusher.stateChanged(app);
    this.#pusher.start();
    this.#metrics.leader.set(1);
    this.#log.info({ epoch, apps: this.#records.size }, 'started leading: pushing');
    this.#enqueue(this.#index.apps());
  }

  stopLeading(): void {
    if (!this.#leading) return;
    this.#leading = false;
    this.#pusher.stop();
    this.#metrics.leader.set(0);
    this.#log.info({ epoch: this.#records.epoch }, 'stopped leading: pushes stopped');
  }

  get leading(): boolean {
    return this.#leading;
  }

  get epoch(): number {
    return this.#records.epoch;
  }

  // --- views

  apps(): AppState[] {
    return this.#records.states();
  }

  app(key: string): AppState | undefined {
    return this.#records.stateOf(key);
  }

  // --- informer events

  #onPod(pod: SlimPod): void {
    const change = this.#index.upsertPod(pod, this.#clock.now());
    const app = change.after ? appKeyOf(change.after) : null;
    if (app !== null) {
      this.#pusher.upsertPod(app, pod.view);
      this.#trust.podSeen(pod.view);
    } else {
      this.#pusher.removePod(pod.view);
      this.#trust.podGone(pod.view);
    }
    this.#enqueue(appsToReconcile(change, pod));
  }

  #onPodDeleted(pod: SlimPod): void {
    const change = this.#index.deletePod(pod);
    this.#pusher.removePod(pod.view);
    this.#trust.podGone(pod.view);
    this.#enqueue(change.apps);
  }

  /** A sidecar holds an order we never issued (forged, or another installation's): count, log, Warning Event. */
  #onForeignOrder(r: { app: string; pod: { namespace: string; name: string }; held: { epoch: number; seq: number }; current: { epoch: number; seq: number } }): void {
    const { app, pod, held, current } = r;
    this.#trust.foreignOrder();
    this.#log.warn({ app, pod: `${pod.namespace}/${pod.name}`, held, current }, 'sidecar holds an (epoch, seq) this controller never issued; not counted as delivered');
    const uid = [...this.#index.pods(app)].find((p) => p.metadata.namespace === pod.namespace && p.metadata.name === pod.name)?.metadata.uid;
    if (uid === undefined || !this.#leading) return;
    const note = `sidecar holds (${held.epoch}, ${held.seq}), which this controller never issued (its newest for ${app} is (${current.epoch}, ${current.seq})): a forged or foreign state; restart the pod to clear it`;
    this.#events.record({ apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name, uid }, 'Warning', 'ForeignStateHeld', note, 'Push');
  }

  #enqueue(apps: Iterable<string>): void {
    for (const app of apps) this.#queue.add(app);
  }
}
