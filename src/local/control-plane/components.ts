/**
 * Command lines of the three control-plane components, as pure functions of their settings.
 * Everything binds to 127.0.0.1 on free ports, so several clusters can run side by side.
 *
 * The Service ClusterIP range is a loopback range of the cluster's own 127.B.0.0/16 block
 * (kubelet/ip-allocator.ts): every 127/8 address is local on Linux, so the service proxy can
 * listen on each ClusterIP:port, and kube-apiserver reaches a webhook or aggregated API through
 * its `service:` reference exactly as in a real cluster (it resolves the Service to its
 * ClusterIP and dials that). Validation refuses loopback addresses in Endpoints and
 * EndpointSlices, not in ClusterIPs or the range.
 */
import { join } from 'node:path';
import type { Credentials } from './credentials.ts';

export interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
}

export function etcdArgs(dir: string, ports: Ports): string[] {
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  return [
    '--name=local',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=local=${peer}`,
    '--listen-metrics-urls=',
    // A throwaway cluster: durability buys nothing, fsync costs seconds under load.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
}

/** The range when the caller claimed none (a control plane without the cluster's block). */
export const DEFAULT_SERVICE_CIDR = '10.96.0.0/16';

export function apiserverArgs(dir: string, ports: Ports, creds: Credentials, serviceCIDR = DEFAULT_SERVICE_CIDR): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${ports.apiserver}`,
    `--cert-dir=${join(dir, 'pki')}`,
    `--token-auth-file=${creds.tokenFile}`,
    `--service-account-key-file=${creds.saPubFile}`,
    `--service-account-signing-key-file=${creds.saKeyFile}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    '--api-audiences=https://kubernetes.default.svc.cluster.local',
    `--service-cluster-ip-range=${serviceCIDR}`,
    // The 'kubernetes' Service endpoints may not point at loopback; nothing here needs them.
    '--endpoint-reconciler-type=none',
    '--authorization-mode=RBAC',
    '--allow-privileged=true',
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    '--v=0',
  ];
}

/**
 * The controllers the harness needs; no scheduler (the process kubelet binds pods itself).
 * No endpointslice controller: the API rejects loopback pod IPs in EndpointSlices, so the
 * service proxy derives a Service's backends from its pods with the same rules.
 */
export const CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'disruption-controller',
  'job-controller',
];

/**
 * kcm's node-lifecycle-controller, off unless asked for (the chaos suite's node loss): it marks
 * a node whose Lease is not renewed within `graceMs` Ready=Unknown and its pods Ready=False,
 * as in a real cluster. Nothing is evicted: the taint-eviction-controller is not run (so no
 * NoExecute taint deletes a pod) and the eviction rates are 0 (so none is even added): a node
 * that comes back finds its pods where it left them. The monitor period is 1 s so that the mark
 * follows the grace closely (default 5 s).
 */
export interface NodeMonitor {
  graceMs: number;
}

export function controllerManagerArgs(kubeconfig: string, creds: Credentials, nodeMonitor?: NodeMonitor): string[] {
  const lifecycle = nodeMonitor
    ? [
        `--node-monitor-grace-period=${Math.ceil(nodeMonitor.graceMs / 1000)}s`,
        '--node-monitor-period=1s',
        '--node-eviction-rate=0',
        '--secondary-node-eviction-rate=0',
      ]
    : [];
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    `--controllers=${[...CONTROLLERS, ...(nodeMonitor ? ['node-lifecycle-controller'] : [])].join(',')}`,
    ...lifecycle,
    `--service-account-private-key-file=${creds.saKeyFile}`,
    '--leader-elect=false',
    '--use-service-account-credentials=false',
    // The default 20 qps makes a 1,000-pod Deployment take minutes to create.
    '--kube-api-qps=1000',
    '--kube-api-burst=2000',
    // No serving endpoint: nothing scrapes it, and a fixed port would collide across clusters.
    '--secure-port=0',
    '--v=0',
  ];
}
