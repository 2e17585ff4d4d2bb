/**
 * Sidecar metrics: one prom-client Registry per sidecar (never the global one, so several
 * sidecars can live in one test process). Names start `version_observer_sidecar_`.
 * Connection gauges are read from the hub at scrape time, so the hot path only bumps counters.
 * Node's default metrics keep their standard names (process_*, nodejs_*), as on the controller.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerProcessMetrics } from '../platform/process-metrics.ts';

const PREFIX = 'version_observer_sidecar_';

export interface ConnectionStats {
  /** open sockets counted against the cap */
  connections(): number;
  /** open sockets by client version label (bounded set + "other" + "unknown") */
  connectionsByClientVersion(): ReadonlyMap<string, number>;
}

export interface SidecarMetrics {
  readonly registry: Registry;
  readonly messagesSent: Counter<'type'>;
  readonly broadcastDuration: Histogram;
  readonly pushesApplied: Counter;
  readonly pushesRejected: Counter<'reason'>;
  readonly slowConsumersDropped: Counter;
  readonly deadPeersTerminated: Counter;
  readonly connectionsRefused: Counter<'reason'>;
  readonly connectionsClosed: Counter<'reason'>;
  readonly httpConnectionsDropped: Counter<'server' | 'reason'>;
  readonly keysLoaded: Gauge;
}

export interface SidecarMetricsOptions {
  /** process_*, nodejs_*; default true */
  defaultMetrics?: boolean;
  /** the connection cap, exported so "near the cap" is a ratio of two series */
  maxConnections?: number;
  /** the state this sidecar holds, exported as (epoch, seq) so a stale sidecar is visible */
  held?: () => HeldState | null;
}

export function createMetrics(stats: ConnectionStats, opts: SidecarMetricsOptions = {}): SidecarMetrics {
  const registry = new Registry();
  registerProcessMetrics(registry, 'sidecar', opts);
  registerOperatorGauges(registry, opts);
  new Gauge({
    name: `${PREFIX}connections`,
    help: 'Open browser WebSocket connections.',
    registers: [registry],
    collect() {
      this.set(stats.connections());
    },
  });
  new Gauge({
    name: `${PREFIX}connections_by_client_version`,
    help: 'Open connections by the page version the client reported (?v=); at most a bounded number of values, the rest as "other".',
    labelNames: ['client_version'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [v, n] of stats.connectionsByClientVersion()) if (n > 0) this.set({ client_version: v }, n);
    },
  });
  return {
    registry,
    messagesSent: new Counter({ name: `${PREFIX}messages_sent_total`, help: 'Messages sent to browsers, by type (hello, state, pong).', labelNames: ['type'], registers: [registry] }),
    broadcastDuration: new Histogram({
      name: `${PREFIX}broadcast_duration_seconds`,
      help: 'Time to hand one state to every open socket (enqueue, not delivery).',
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    pushesApplied: new Counter({ name: `${PREFIX}pushes_applied_total`, help: 'State pushes applied (204).', registers: [registry] }),
    pushesRejected: new Counter({ name: `${PREFIX}pushes_rejected_total`, help: 'State pushes refused, by error code.', labelNames: ['reason'], registers: [registry] }),
    slowConsumersDropped: new Counter({ name: `${PREFIX}slow_consumers_dropped_total`, help: 'Sockets dropped because their send buffer overflowed.', registers: [registry] }),
    deadPeersTerminated: new Counter({ name: `${PREFIX}dead_peers_terminated_total`, help: 'Sockets terminated for missing a WebSocket pong.', registers: [registry] }),
    connectionsRefused: new Counter({ name: `${PREFIX}connections_refused_total`, help: 'WebSocket handshakes refused (before the upgrade, except the 1013 backstop), by error code.', labelNames: ['reason'], registers: [registry] }),
    connectionsClosed: new Counter({ name: `${PREFIX}connections_closed_total`, help: 'Open sockets closed by the server for what the client sent (1008), by error code.', labelNames: ['reason'], registers: [registry] }),
    httpConnectionsDropped: new Counter({
      name: `${PREFIX}http_connections_dropped_total`,
      help: 'HTTP connections the server closed for a limit (VO_HTTP_TIMEOUT: slow headers or body; VO_ADMIN_AT_CAPACITY), by server and error code.',
      labelNames: ['server', 'reason'],
      registers: [registry],
    }),
    keysLoaded: new Gauge({ name: `${PREFIX}trusted_keys`, help: 'Trusted public keys loaded (0 → every push is refused).', registers: [registry] }),
  };
}

export interface HeldState {
  app: string;
  epoch: number;
  seq: number;
}

/**
 * The gauges the chart's alerts compare with the controller's: the held (epoch, seq) against
 * the controller's `version_observer_app_state_{epoch,seq}`, the open connections against the cap.
 * No held state yet → no series (nothing to compare).
 */
function registerOperatorGauges(registry: Registry, opts: SidecarMetricsOptions): void {
  const registers = [registry];
  const held = opts.held ?? (() => null);
  if (opts.maxConnections !== undefined) {
    new Gauge({
      name: `${PREFIX}max_connections`,
      help: 'The connection cap (VERSION_OBSERVER_MAX_CONNECTIONS); beyond it connections are refused.',
      registers,
    }).set(opts.maxConnections);
  }
  const parts = { epoch: 'The epoch of the state this sidecar holds (absent before the first push).', seq: 'The seq of the state this sidecar holds, within its epoch (absent before the first push).' };
  for (const [part, help] of Object.entries(parts) as Array<[keyof typeof parts, string]>) {
    new Gauge({
      name: `${PREFIX}state_${part}`,
      help,
      labelNames: ['app'],
      registers,
      collect() {
        this.reset();
        const s = held();
        if (s) this.set({ app: s.app }, s[part]);
      },
    });
  }
}
