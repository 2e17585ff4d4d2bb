/**
 * The embedded local Kubernetes: a real control plane (etcd, kube-apiserver,
 * kube-controller-manager) plus the process kubelet and the service proxy. The demo, the tests
 * and the benchmarks all run on it.
 *
 *   const cluster = await startCluster();
 *   // cluster.kubeconfigPath, cluster.kubeConfig (client-node), cluster.serviceUrl(ns, svc)
 *   await cluster.stop();
 *
 * stop() (also run on SIGINT/SIGTERM and process exit) ends every process it started and
 * removes its temp dir.
 *
 * Addresses: the cluster first claims its own 127.B.0.0/16 (kubelet/ip-allocator.ts) and uses
 * it for both pod IPs and the Service ClusterIP range (kube-apiserver
 * --service-cluster-ip-range=127.B.240.0/20); the service proxy listens on every ClusterIP:port,
 * so the API server reaches a webhook Service by reference, as in a real cluster.
 *
 * Node loss: with `nodeLifecycle`, kcm's node-lifecycle-controller runs (its grace
 * NODE_MONITOR_GRACE_MS) and the kubelet renews its Lease every NODE_LEASE_RENEW_MS;
 * pauseNodeReporting() silences the kubelet (kubelet/index.ts) until resumeNodeReporting().
 * Off by default: every integration test starts this cluster, and none but the chaos suite
 * wants a node controller that could mark a node of a stalled machine.
 *
 * Logging: every part logs through one Logger with its own `component` (binaries,
 * control-plane, kubelet, proxy, cluster). By default a person sees them as readable lines on
 * stderr (`[cluster] control-plane: kube-apiserver ready elapsedMs=2301`); pass createLogger()
 * for JSON, silentLogger for nothing.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../platform/logger.ts';
import { ensureBinaries, type Binaries } from './binaries.ts';
import { startControlPlane, type ControlPlane } from './control-plane/index.ts';
import type { ImageMap } from './images.ts';
import { defaultImages } from './images.ts';
import { startProcessKubelet, type ProcessKubelet } from './kubelet/index.ts';
import { claimBlock } from './kubelet/ip-allocator.ts';
import { errorMessage, lineLogger } from './log.ts';
import { startServiceProxy, type ServiceProxy } from './service-proxy.ts';

export interface ClusterOptions {
  /** Extra image → command runners, merged over defaultImages(). */
  images?: ImageMap;
  /** Progress and component records; default: readable lines on stderr with a [cluster] prefix. */
  logger?: Logger;
  /** Start the process kubelet (default true). */
  kubelet?: boolean;
  nodeName?: string;
  /** Where container stdout/stderr are copied (default: the cluster's temp dir). */
  logDir?: string;
  /** Run kcm's node-lifecycle-controller, so a silent node goes NotReady (default false). */
  nodeLifecycle?: boolean;
}

/**
 * With nodeLifecycle: the node controller's grace, and the kubelet's Lease renew period. The
 * renew period is an eighth of the grace (a real kubelet's is 10 s against a 40–50 s grace),
 * so only a node silent for 8 renewals in a row — 16 s, far beyond any event-loop stall of a
 * loaded 2-core machine — is marked; and 16 s is short enough for a chaos step, and far below
 * the 300 s default toleration of an unreachable node (nothing would be evicted even if the
 * taint eviction ran: it does not, components.ts).
 */
export const NODE_MONITOR_GRACE_MS = 16_000;
export const NODE_LEASE_RENEW_MS = NODE_MONITOR_GRACE_MS / 8;

