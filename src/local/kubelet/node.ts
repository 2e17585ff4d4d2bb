/**
 * Node registration and heartbeats: creates (or takes over) the Node with a Ready condition,
 * renews its Lease in kube-node-lease every 10 s, and refreshes the node status every 60 s,
 * as the kubelet does. The node stays Ready while this process runs, unless paused: pause()
 * stops both (a node cut off from its API server, whose Lease then expires), resume() renews
 * the Lease and posts a fresh Ready status at once, as a kubelet does when it reconnects.
 *
 * Invariants: once pause() resolves, no heartbeat is in flight and none is sent until
 * resume(); heartbeat failures are logged and retried on the next tick, never thrown; the
 * Lease is owned by the Node (garbage-collected with it).
 */
import os from 'node:os';
import type { V1Lease, V1Node, V1NodeCondition } from '@kubernetes/client-node';
import type { Logger } from '../../platform/logger.ts';
import { KubeApiError, MERGE_PATCH, rfc3339 } from '../kube-http.ts';
import type { KubeHttp } from '../kube-http.ts';
import { errorMessage } from '../log.ts';

export interface NodeOptions {
  nodeName: string;
  hostIP: string;
  /** lease renew period; default 10000 ms */
  leaseRenewMs?: number;
  /** node status refresh period; default 60000 ms */
  statusRefreshMs?: number;
  /** how many pods the node advertises; default 110000 */
  maxPods?: number;
}

export interface NodeHeartbeat {
  uid: string;
  /** stops Lease renewals and status refreshes; resolves when none is in flight */
  pause(): Promise<void>;
  /** renews the Lease and posts a Ready status now (Ready's transition time now), then on the timers again */
  resume(): void;
  stop(): void;
}

const microTime = () => new Date().toISOString().replace(/Z$/, '000Z');
const LEASE_SECONDS = 40;

function conditions(now: string, since: string): V1NodeCondition[] {
  const c = (type: string, status: string, reason: string, message: string) =>
    ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: since }) as unknown as V1NodeCondition;
  return [
    c('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    c('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    c('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    c('Ready', 'True', 'KubeletReady', 'process kubelet is posting ready status'),
  ];
}

function nodeStatus(opts: NodeOptions, now: string, since: string) {
  const cap = { cpu: String(os.availableParallelism()), memory: `${Math.floor(os.totalmem() / 1024)}Ki`, pods: String(opts.maxPods ?? 110000), 'ephemeral-storage': '100Gi' };
  return {
    capacity: cap,
    allocatable: cap,
    conditions: conditions(now, since),
    addresses: [
      { type: 'InternalIP', address: opts.hostIP },
      { type: 'Hostname', address: opts.nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    nodeInfo: {
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: os.release(),
      osImage: `${os.type()} (process kubelet)`,
      containerRuntimeVersion: `process://node-${process.versions.node}`,
      kubeletVersion: 'v0.0.0-process-kubelet',
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    },
  };
}

export async function registerNode(api: KubeHttp, opts: NodeOptions, logger: Logger): Promise<NodeHeartbeat> {
  const log = logger.child({ node: opts.nodeName });
  let since = rfc3339();
  const path = `/api/v1/nodes/${opts.nodeName}`;
  let node: V1Node;
  try {
    node = await api.request<V1Node>('GET', path);
    log.info({}, 'node exists; taking it over');
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    node = await api.request<V1Node>('POST', '/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: opts.nodeName,
        labels: { 'kubernetes.io/hostname': opts.nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch, 'node.kubernetes.io/process-kubelet': 'true' },
      },
      spec: {},
    });
    log.info({}, 'node registered');
  }
  const writeStatus = () => api.request('PATCH', `${path}/status`, { status: nodeStatus(opts, rfc3339(), since) }, MERGE_PATCH);
  await writeStatus();
  const uid = node.metadata?.uid ?? '';

  const leasePath = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${opts.nodeName}`;
  let lease: V1Lease | undefined;
  const renewLease = async () => {
    const spec = { holderIdentity: opts.nodeName, leaseDurationSeconds: LEASE_SECONDS, renewTime: microTime() };
    try {
      if (lease) {
        lease = await api.request<V1Lease>('PUT', leasePath, { ...lease, spec: { ...lease.spec, ...spec } });
        return;
      }
    } catch (err) {
      lease = undefined;
      if (!(err instanceof KubeApiError && (err.status === 409 || err.status === 404))) throw err;
    }
    try {
      const cur = await api.request<V1Lease>('GET', leasePath);
      lease = await api.request<V1Lease>('PUT', leasePath, { ...cur, spec: { ...cur.spec, ...spec } });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
      lease = await api.request<V1Lease>('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: opts.nodeName, namespace: 'kube-node-lease', ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: opts.nodeName, uid }] },
        spec,
      });
    }
  };
  let paused = false;
  const inFlight = new Set<Promise<unknown>>();
  const safe = (what: string, f: () => Promise<unknown>) => () => {
    if (paused) return;
    const p = f().catch((err: unknown) => log.warn({ task: what, err: errorMessage(err) }, 'node heartbeat failed'));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  safe('lease renewal', renewLease)();
  const leaseTimer = setInterval(safe('lease renewal', renewLease), opts.leaseRenewMs ?? 10_000);
  const statusTimer = setInterval(safe('status refresh', writeStatus), opts.statusRefreshMs ?? 60_000);
  return {
    uid,
    async pause() {
      paused = true;
      await Promise.all(inFlight);
    },
    resume() {
      if (!paused) return;
      paused = false;
      // The node controller may have set Ready=Unknown meanwhile: this post is a transition back.
      since = rfc3339();
      safe('lease renewal', renewLease)();
      safe('status refresh', writeStatus)();
    },
    stop() {
      clearInterval(leaseTimer);
      clearInterval(statusTimer);
    },
  };
}
