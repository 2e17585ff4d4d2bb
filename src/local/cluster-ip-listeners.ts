/**
 * The service proxy's listeners on Service ClusterIPs: one TCP listener per ClusterIP:port of
 * the local Service range (clusterIPRoutes in service-endpoints.ts), kept in step with the
 * Services as kube-proxy keeps its rules in step. This is what lets kube-apiserver call an
 * admission webhook through its `service:` reference: it resolves the Service to
 * https://<ClusterIP>:<port> and dials it; the bytes (TLS included) pass through untouched.
 *
 * Invariants: at most one listener per address:port; a route that is no longer wanted (Service
 * deleted, port or ClusterIP changed) is closed, connections already open keep going; a
 * listener that cannot bind (a port below 1024 without privileges, an address in use) is
 * reported once per route and retried on the next sync, never thrown.
 */
import net from 'node:net';
import type { Logger } from '../platform/logger.ts';
import type { ClusterIPRoute } from './service-endpoints.ts';

interface Bound {
  route: ClusterIPRoute;
  server: net.Server;
  /** undefined while binding; '' once listening; the error message when it could not bind */
  error: string | undefined;
}

const keyOf = (r: ClusterIPRoute) => `${r.address}:${r.port}`;
const sameOwner = (a: ClusterIPRoute, b: ClusterIPRoute) => a.namespace === b.namespace && a.service === b.service;

export class ClusterIPListeners {
  readonly #onConnection: (client: net.Socket, route: ClusterIPRoute) => void;
  readonly #log: Logger;
  readonly #bound = new Map<string, Bound>();
  /** routes whose bind failure was already reported */
  readonly #reported = new Set<string>();
  #closed = false;

  constructor(onConnection: (client: net.Socket, route: ClusterIPRoute) => void, log: Logger) {
    this.#onConnection = onConnection;
    this.#log = log;
  }

  /** Listens on exactly these routes from now on. */
  sync(routes: readonly ClusterIPRoute[]): void {
    if (this.#closed) return;
    const wanted = new Map(routes.map((r) => [keyOf(r), r]));
    for (const [key, bound] of this.#bound) {
      const route = wanted.get(key);
      if (route && sameOwner(route, bound.route) && !bound.error) continue; // listening or still binding
      this.#bound.delete(key);
      bound.server.close();
      if (!route) this.#reported.delete(key);
    }
    for (const [key, route] of wanted) if (!this.#bound.has(key)) this.#open(key, route);
  }

  #open(key: string, route: ClusterIPRoute): void {
    const server = net.createServer((client) => this.#onConnection(client, route));
    const bound: Bound = { route, server, error: undefined };
    this.#bound.set(key, bound);
    const label = `${route.namespace}/${route.service}`;
    server.once('error', (err: NodeJS.ErrnoException) => {
      bound.error = `${err.code ?? ''} ${err.message}`.trim();
      if (this.#reported.has(key)) return;
      this.#reported.add(key);
      const hint = err.code === 'EACCES' ? ' (a port below 1024 needs root, CAP_NET_BIND_SERVICE or a lower net.ipv4.ip_unprivileged_port_start)' : '';
      this.#log.warn({ service: label, address: key, err: bound.error }, `cannot listen on the ClusterIP${hint}`);
    });
    server.listen({ host: route.address, port: route.port }, () => {
      bound.error = '';
      this.#reported.delete(key);
      this.#log.info({ service: label, address: key }, 'listening on ClusterIP');
    });
  }

  /**
   * The addresses a Service is reachable at now: each of its routes with its state, '' when
   * listening, undefined while binding, else why it could not bind.
   */
  state(namespace: string, service: string): Map<string, string | undefined> {
    const out = new Map<string, string | undefined>();
    for (const [key, b] of this.#bound) if (b.route.namespace === namespace && b.route.service === service) out.set(key, b.error);
    return out;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const servers = [...this.#bound.values()].map((b) => b.server);
    this.#bound.clear();
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