export interface Cluster {
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  server: string;
  binaries: Binaries;
  /** The Service ClusterIP range (127.B.240.0/20, local to this machine and to this cluster). */
  serviceCIDR: string;
  /** The cluster's temp dir (kubeconfig, component logs); removed on stop(). */
  dir: string;
  kubelet: ProcessKubelet | undefined;
  /** http://127.0.0.1:<port> that forwards to the ready pods of a Service. */
  serviceUrl(namespace: string, service: string, port?: number | string): Promise<string>;
  /** Waits until the Service is reachable at its ClusterIP (the way the API server dials a webhook); its ClusterIP:port addresses. */
  serviceClusterIPAddresses(namespace: string, service: string): Promise<string[]>;
  /** Stops kube-apiserver only (etcd and the rest keep running), for outage tests. */
  stopApiServer(): Promise<void>;
  startApiServer(): Promise<void>;
  /** The kubelet stops reporting (Lease, node and pod status) while its containers run on; resolves once nothing of it is in flight. */
  pauseNodeReporting(): Promise<void>;
  /** The kubelet reports again, re-sending every pod's status. */
  resumeNodeReporting(): void;
  /** PIDs of every process the cluster runs: control plane and containers. */
  pids(): number[];
  stop(): Promise<void>;
}

const stderrLines: Logger = lineLogger((line) => process.stderr.write(`[cluster] ${line}\n`));
const running = new Set<Cluster>();

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const logger = opts.logger ?? stderrLines;
  const log = logger.child({ component: 'cluster' });
  const t0 = performance.now();
  const binaries = await ensureBinaries(logger);
  const block = await claimBlock();
  let controlPlane: ControlPlane;
  try {
    controlPlane = await startControlPlane({ binaries, logger, serviceCIDR: block.serviceCIDR, nodeMonitor: opts.nodeLifecycle ? { graceMs: NODE_MONITOR_GRACE_MS } : undefined });
  } catch (err) {
    await block.release();
    throw err;
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(controlPlane.kubeconfigPath);
  let kubelet: ProcessKubelet | undefined;
  let proxy: ServiceProxy | undefined;
  try {
    if (opts.kubelet !== false) {
      kubelet = await startProcessKubelet({
        kubeConfig,
        nodeName: opts.nodeName ?? 'local-node',
        images: { ...defaultImages(), ...opts.images },
        logger,
        logDir: opts.logDir ?? `${controlPlane.dir}/logs`,
        block,
        leaseRenewMs: opts.nodeLifecycle ? NODE_LEASE_RENEW_MS : undefined,
      });
    }
    const api = new URL(controlPlane.server);
    proxy = await startServiceProxy({ kubeConfig, logger, apiServer: { ip: api.hostname, port: Number(api.port) } });
  } catch (err) {
    await kubelet?.stop().catch(() => {});
    await controlPlane.stop();
    await block.release();
    throw err;
  }
  // KUBECONFIG as the key, so the readable line can be pasted into a shell
  log.info({ elapsedMs: Math.round(performance.now() - t0), KUBECONFIG: controlPlane.kubeconfigPath }, 'cluster ready');

  let stopping: Promise<void> | undefined;
  const cluster: Cluster = {
    kubeconfigPath: controlPlane.kubeconfigPath,
    kubeConfig,
    server: controlPlane.server,
    binaries,
    serviceCIDR: block.serviceCIDR,
    dir: controlPlane.dir,
    kubelet,
    serviceUrl: (ns, svc, port) => proxy!.url(ns, svc, port),
    serviceClusterIPAddresses: (ns, svc) => proxy!.clusterIPAddresses(ns, svc),
    stopApiServer: () => controlPlane.stopApiServer(),
    startApiServer: () => controlPlane.startApiServer(),
    async pauseNodeReporting() {
      if (!kubelet) throw new Error('no kubelet in this cluster: nothing to pause');
      await kubelet.pauseReporting();
    },
    resumeNodeReporting: () => kubelet?.resumeReporting(),
    pids: () => [...controlPlane.pids(), ...(kubelet?.pids() ?? [])],
    stop() {
      stopping ??= (async () => {
        running.delete(cluster);
        await proxy?.stop().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'proxy stop failed'));
        await kubelet?.stop().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'kubelet stop failed'));
        await controlPlane.stop();
        await block.release();
        log.info({}, 'cluster stopped');
      })();
      return stopping;
    },
  };
  running.add(cluster);
  hookSignals();
  return cluster;
}

let hooked = false;
function hookSignals(): void {
  if (hooked) return;
  hooked = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      void Promise.allSettled([...running].map((c) => c.stop())).then(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    });
  }
}
