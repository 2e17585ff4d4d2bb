/**
 * The local service proxy: forwards TCP connections (so HTTP, keep-alive, WebSocket upgrades
 * and TLS alike) to the ready endpoints of a Service, round robin, as kube-proxy would. It
 * listens in two ways: on each Service's ClusterIP:port when the ClusterIP is local (the local
 * cluster's Service range is on loopback, cluster-ip-listeners.ts), which is how the API server
 * reaches webhooks by `service:` reference; and on one free port of `host` per Service port
 * that url() is asked for (for tests and the demo, which need no fixed address). Endpoints are computed from Pods as the endpointslice controller
 * would (see service-endpoints.ts: the API refuses the loopback pod IPs of the local cluster
 * in EndpointSlices); Services without a selector use their EndpointSlices.
 *
 * Invariants: a backend is chosen per connection from the current state (cached per Service
 * until a pod, service or slice of its namespace changes); only ready, non-terminating pods
 * are used; a backend that refuses is skipped for the next one;
 * with no backend the client connection is closed at once. stop() closes every listener and
 * every open connection.
 */
import net from 'node:net';
import type { KubeConfig, V1EndpointSlice, V1Pod, V1Service, V1ServicePort } from '@kubernetes/client-node';
import { silentLogger } from '../platform/logger.ts';
import type { Logger } from '../platform/logger.ts';
import { ClusterIPListeners } from './cluster-ip-listeners.ts';
import { startInformer } from './informer.ts';
import { createKubeHttp } from './kube-http.ts';
import { pollUntil } from './poll.ts';
import { backendsFromPods, backendsFromSlices, clusterIPRoutes, pickServicePort } from './service-endpoints.ts';
import type { Backend } from './service-endpoints.ts';

export interface ServiceProxyOptions {
  kubeConfig: KubeConfig;
  /** listen address; default 127.0.0.1 */
  host?: string;
  /** default silent; lines carry component "proxy" */
  logger?: Logger;
  /** how long url() waits for a Service to appear; default 10000 ms */
  waitForServiceMs?: number;
  /**
   * Where the `kubernetes` Service in `default` leads: the API server. Its endpoints are never
   * written here (loopback addresses are refused), so the proxy is told instead.
   */
  apiServer?: Backend;
}

export interface ServiceProxy {
  /** http://<host>:<local port> for a Service port (default: its first port); the listener opens on first call. */
  url(namespace: string, service: string, port?: number | string): Promise<string>;
  /** The ready backends (ip:port) a new connection could go to now. */
  backends(namespace: string, service: string, port?: number | string): string[];
  /**
   * Waits until the proxy listens on every ClusterIP:port of the Service (as a client inside the
   * cluster, or the API server calling a webhook, would reach it) and returns those addresses;
   * rejects when one cannot be bound or the Service has no local ClusterIP within the wait.
   */
  clusterIPAddresses(namespace: string, service: string): Promise<string[]>;
  stop(): Promise<void>;
}

interface Listener {
  server: net.Server;
  url: string;
}

/** Round-robin position per Service port, shared by all listeners of that port. */
type Cursors = Map<string, number>;

