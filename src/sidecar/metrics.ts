/**
 * Sidecar metrics: one prom-client Registry per sidecar (never the global one, so several
 * sidecars can live in one test process). Names start `version_observer_sidecar_`.
 * Connection gauges are read from the hub at scrape time, so the hot path only bumps counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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

export function createMetrics(stats: ConnectionStats, opts: { defaultMetrics?: boolean } = {}): SidecarMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
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
