/**
 * Reconcile one app: read its pods and Deployments from the index, let core `evaluate` decide,
 * record the new state, and — as leader only — hand it to the pusher, count the announcement
 * and record the Events. The request is just the app key (controller-runtime): nothing about
 * the event that queued it.
 *
 * Invariants:
 * - A state is recorded only when it changed (core's `changed`: ignoring epoch/seq and the
 *   resourceVersion fence), so resyncs, no-op pod updates and Deployment status heartbeats
 *   produce no push, no Event, no seq.
 * - Each Deployment view goes to core with the resourceVersion of the cached object it was cut
 *   from, so a state names the Deployment read that decided it (its fence, docs/protocol.md).
 * - Every replica evaluates and records (so /v1/apps answers everywhere and a new leader knows
 *   every app); only the leader counts announcements, observes their latency and records Events.
 *   Followers still tell the pusher (it sends nothing until started).
 * - "Announce?" is core evaluate's `announce` alone (its first-sighting rule included): the
 *   count, the VersionConverged Event and the pusher's acknowledgement tracking all follow it.
 * - An app with no pods and no Deployments left is forgotten.
 */
import { evaluate, type InvalidPod } from '../core/evaluate.ts';
import type { AppState } from '../core/app-state.ts';
import { invalidVersionLabelEvent, transitionEvent } from '../core/transition-events.ts';
import type { Clock } from '../platform/clock.ts';
import type { Logger } from '../platform/logger.ts';
import type { AppRecords } from './app-records.ts';
import type { ControllerConfig } from './config.ts';
import type { EventRecorder, Regarding } from './events.ts';
import type { AppIndex } from './index-by-app.ts';
import type { ControllerMetrics } from './metrics.ts';
import type { Pusher } from './pusher.ts';
import type { HandlerResult } from './queue.ts';
import type { SlimDeployment } from './slim.ts';

export interface ReconcilerDeps {
  config: Pick<ControllerConfig, 'settleMs' | 'versionLabel'>;
  index: AppIndex;
  records: AppRecords;
  pusher: Pusher;
  events: EventRecorder;
  metrics: ControllerMetrics;
  log: Logger;
  clock: Clock;
  /** Keys waiting in the work queue (the queue-depth gauge). */
  queueLength(): number;
  leading(): boolean;
}

export class Reconciler {
  readonly #deps: ReconcilerDeps;

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
  }

  reconcile(app: string): HandlerResult | void {
    const { index, records, pusher, metrics, log, clock } = this.#deps;
    metrics.queueDepth.set(this.#deps.queueLength());
    const pods = [...index.pods(app)];
    const deployments = [...index.deployments(app)];
    const rec = records.get(app);
    if (pods.length === 0 && deployments.length === 0) {
      if (records.delete(app)) {
        pusher.stateChanged(app);
        log.info({ app }, 'app gone');
      }
      metrics.reconciles.inc({ result: 'ok' });
      return;
    }
    const previous = rec?.state ?? null;
    const ev = evaluate({
      app,
      pods: pods.map((p) => p.view),
      deployments: deployments.map((d) => ({ ...d.view, resourceVersion: d.metadata.resourceVersion })),
      previous,
      now: clock.now(),
      settleMs: this.#deps.config.settleMs,
      candidate: rec?.candidate ?? null,
      firstSighting: rec === undefined,
    });
    const leading = this.#deps.leading();
    if (ev.changed || !rec) {
      const state = records.record(app, ev.state, ev.candidate);
      // The line names the version move (`newVersion`), a first sighting included, as it always
      // has (benchmarks read it); what is announced is `ev.announce`.
      log.info(
        { app, phase: state.phase, version: state.version, reason: state.reason, change: state.change, serving: state.serving, announce: ev.newVersion, leading, epoch: state.epoch, seq: state.seq, deploymentResourceVersion: state.resourceVersion },
        ev.newVersion ? 'announcing new version' : 'app state changed',
      );
      if (leading) {
        pusher.stateChanged(app, ev.announce ? this.#countAnnouncement(app, state) : undefined);
        this.#recordTransitionEvents(previous, state, ev.announce, deployments);
      } else {
        pusher.stateChanged(app);
      }
    } else {
      records.keepCandidate(app, ev.candidate);
    }
    if (leading && ev.invalidPods.length > 0) this.#recordInvalidPods(app, ev.invalidPods);
    metrics.reconciles.inc({ result: 'ok' });
    if (ev.settleRemainingMs !== undefined) return { requeueAfterMs: ev.settleRemainingMs };
  }

  /** Counts the announcement; returns what observes its latency once every pod acknowledged it. */
  #countAnnouncement(app: string, state: AppState): (() => void) | undefined {
    const { metrics, clock } = this.#deps;
    metrics.announcements.inc({ change: state.change });
    const readyAt = this.#deps.index.lastReadyObservedAt(app);
    return readyAt === undefined ? undefined : () => metrics.announceLatency.observe((clock.now() - readyAt) / 1000);
  }

  #recordTransitionEvents(previous: AppState | null, state: AppState, announce: boolean, deployments: SlimDeployment[]): void {
    const targets: Regarding[] = deployments.map((d) => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: d.metadata.namespace, name: d.metadata.name, uid: d.metadata.uid }));
    if (targets.length === 0) return;
    const event = transitionEvent(previous, state, announce);
    if (!event) return;
    for (const t of targets) this.#deps.events.record(t, event.type, event.reason, event.note, event.action);
  }

  #recordInvalidPods(app: string, invalid: InvalidPod[]): void {
    const uidByName = new Map<string, string>();
    for (const p of this.#deps.index.pods(app)) uidByName.set(p.metadata.name, p.metadata.uid);
    for (const bad of invalid) {
      const uid = uidByName.get(bad.name);
      if (uid === undefined) continue;
      const event = invalidVersionLabelEvent(app, this.#deps.config.versionLabel, bad);
      this.#deps.events.record({ apiVersion: 'v1', kind: 'Pod', namespace: bad.namespace, name: bad.name, uid }, event.type, event.reason, event.note, event.action);
    }
  }
}