export async function startServiceProxy(opts: ServiceProxyOptions): Promise<ServiceProxy> {
  const log = (opts.logger ?? silentLogger).child({ component: 'proxy' });
  const host = opts.host ?? '127.0.0.1';
  const api = await createKubeHttp(opts.kubeConfig, 4);
  // namespace → change counter, so computed backends are cached until something changes there
  const generation = new Map<string, number>();
  const bump = (o: { metadata?: { namespace?: string } }) => {
    const ns = o.metadata?.namespace ?? '';
    generation.set(ns, (generation.get(ns) ?? 0) + 1);
  };
  const podsByNs = new Map<string, Map<string, V1Pod>>();
  const putPod = (p: V1Pod) => {
    const ns = p.metadata?.namespace ?? '';
    let m = podsByNs.get(ns);
    if (!m) podsByNs.set(ns, (m = new Map()));
    m.set(p.metadata?.name ?? '', p);
    bump(p);
  };
  const dropPod = (p: V1Pod) => {
    const ns = p.metadata?.namespace ?? '';
    podsByNs.get(ns)?.delete(p.metadata?.name ?? '');
    bump(p);
  };
  const slicesBySvc = new Map<string, Map<string, V1EndpointSlice>>();
  const sliceKey = (s: V1EndpointSlice) => `${s.metadata?.namespace}/${s.metadata?.labels?.['kubernetes.io/service-name'] ?? ''}`;
  const upsert = (s: V1EndpointSlice) => {
    const k = sliceKey(s);
    let m = slicesBySvc.get(k);
    if (!m) slicesBySvc.set(k, (m = new Map()));
    m.set(s.metadata?.name ?? '', s);
    bump(s);
  };
  const remove = (s: V1EndpointSlice) => {
    const m = slicesBySvc.get(sliceKey(s));
    m?.delete(s.metadata?.name ?? '');
    if (m?.size === 0) slicesBySvc.delete(sliceKey(s));
    bump(s);
  };
  const clusterIPs = new ClusterIPListeners((client, route) => forward(client, route.namespace, route.service, route.port, `${route.namespace}/${route.service}:${route.port}`), log);
  let syncQueued = false;
  const onService = (svc: V1Service) => {
    bump(svc);
    if (syncQueued) return;
    syncQueued = true;
    queueMicrotask(() => {
      syncQueued = false;
      clusterIPs.sync(clusterIPRoutes(services.list()));
    });
  };
  const services = startInformer<V1Service>(opts.kubeConfig, api, '/api/v1/services', { add: onService, update: onService, delete: onService }, log);
  const pods = startInformer<V1Pod>(opts.kubeConfig, api, '/api/v1/pods', { add: putPod, update: putPod, delete: dropPod }, log);
  const slices = startInformer<V1EndpointSlice>(opts.kubeConfig, api, '/apis/discovery.k8s.io/v1/endpointslices', { add: upsert, update: upsert, delete: remove }, log);
  const listeners = new Map<string, Promise<Listener>>();
  const sockets = new Set<net.Socket>();
  const cache = new Map<string, { gen: number; backends: Backend[] }>();
  const cursors: Cursors = new Map();
  let stopped = false;
  await Promise.all([services.synced(), pods.synced(), slices.synced()]);
  clusterIPs.sync(clusterIPRoutes(services.list()));

  const backendsFor = (ns: string, svcName: string, portKey: number | string | undefined): Backend[] => {
    const gen = generation.get(ns) ?? 0;
    const key = `${ns}/${svcName}/${portKey ?? ''}`;
    const hit = cache.get(key);
    if (hit && hit.gen === gen) return hit.backends;
    if (opts.apiServer && ns === 'default' && svcName === 'kubernetes') return [opts.apiServer];
    const svc = services.get(svcName, ns);
    const servicePort = svc && pickServicePort(svc, portKey);
    let backends: Backend[] = [];
    if (svc && servicePort) {
      backends = svc.spec?.selector && Object.keys(svc.spec.selector).length > 0
        ? backendsFromPods(svc, servicePort, podsByNs.get(ns)?.values() ?? [])
        : backendsFromSlices(slicesBySvc.get(`${ns}/${svcName}`)?.values() ?? [], servicePort.name ?? '');
    }
    cache.set(key, { gen, backends });
    return backends;
  };

  function findService(ns: string, name: string): Promise<V1Service> {
    const notFound = () => new Error(`service ${ns}/${name} not found`);
    return pollUntil(
      () => {
        const svc = services.get(name, ns);
        if (!svc && stopped) throw notFound();
        return svc;
      },
      { timeoutMs: opts.waitForServiceMs ?? 10_000, timeoutError: notFound },
    );
  }

  /** Pipes one client connection to a ready backend of the Service port, or closes it when there is none. */
  function forward(client: net.Socket, ns: string, svcName: string, portKey: number, label: string): void {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    client.pause();
    const backends = backendsFor(ns, svcName, portKey);
    if (backends.length === 0) {
      log.warn({ service: label }, 'no ready endpoints; closing connection');
      client.destroy();
      return;
    }
    const cursorKey = `${ns}/${svcName}/${portKey}`;
    const next = cursors.get(cursorKey) ?? 0;
    cursors.set(cursorKey, next + 1);
    const start = next % backends.length;
    const tryBackend = (attempt: number) => {
      if (attempt >= backends.length || client.destroyed) {
        client.destroy();
        return;
      }
      const backend = backends[(start + attempt) % backends.length]!;
      const upstream = net.connect({ host: backend.ip, port: backend.port });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      upstream.on('error', (err) => {
        if (!connected) {
          log.warn({ service: label, backend: `${backend.ip}:${backend.port}`, err: err.message }, 'backend failed; trying the next one');
          tryBackend(attempt + 1);
        } else {
          client.destroy();
        }
      });
    };
    tryBackend(0);
  }

  function open(ns: string, svcName: string, servicePort: V1ServicePort): Promise<Listener> {
    const label = `${ns}/${svcName}:${servicePort.name || servicePort.port}`;
    const listener: Listener = { server: net.createServer((client) => forward(client, ns, svcName, servicePort.port, label)), url: '' };
    return new Promise((resolve, reject) => {
      listener.server.once('error', reject);
      listener.server.listen(0, host, () => {
        const addr = listener.server.address() as net.AddressInfo;
        listener.url = `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
        log.info({ service: label, url: listener.url }, 'listening');
        resolve(listener);
      });
    });
  }

  return {
    async url(namespace, service, port) {
      if (stopped) throw new Error('service proxy is stopped');
      const svc = await findService(namespace, service);
      const servicePort = pickServicePort(svc, port);
      if (!servicePort) throw new Error(`service ${namespace}/${service} has no port ${port ?? '(none defined)'}`);
      const key = `${namespace}/${service}/${servicePort.name || servicePort.port}`;
      let listener = listeners.get(key);
      if (!listener) {
        listener = open(namespace, service, servicePort);
        listeners.set(key, listener);
        listener.catch(() => listeners.delete(key));
      }
      return (await listener).url;
    },
    backends(namespace, service, port) {
      const svc = services.get(service, namespace);
      const servicePort = svc && pickServicePort(svc, port);
      if (!servicePort) return [];
      return backendsFor(namespace, service, servicePort.port).map((b) => `${b.ip}:${b.port}`);
    },
    async clusterIPAddresses(namespace, service) {
      const what = `service ${namespace}/${service}`;
      return pollUntil(
        () => {
          const state = clusterIPs.state(namespace, service);
          const failed = [...state].find(([, error]) => error);
          if (failed) throw new Error(`${what}: cannot listen on ClusterIP ${failed[0]}: ${failed[1]}`);
          const all = [...state.values()];
          return all.length > 0 && all.every((error) => error === '') ? [...state.keys()] : undefined;
        },
        { timeoutMs: opts.waitForServiceMs ?? 10_000, timeoutError: () => new Error(`${what}: no local ClusterIP listener (missing Service, headless, or not in the local Service range)`) },
      );
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all([services.stop(), pods.stop(), slices.stop()]);
      await clusterIPs.close();
      for (const s of sockets) s.destroy();
      const ls = await Promise.allSettled(listeners.values());
      await Promise.all(ls.map((r) => (r.status === 'fulfilled' ? new Promise<void>((res) => r.value.server.close(() => res())) : undefined)));
      api.close();
    },
  };
}
