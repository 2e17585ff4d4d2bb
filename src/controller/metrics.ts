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

export interface ControllerMetrics {
  registry: Registry;
  leader: Gauge<never>;
  apps: Gauge<'phase'>;
  announcements: Counter<'change'>;
  pushDuration: Histogram<'result'>;
  pushFailures: Counter<'reason'>;
  informerRestarts: Counter<'resource' | 'reason'>;
  announceLatency: Histogram<never>;
  reconciles: Counter<'result'>;
  queueDepth: Gauge<never>;
  events: Counter<'reason' | 'outcome'>;
  /** reconcile, work-queue and API-request metrics named like controller-runtime's */
  runtime: RuntimeMetrics;
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
      help: 'Duration of one push to a sidecar, by result (applied, stale, failed)',
      labelNames: ['result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    pushFailures: new Counter({
      name: 'version_observer_push_failures_total',
      help: 'Failed pushes by reason (timeout, refused, reset, unreachable, network, http_<status>)',
      labelNames: ['reason'],
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

/** One push attempt: its duration by result (applied, stale, failed) and, when failed, why. */
export function recordPushResult(m: ControllerMetrics, r: { status: number | null; error: string | null; seconds: number }): void {
  const result = outcomeOf(r.status);
  m.pushDuration.observe({ result }, r.seconds);
  if (result === 'failed') m.pushFailures.inc({ reason: r.error ?? `http_${r.status}` });
}
