/**
 * Starts etcd, kube-apiserver and kube-controller-manager on loopback in a fresh temp dir and
 * waits until the apiserver's /readyz answers and the controller manager has created the
 * default ServiceAccount. stop() ends every process and removes the temp dir.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../platform/logger.ts';
import type { Binaries } from '../binaries.ts';
import { apiserverArgs, controllerManagerArgs, DEFAULT_SERVICE_CIDR, etcdArgs, type NodeMonitor, type Ports } from './components.ts';
import { kubeconfigYaml, readServingCa, writeCredentials } from './credentials.ts';
import { pollUntil } from '../poll.ts';
import { freePort } from './ports.ts';
import { startProcess, type Supervised } from './process.ts';

export interface ControlPlane {
  dir: string;
  server: string;
  caPem: string;
  adminToken: string;
  /** admin kubeconfig (system:masters) */
  kubeconfigPath: string;
  stopApiServer(): Promise<void>;
  startApiServer(): Promise<void>;
  pids(): number[];
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  binaries: Binaries;
  /** progress; records carry component "control-plane" */
  logger: Logger;
  readyTimeoutMs?: number;
  /** --service-cluster-ip-range; default DEFAULT_SERVICE_CIDR (not local: ClusterIPs are then unreachable) */
  serviceCIDR?: string;
  /** run kcm's node-lifecycle-controller with this grace (components.ts); default: not run */
  nodeMonitor?: NodeMonitor;
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const { binaries } = opts;
  const log = opts.logger.child({ component: 'control-plane' });
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
  sweepStaleDirs();
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  mkdirSync(join(dir, 'pki'));
  mkdirSync(join(dir, 'logs'));
  const procs: Supervised[] = [];
  let apiserver: Supervised | undefined;
  const cleanup = async () => {
    for (const p of [...procs].reverse()) await p.stop();
    procs.length = 0;
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const ports: Ports = { etcdClient: await freePort(), etcdPeer: await freePort(), apiserver: await freePort() };
    const creds = writeCredentials(dir);
    const server = `https://127.0.0.1:${ports.apiserver}`;
    const t0 = performance.now();
    const elapsedMs = () => Math.round(performance.now() - t0);

    const etcd = startProcess('etcd', binaries.etcd, etcdArgs(dir, ports), join(dir, 'logs/etcd.log'));
    procs.push(etcd);
    log.info({ address: `127.0.0.1:${ports.etcdClient}` }, 'etcd starting');

    const apiArgs = apiserverArgs(dir, ports, creds, opts.serviceCIDR);
    const launchApiserver = () => {
      apiserver = startProcess('kube-apiserver', binaries.kubeApiserver, apiArgs, join(dir, 'logs/kube-apiserver.log'));
      procs.push(apiserver);
      return apiserver;
    };
    launchApiserver();
    log.info({ server, serviceCIDR: opts.serviceCIDR ?? DEFAULT_SERVICE_CIDR }, 'kube-apiserver starting');
    const caPem = await waitForReady(server, () => readServingCa(join(dir, 'pki')), creds.adminToken, readyTimeoutMs, [etcd, apiserver!]);
    log.info({ elapsedMs: elapsedMs() }, 'kube-apiserver ready');

    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml({ server, caPem, user: 'admin', token: creds.adminToken }), { mode: 0o600 });
    const kcmConfig = join(dir, 'kcm.kubeconfig');
    writeFileSync(kcmConfig, kubeconfigYaml({ server, caPem, user: 'kube-controller-manager', token: creds.controllerManagerToken }), { mode: 0o600 });
    const kcm = startProcess('kube-controller-manager', binaries.kubeControllerManager, controllerManagerArgs(kcmConfig, creds, opts.nodeMonitor), join(dir, 'logs/kube-controller-manager.log'));
    procs.push(kcm);
    await waitFor(
      async () => (await get(server, caPem, creds.adminToken, '/api/v1/namespaces/default/serviceaccounts/default')) === 200,
      readyTimeoutMs,
      () => failure(kcm, 'kube-controller-manager did not create the default ServiceAccount'),
      [kcm],
    );
    log.info({ elapsedMs: elapsedMs() }, 'kube-controller-manager ready');

    return {
      dir,
      server,
      caPem,
      adminToken: creds.adminToken,
      kubeconfigPath,
      async stopApiServer() {
        if (!apiserver) return;
        await apiserver.stop();
        procs.splice(procs.indexOf(apiserver), 1);
        apiserver = undefined;
        log.info({}, 'kube-apiserver stopped');
      },
      async startApiServer() {
        if (apiserver) return;
        const p = launchApiserver();
        await waitForReady(server, () => caPem, creds.adminToken, readyTimeoutMs, [etcd, p]);
        log.info({}, 'kube-apiserver ready again');
      },
      pids: () => procs.map((p) => p.pid()).filter((p): p is number => p !== undefined),
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

const DIR_PREFIX = 'vo-cluster-';

/** Removes temp dirs left by a harness that was SIGKILLed (its owner PID is gone). */
function sweepStaleDirs(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    let owner = 0;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue; // not ours, or still being created
    }
    try {
      process.kill(owner, 0);
    } catch {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

function failure(p: Supervised, what: string): Error {
  return new Error(`${what}; last lines of ${p.name}'s log:\n${p.tail()}`);
}

async function waitForReady(server: string, ca: () => string, token: string, timeoutMs: number, watch: Supervised[]): Promise<string> {
  let caPem = '';
  await waitFor(
    async () => {
      try {
        caPem ||= ca();
      } catch {
        return false; // the cert is written a moment after start
      }
      return (await get(server, caPem, token, '/readyz')) === 200;
    },
    timeoutMs,
    () => failure(watch[watch.length - 1]!, `kube-apiserver not ready within ${timeoutMs} ms`),
    watch,
  );
  return caPem;
}

/** Polls `check` until it is true; fails at once when a watched process exits. */
async function waitFor(check: () => Promise<boolean>, timeoutMs: number, onTimeout: () => Error, watch: Supervised[]): Promise<void> {
  await pollUntil(
    async () => {
      const dead = watch.find((p) => p.exited());
      if (dead) throw failure(dead, `${dead.name} exited during start-up`);
      return (await check().catch(() => false)) ? true : undefined;
    },
    { timeoutMs, timeoutError: onTimeout },
  );
}

function get(server: string, ca: string, token: string, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${server}${path}`, { ca, headers: { authorization: `Bearer ${token}` }, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
