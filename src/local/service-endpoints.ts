/**
 * Which pods a Service port routes to, computed the way the endpointslice controller would
 * (pure). The local cluster needs this because its pod IPs are on 127/8, and the API refuses
 * loopback addresses in EndpointSlices ("may not be in the loopback range"), so the service
 * proxy derives endpoints from Pods itself; EndpointSlices are used only for Services without
 * a selector (whose endpoints someone else manages).
 *
 * Rules: same namespace; labels match spec.selector; a podIP; not Succeeded/Failed; no
 * deletionTimestamp; Ready condition True (any readiness with publishNotReadyAddresses).
 * targetPort: a number, a name looked up in the pod's container ports (pods without it are
 * skipped), or absent (= port).
 *
 * clusterIPRoutes() says where the proxy listens besides its own ports: on each local ClusterIP.
 */
import type { V1EndpointSlice, V1Pod, V1Service, V1ServicePort } from '@kubernetes/client-node';

export interface Backend {
  ip: string;
  port: number;
}

export function pickServicePort(svc: V1Service, port: number | string | undefined): V1ServicePort | undefined {
  const ports = svc.spec?.ports ?? [];
  if (port === undefined) return ports[0];
  if (typeof port === 'number' || /^\d+$/.test(port)) return ports.find((p) => p.port === Number(port));
  return ports.find((p) => p.name === port);
}

export function selects(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}

export function podIsReady(pod: V1Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function targetPortOf(pod: V1Pod, sp: V1ServicePort): number | undefined {
  const tp = sp.targetPort as number | string | undefined;
  if (tp === undefined || tp === '') return sp.port;
  if (typeof tp === 'number') return tp;
  if (/^\d+$/.test(tp)) return Number(tp);
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === tp && (p.protocol ?? 'TCP') === (sp.protocol ?? 'TCP')) return p.containerPort;
  }
  return undefined;
}

/** Backends of a selector Service port from the namespace's pods, sorted by ip then port. */
export function backendsFromPods(svc: V1Service, sp: V1ServicePort, pods: Iterable<V1Pod>): Backend[] {
  const selector = svc.spec?.selector;
  if (!selector || Object.keys(selector).length === 0) return [];
  const ns = svc.metadata?.namespace;
  const notReadyToo = svc.spec?.publishNotReadyAddresses === true;
  const out: Backend[] = [];
  for (const pod of pods) {
    if (pod.metadata?.namespace !== ns || !selects(selector, pod.metadata?.labels)) continue;
    const ip = pod.status?.podIP;
    const phase = pod.status?.phase;
    if (!ip || phase === 'Succeeded' || phase === 'Failed' || pod.metadata?.deletionTimestamp) continue;
    if (!notReadyToo && !podIsReady(pod)) continue;
    const port = targetPortOf(pod, sp);
    if (port !== undefined) out.push({ ip, port });
  }
  return sortBackends(out);
}

/** Ready backends of a service port from EndpointSlices (for Services without a selector). */
export function backendsFromSlices(slices: Iterable<V1EndpointSlice>, portName: string): Backend[] {
  const out: Backend[] = [];
  const seen = new Set<string>();
  for (const s of slices) {
    if (s.addressType !== 'IPv4' && s.addressType !== 'IPv6') continue;
    const p = (s.ports ?? []).find((x) => (x.name ?? '') === portName);
    if (!p?.port) continue;
    for (const e of s.endpoints ?? []) {
      if (e.conditions?.ready === false) continue;
      for (const ip of e.addresses ?? []) {
        const key = `${ip}:${p.port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ ip, port: p.port });
      }
    }
  }
  return sortBackends(out);
}

/** Where a Service port is reachable at its ClusterIP, as kube-proxy would make it reachable. */
export interface ClusterIPRoute {
  /** the ClusterIP */
  address: string;
  /** the Service port (spec.ports[].port), not the target port */
  port: number;
  namespace: string;
  service: string;
}

/**
 * The ClusterIP:port pairs to listen on, one per TCP port of each Service whose ClusterIP is a
 * local address (127/8, the local cluster's Service range); headless (None) and ExternalName
 * Services have none. Sorted by address then port.
 */
export function clusterIPRoutes(services: Iterable<V1Service>): ClusterIPRoute[] {
  const out: ClusterIPRoute[] = [];
  for (const svc of services) {
    const spec = svc.spec;
    if (!spec || spec.type === 'ExternalName') continue;
    const addresses = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
    for (const address of addresses) {
      if (!/^127\.\d+\.\d+\.\d+$/.test(address)) continue;
      for (const p of spec.ports ?? []) {
        if ((p.protocol ?? 'TCP') !== 'TCP') continue;
        out.push({ address, port: p.port, namespace: svc.metadata?.namespace ?? '', service: svc.metadata?.name ?? '' });
      }
    }
  }
  return out.sort((x, y) => (x.address === y.address ? x.port - y.port : x.address < y.address ? -1 : 1));
}

function sortBackends(b: Backend[]): Backend[] {
  return b.sort((x, y) => (x.ip === y.ip ? x.port - y.port : x.ip < y.ip ? -1 : 1));
}
