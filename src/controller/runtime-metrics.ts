/**
 * The metrics every controller-runtime dashboard expects, under our prefix and with the same
 * meaning, so an operator's existing panels port by renaming:
 *
 *   version_observer_reconcile_duration_seconds{controller}   ≈ controller_runtime_reconcile_time_seconds
 *   version_observer_reconcile_total{controller,result}       ≈ controller_runtime_reconcile_total
 *                                                                (result: success, error, requeue_after)
 *   version_observer_reconcile_errors_total{controller}       ≈ controller_runtime_reconcile_errors_total
 *   version_observer_terminal_reconcile_errors_total{controller} ≈ controller_runtime_terminal_reconcile_errors_total
 *   version_observer_workqueue_{depth,adds_total,queue_duration_seconds,work_duration_seconds,
 *     retries_total,unfinished_work_seconds,longest_running_processor_seconds}{name}   ≈ workqueue_*
 *   version_observer_rest_client_requests_total{verb,code}    ≈ rest_client_requests_total
 *   version_observer_rest_client_request_duration_seconds{verb} ≈ rest_client_request_duration_seconds
 *   version_observer_app_state_epoch{app}, _seq{app}          the (epoch, seq) this replica holds
 *     per app; a sidecar holding less than the max over replicas is stale (the alert compares them).
 *
 * Invariant: label values are bounded (one controller, one queue, HTTP verbs and codes, apps).
 * Everything that has to be read rather than counted (unfinished work, states) is read at
 * scrape time through a provider bound after construction.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AppState } from '../core/app-state.ts';
import type { QueueObserver, ReconcileResult } from './queue.ts';

/** The one controller and the one queue: the values of the `controller` and `name` labels. */
export const CONTROLLER_NAME = 'app';

export interface RuntimeMetrics {
  /** What the work queue and its worker report (see WorkQueue's `observer` option). */
  queue: QueueObserver;
  /** One Kubernetes API request: HTTP verb (WATCH for a watch), status code (or "error" when none came back), seconds. */
  apiRequest(verb: string, code: string, seconds: number): void;
  /** The states whose (epoch, seq) the app_state gauges show; bound once the controller exists. */
  bindStates(states: () => readonly AppState[]): void;
}

const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createRuntimeMetrics(registry: Registry): RuntimeMetrics {
  const registers = [registry];
  const controller = CONTROLLER_NAME;
  const reconcileDuration = new Histogram({
    name: 'version_observer_reconcile_duration_seconds',
    help: 'Time per reconciliation of one app (controller_runtime_reconcile_time_seconds).',
    labelNames: ['controller'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const reconcileTotal = new Counter({
    name: 'version_observer_reconcile_total',
    help: 'Reconciliations by result: success, error, requeue_after (controller_runtime_reconcile_total).',
    labelNames: ['controller', 'result'],
    registers,
  });
  const reconcileErrors = new Counter({ name: 'version_observer_reconcile_errors_total', help: 'Reconciliations that failed, terminal ones included.', labelNames: ['controller'], registers });
  const terminalErrors = new Counter({ name: 'version_observer_terminal_reconcile_errors_total', help: 'Reconciliations that failed with an error retrying cannot fix (never retried).', labelNames: ['controller'], registers });
  for (const result of ['success', 'error', 'requeue_after']) reconcileTotal.inc({ controller, result }, 0);
  reconcileErrors.inc({ controller }, 0);
  terminalErrors.inc({ controller }, 0);

  const name = CONTROLLER_NAME;
  const depth = new Gauge({ name: 'version_observer_workqueue_depth', help: 'Keys waiting in the work queue (workqueue_depth).', labelNames: ['name'], registers });
  const adds = new Counter({ name: 'version_observer_workqueue_adds_total', help: 'Keys added to the work queue, duplicates of a waiting key not counted (workqueue_adds_total).', labelNames: ['name'], registers });
  const retries = new Counter({ name: 'version_observer_workqueue_retries_total', help: 'Rate-limited re-adds after a failed reconciliation (workqueue_retries_total).', labelNames: ['name'], registers });
  const queueDuration = new Histogram({
    name: 'version_observer_workqueue_queue_duration_seconds',
    help: 'Time a key waited in the queue before a worker took it (workqueue_queue_duration_seconds).',
    labelNames: ['name'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const workDuration = new Histogram({
    name: 'version_observer_workqueue_work_duration_seconds',
    help: 'Time a worker spent on one key (workqueue_work_duration_seconds).',
    labelNames: ['name'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  let running: () => readonly number[] = () => [];
  let now: () => number = () => Date.now();
  new Gauge({
    name: 'version_observer_workqueue_unfinished_work_seconds',
    help: 'Seconds of work in progress and not yet observed by work_duration; a large value with no progress means a stuck worker (workqueue_unfinished_work_seconds).',
    labelNames: ['name'],
    registers,
    collect() {
      const t = now();
      this.set({ name }, running().reduce((sum, since) => sum + (t - since) / 1000, 0));
    },
  });
  new Gauge({
    name: 'version_observer_workqueue_longest_running_processor_seconds',
    help: 'Seconds the longest-running worker has been on its key (workqueue_longest_running_processor_seconds).',
    labelNames: ['name'],
    registers,
    collect() {
      const t = now();
      this.set({ name }, running().reduce((longest, since) => Math.max(longest, (t - since) / 1000), 0));
    },
  });
  depth.set({ name }, 0);
  adds.inc({ name }, 0);
  retries.inc({ name }, 0);

  const requests = new Counter({
    name: 'version_observer_rest_client_requests_total',
    help: 'Requests to the Kubernetes API by verb (GET, POST, PUT, PATCH, DELETE; WATCH for a watch) and status code ("error" when no response came back) (rest_client_requests_total).',
    labelNames: ['verb', 'code'],
    registers,
  });
  const requestDuration = new Histogram({
    name: 'version_observer_rest_client_request_duration_seconds',
    help: 'Kubernetes API request latency until the response headers, by verb (rest_client_request_duration_seconds).',
    labelNames: ['verb'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });

  let states: () => readonly AppState[] = () => [];
  const parts = { epoch: "The epoch of the state this replica holds per app (the leader's is the highest).", seq: 'The seq of the state this replica holds per app, within its epoch.' };
  for (const [part, help] of Object.entries(parts) as Array<[keyof typeof parts, string]>) {
    new Gauge({
      name: `version_observer_app_state_${part}`,
      help,
      labelNames: ['app'],
      registers,
      collect() {
        this.reset();
        for (const s of states()) this.set({ app: s.app }, s[part]);
      },
    });
  }

  return {
    queue: {
      added: () => adds.inc({ name }),
      depth: (n) => depth.set({ name }, n),
      waited: (seconds) => queueDuration.observe({ name }, seconds),
      worked: (seconds) => workDuration.observe({ name }, seconds),
      retried: () => retries.inc({ name }),
      running: (startedAt, clockNow) => {
        running = startedAt;
        now = clockNow;
      },
      reconciled: (result: ReconcileResult, seconds: number) => {
        reconcileDuration.observe({ controller }, seconds);
        if (result === 'terminal') {
          terminalErrors.inc({ controller });
          reconcileErrors.inc({ controller });
          reconcileTotal.inc({ controller, result: 'error' });
        } else {
          if (result === 'error') reconcileErrors.inc({ controller });
          reconcileTotal.inc({ controller, result });
        }
      },
    },
    apiRequest(verb, code, seconds) {
      requests.inc({ verb, code });
      requestDuration.observe({ verb }, seconds);
    },
    bindStates(provider) {
      states = provider;
    },
  };
}
