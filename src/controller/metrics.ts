/**
 * The controller's Prometheus metrics (prom-client), one registry per process, and the
 * bookkeeping that feeds them from the controller's parts. Every name starts with
 * `version_observer_`, except Node's default metrics (process_*, nodejs_*, standard names);
 * label values are bounded (phases, changes, reasons, resources).
 *
 * Kept for existing dashboards: Node's default metrics also under their old prefixed names
 * (`version_observer_process_*`, `version_observer_nodejs_*`), deprecated: query the standard
 * names. The controller-runtime-style metrics live in runtime-metrics.ts (`runtime`).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { registerProcessMetrics } from '../platform/process-metrics.ts';
import { createRuntimeMetrics, type RuntimeMetrics } from './runtime-metrics.ts';
import { PHASES, type Phase } from '../core/app-state.ts';
import { outcomeOf } from '../core/push-policy.ts';
import type { PushReport } from './pusher.ts';

export interface ControllerMetrics {
  registry: Registry;
  leader: Gauge<never>;
  apps: Gauge<'phase'>;
  announcements: Counter<'change'>;
  pushDuration: Histogram<'result'>;
  pushFailures: Counter<'reason'>;
  pushNotListening: Counter<never>;
  pushQueueWait: Histogram<never>;
  pushInFlight: Gauge<never>;
  pushQueued: Gauge<never>;
  pushNamespacesAtBound: Gauge<never>;
  pushSidecarsNotListening: Gauge<never>;
  informerRestarts: Counter<'resource' | 'reason'>;
  announceLatency: Histogram<never>;
  reconciles: Counter<'result'>;
  queueDepth: Gauge<never>;
  events: Counter<'reason' | 'outcome'>;
  /** reconcile, work-queue and API-request metrics named like controller-runtime's */
  runtime: RuntimeMetrics;
  // --- admission webhook (src/controller/webhook/)
  webhookAdmissions: Counter<'outcome'>;
  webhookDuration: Histogram<never>;
  webhookVersionLabelProblems: Counter<never>;
  webhookOverrideRejections: Counter<'annotation'>;
  webhookCertRenewals: Counter<'certificate'>;
  webhookCertNotAfter: Gauge<'certificate'>;
  podsMissingSidecar: Gauge<never>;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): ControllerMetrics {
  const registry = new Registry();
  registerProcessMetrics(registry, 'controller', opts);
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'version_observer_' });
  const registers = [registry];
  return {
    registry,
    runtime: createRuntimeMetrics(registry),
    leader: new Gauge({ name: 'version_observer_leader', help: '1 while this replica holds the Lease and pushes, else 0', registers }),
    apps: new Gauge({ name: 'version_observer_apps', help: 'Apps by current phase', labelNames: ['phase'], registers }),
    announcements: new Counter({
      name: 'version_observer_announcements_total',
      help: 'New converged versions announced (pushed) by this replica as leader, by change',
      labelNames: ['change'],
      registers,
    }),
    pushDuration: new Histogram({
      name: 'version_observer_push_duration_seconds',
      help: 'Duration of one push to a sidecar, by result (applied, stale, failed, not_listening)',
      labelNames: ['result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    pushFailures: new Counter({
      name: 'version_observer_push_failures_total',
      help: 'Failed pushes by reason (timeout, reset, unreachable, too_large, network, http_<status>)',
      labelNames: ['reason'],
      registers,
    }),
    pushNotListening: new Counter({
      name: 'version_observer_push_not_listening_total',
      help: 'Pushes whose connect was refused (the sidecar was not listening; nothing sent, not a failure)',
      registers,
    }),
    pushQueueWait: new Histogram({
      name: 'version_observer_push_queue_wait_seconds',
      help: 'From a push being ready to send to its start (waiting for a slot in its namespace or in total)',
      buckets: [0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    pushInFlight: new Gauge({ name: 'version_observer_push_in_flight', help: 'Pushes in flight (at the last push result)', registers }),
    pushQueued: new Gauge({ name: 'version_observer_push_queued', help: 'Pushes waiting for a slot (at the last push result)', registers }),
    pushNamespacesAtBound: new Gauge({
      name: 'version_observer_push_namespaces_at_bound',
      help: 'Namespaces with pushes waiting only because they hold their per-namespace share of slots (at the last push result)',
      registers,
    }),
    pushSidecarsNotListening: new Gauge({
      name: 'version_observer_push_sidecars_not_listening',
      help: 'Pods whose sidecar refused the last connect (at the last push result)',
      registers,
    }),
    informerRestarts: new Counter({
      name: 'version_observer_informer_restarts_total',
      help: 'List/watch restarts after a failure (reason=error) or relists by the silence watchdog (reason=watchdog)',
      labelNames: ['resource', 'reason'],
      registers,
    }),
    announceLatency: new Histogram({
      name: 'version_observer_ready_to_announcement_seconds',
      help: 'From the last pod of a rollout seen Ready (watch event time) to every pod of the app acknowledging the announcement',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    reconciles: new Counter({ name: 'version_observer_reconciles_total', help: 'App reconciliations by result (ok, error, terminal)', labelNames: ['result'], registers }),
    queueDepth: new Gauge({ name: 'version_observer_queue_depth', help: 'Apps waiting in the work queue', registers }),
    events: new Counter({
      name: 'version_observer_events_total',
      help: 'Kubernetes Events by reason and outcome (created, series, deduplicated, rate_limited, failed)',
      labelNames: ['reason', 'outcome'],
      registers,
    }),
    webhookAdmissions: new Counter({
      name: 'version_observer_webhook_admissions_total',
      help: 'Pod admission reviews answered by this replica, by outcome (injected, already_injected, opted_out, no_app_label, excluded_namespace, not_a_pod_create, malformed)',
      labelNames: ['outcome'],
      registers,
    }),
    webhookDuration: new Histogram({
      name: 'version_observer_webhook_admission_duration_seconds',
      help: 'Time to answer one admission review, from request body parsed to response built',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05],
      registers,
    }),
    webhookVersionLabelProblems: new Counter({
      name: 'version_observer_webhook_version_label_problems_total',
      help: 'Injected pods admitted with a missing or invalid version label (each got an admission warning)',
      registers,
    }),
    webhookOverrideRejections: new Counter({
      name: 'version_observer_webhook_override_rejections_total',
      help: 'Resource override annotations ignored (malformed or out of bounds), by annotation',
      labelNames: ['annotation'],
      registers,
    }),
    webhookCertRenewals: new Counter({
      name: 'version_observer_webhook_certificate_renewals_total',
      help: 'Webhook certificates issued by this replica, by certificate (ca, serving)',
      labelNames: ['certificate'],
      registers,
    }),
    webhookCertNotAfter: new Gauge({
      name: 'version_observer_webhook_certificate_not_after_seconds',
      help: 'Expiry (unix seconds) of the serving certificate this replica serves and of the newest CA in the bundle',
      labelNames: ['certificate'],
      registers,
    }),
    podsMissingSidecar: new Gauge({
      name: 'version_observer_pods_missing_sidecar',
      help: 'Running pods labelled for injection that lack the sidecar (created while the webhook was unreachable), at the last sweep',
      registers,
    }),
  };
}

/** The starting values: every phase gauge at 0, not leading. */
export function resetControllerGauges(m: ControllerMetrics): void {
  for (const phase of PHASES) m.apps.set({ phase }, 0);
  m.leader.set(0);
}

/** Keeps `version_observer_apps{phase}` equal to the number of recorded apps in each phase. */
export function phaseCounter(m: ControllerMetrics): (phase: Phase, delta: number) => void {
  const counts = new Map<Phase, number>();
  return (phase, delta) => {
    const n = (counts.get(phase) ?? 0) + delta;
    counts.set(phase, n);
    m.apps.set({ phase }, n);
  };
}

/**
 * One push attempt: its duration by result (applied, stale, failed, not_listening), when failed
 * why, how long it waited for a slot, and the pusher's counts at that moment.
 */
export function recordPushResult(m: ControllerMetrics, r: Pick<PushReport, 'status' | 'error' | 'seconds'> & Partial<Pick<PushReport, 'queueSeconds' | 'stats'>>): void {
  const result = outcomeOf(r.status, r.error);
  m.pushDuration.observe({ result }, r.seconds);
  if (result === 'failed') m.pushFailures.inc({ reason: r.error ?? `http_${r.status}` });
  if (result === 'not_listening') m.pushNotListening.inc();
  if (r.queueSeconds !== undefined) m.pushQueueWait.observe(r.queueSeconds);
  if (r.stats) {
    m.pushInFlight.set(r.stats.inFlight);
    m.pushQueued.set(r.stats.queued);
    m.pushNamespacesAtBound.set(r.stats.namespacesAtBound);
    m.pushSidecarsNotListening.set(r.stats.notListening);
  }
}
