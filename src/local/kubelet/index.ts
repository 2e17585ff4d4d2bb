/**
 * The process kubelet: a small TypeScript stand-in for the kubelet of the local cluster.
 * It registers a Node that stays Ready, binds pods that have no node (there is no scheduler),
 * gives each pod a unique 127.x.y.z IP, runs each container as a local process chosen by
 * image (ImageMap; an unmapped image is a virtual container: Running and Ready, no process),
 * probes, restarts and reports status, and on deletion stops the processes (SIGTERM, grace,
 * SIGKILL) before removing the pod.
 *
 * pauseReporting() makes it a node cut off from its API server (the chaos suite's node loss):
 * no Lease renewal, no node status, no pod status write (each pod's latest status is kept), and
 * no pod change is acted on, as a partitioned kubelet sees none: a pod bound to this node
 * meanwhile is not started, a deleted one not stopped, until resumeReporting(). Running
 * containers keep running and are still probed and restarted. The binder goes on binding: it
 * stands in for the scheduler, which is not on the node. resumeReporting() acts on the latest
 * state of every pod changed meanwhile and re-sends every pod's status, even one equal to the
 * last written (the node controller may have set Ready=False over it).
 *
 * Invariants: bad input (unknown command, port in use, failing probes, unresolvable env)
 * shows up in pod status, never as a thrown error; after stop() resolves no process it
 * started is alive; an exiting harness SIGKILLs every container process group.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { KubeConfig, V1ConfigMap, V1Pod, V1PodStatus, V1Secret } from '@kubernetes/client-node';
import { silentLogger } from '../../platform/logger.ts';
import type { Logger } from '../../platform/logger.ts';
import { defaultImages } from '../images.ts';
import type { ImageMap } from '../images.ts';
import { startInformer } from '../informer.ts';
import { createKubeHttp, KubeApiError } from '../kube-http.ts';
import { errorMessage } from '../log.ts';
import { Binder } from './binder.ts';
import { blockNetworks, claimBlock } from './ip-allocator.ts';
import type { IpBlock } from './ip-allocator.ts';
import { registerNode } from './node.ts';
import { PodWorker } from './pod-worker.ts';
import type { PodWorkerDeps } from './pod-worker.ts';
import { StatusWriter } from './status-writer.ts';
import { serviceAccountCredentials } from './service-account.ts';

/** Passes of resyncAfterResume: the node controller's grace over the renew period (16 s / 2 s), twice. */
const RESUME_RESYNC_PASSES = 16;
/**
 * A failed final DELETE (the API server down or restarting) is retried on a timer: a relist
 * after the API server is back sends no event for a pod that did not change, so waiting for the
 * next watch event could leave the pod Terminating for good.
 */
const DELETE_RETRY_MS = 1_000;

export interface ProcessKubeletOptions {
  kubeConfig: KubeConfig;
  /** default "process-kubelet" */
  nodeName?: string;
  /** default defaultImages() */
  images?: ImageMap;
  /** default silent; records carry component "kubelet" (and pod, container where they apply) */
  logger?: Logger;
  /** tee each container's stdout+stderr to <logDir>/<namespace>_<pod>_<container>.log */
  logDir?: string;
  /** the node's address and hostIP of pods; default 127.0.0.1 */
  hostIP?: string;
  /** a pod's grace period is capped at this; default 10000 ms */
  maxGracePeriodMs?: number;
  /** grace given to each process by stop(); default 3000 ms */
  stopGraceMs?: number;
  /** restart backoff: first delay, default 1000 ms; cap, default 60000 ms */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** parallel status writes and bindings; default 8 */
  concurrency?: number;
  /** preferred B of the 127.B.0.0/16 pod IP block (the first free one from there is used); default from the pid */
  ipBlock?: number;
  /** a block the caller has claimed already (and releases itself): pod IPs come from it; ipBlock is then ignored */
  block?: IpBlock;
  /** the node Lease's renew period; default 10000 ms (the node controller's grace period must be several of these) */
  leaseRenewMs?: number;
  /** KUBECONFIG given to every container process; default: per pod, a kubeconfig with a token of the pod's ServiceAccount */
  kubeconfigPath?: string;
}

export interface ProcessKubelet {
  nodeName: string;
  /** SIGTERM all processes, wait, SIGKILL; stop watching. The Node and pods stay in the API. */
  stop(): Promise<void>;
  /** PIDs of all running container processes (each is a process-group leader). */
  pids(): number[];
  /** recent stdout+stderr of a container process, if it has one */
  logs(namespace: string, pod: string, container: string): string | undefined;
  /** resolves when no status write is queued or in flight (while paused: not before resume) */
  idle(): Promise<void>;
  /** the node goes silent (see the top of this file); resolves once no heartbeat or status write is in flight */
  pauseReporting(): Promise<void>;
  /** the node reports again: Lease, node status, held pod changes, every pod's status */
  resumeReporting(): void;
  /** the pod's status as this kubelet sees it now (its own probe results), whether written or not */
  podStatus(namespace: string, pod: string): V1PodStatus | undefined;
}

export async function startProcessKubelet(opts: ProcessKubeletOptions): Promise<ProcessKubelet> {
  const log = (opts.logger ?? silentLogger).child({ component: 'kubelet' });
  const nodeName = opts.nodeName ?? 'process-kubelet';
  const hostIP = opts.hostIP ?? '127.0.0.1';
  const maxGraceMs = opts.maxGracePeriodMs ?? 10_000;
  const concurrency = opts.concurrency ?? 8;
  const api = await createKubeHttp(opts.kubeConfig, concurrency * 2 + 2);

  // Each pod's containers get a kubeconfig for the pod's ServiceAccount (service-account.ts),
  // unless one kubeconfig for every process is given explicitly.
  const tmpDir = mkdtempSync(join(os.tmpdir(), 'vo-kubelet-'));
  const baseEnv: Record<string, string> = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/' };
  if (opts.kubeconfigPath) baseEnv.KUBECONFIG = opts.kubeconfigPath;
  const credentials = opts.kubeconfigPath ? undefined : serviceAccountCredentials(api, opts.kubeConfig, tmpDir);
  for (const k of ['LANG', 'TMPDIR', 'TZ']) if (process.env[k]) baseEnv[k] = process.env[k]!;

  const block = opts.block ?? (await claimBlock(opts.ipBlock));
  const releaseBlock = () => (opts.block ? Promise.resolve() : block.release());
  const ips = block.allocator;
  const nets = blockNetworks(block.block);
  log.info({ node: nodeName, podIPs: `${nets.podFirst}-${nets.podLast}` }, 'pod IPs claimed');
  let heartbeat;
  try {
    heartbeat = await registerNode(api, { nodeName, hostIP, leaseRenewMs: opts.leaseRenewMs }, log);
  } catch (err) {
    await releaseBlock();
    api.close();
    rmSync(tmpDir, { recursive: true, force: true });
    throw err;
  }
  const writer = new StatusWriter(api, log, concurrency);
  const binder = new Binder(api, nodeName, log, concurrency);
  const workers = new Map<string, PodWorker>();
  const deleting = new Set<string>();
  let stopped = false;
  let paused = false;
  /** pod changes seen while paused, by uid: the latest object, or 'deleted' */
  const held = new Map<string, V1Pod | { deleted: V1Pod }>();

  const lookup: PodWorkerDeps['lookup'] = async (kind, namespace, name) => {
    try {
      if (kind === 'ConfigMap') {
        const cm = await api.request<V1ConfigMap>('GET', `/api/v1/namespaces/${namespace}/configmaps/${name}`);
        return cm.data ?? {};
      }
      const s = await api.request<V1Secret>('GET', `/api/v1/namespaces/${namespace}/secrets/${name}`);
      return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  };
  const deps: PodWorkerDeps = {
    nodeName,
    hostIP,
    images: opts.images ?? defaultImages(),
    backoff: { initialMs: opts.backoffInitialMs ?? 1000, maxMs: opts.backoffMaxMs ?? 60_000, resetAfterMs: 60_000 },
    baseEnv,
    credentials,
    logDir: opts.logDir,
    lookup,
    allocateIP: () => ips.allocate(),
    reserveIP: (ip) => ips.reserve(ip),
    releaseIP: (ip) => ips.release(ip),
    dirty: (worker) => writer.enqueue(worker),
    logger: log,
  };

  async function removePod(worker: PodWorker): Promise<void> {
    if (deleting.has(worker.uid)) return;
    deleting.add(worker.uid);
    const pod = worker.pod;
    const graceS = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    await worker.terminate(Math.min(graceS * 1000, maxGraceMs));
    worker.gone = true;
    if (stopped) return;
    try {
      await api.request('DELETE', `/api/v1/namespaces/${worker.namespace}/pods/${worker.name}`, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: worker.uid },
      });
      if (worker.pids().length === 0) log.info({ pod: `${worker.namespace}/${worker.name}` }, 'pod removed');
    } catch (err) {
      if (!(err instanceof KubeApiError && (err.status === 404 || err.status === 409))) {
        log.warn({ pod: `${worker.namespace}/${worker.name}`, err: errorMessage(err), retryInMs: DELETE_RETRY_MS }, 'pod delete failed; retrying');
        deleting.delete(worker.uid);
        retryRemove(worker);
      }
    }
  }

  function retryRemove(worker: PodWorker): void {
    setTimeout(() => {
      if (stopped || workers.get(worker.uid) !== worker) return; // stopped, or the watch saw it deleted
      if (paused) retryRemove(worker); // a silent node sends nothing; try again after the resume
      else void removePod(worker);
    }, DELETE_RETRY_MS).unref();
  }

  const onPod = (pod: V1Pod) => {
    if (stopped) return;
    const target = pod.spec?.nodeName;
    if (!target) {
      binder.bind(pod);
      return;
    }
    if (target !== nodeName) return;
    const uid = pod.metadata?.uid ?? '';
    if (paused) {
      held.set(uid, pod);
      return;
    }
    let worker = workers.get(uid);
    if (!worker) {
      worker = new PodWorker(pod, deps);
      workers.set(uid, worker);
      if (pod.metadata?.deletionTimestamp) {
        worker.pod = pod; // never started: nothing to stop
      } else {
        try {
          worker.update(pod);
        } catch (err) {
          log.error({ pod: `${worker.namespace}/${worker.name}`, err: errorMessage(err) }, 'pod cannot start');
        }
      }
    } else {
      worker.pod = pod;
      // Reconcile, as the kubelet's status manager does: a Ready condition written by someone else
      // (the node lifecycle controller marks a silent node's pods Ready=False, possibly after
      // this kubelet's resume re-sent its statuses) is written over with this kubelet's own.
      writer.rewriteForeignReady(worker, pod.status);
    }
    if (pod.metadata?.deletionTimestamp) void removePod(worker);
  };
  const onDelete = (pod: V1Pod) => {
    const uid = pod.metadata?.uid ?? '';
    if (paused && pod.spec?.nodeName === nodeName) {
      held.set(uid, { deleted: pod });
      return;
    }
    const worker = workers.get(uid);
    if (!worker) return;
    workers.delete(uid);
    deleting.delete(uid);
    worker.gone = true;
    void worker.terminate(Math.min(2000, maxGraceMs)); // force-deleted: stop quickly
  };
  const informer = startInformer<V1Pod>(opts.kubeConfig, api, '/api/v1/pods', { add: onPod, update: onPod, delete: onDelete }, log);

  /**
   * After a resume the node controller may still mark this node's pods Ready=False until it sees
   * the node Ready again (it marks on every pass while the node is not Ready), possibly after the
   * resume's re-send. Like the kubelet's status manager, which compares the API's copy with its
   * own, this reads the node's pods from the API (one LIST, not the watch, which could lag) a few
   * times and writes its own status over every Ready condition that differs.
   */
  async function resyncAfterResume(): Promise<void> {
    const periodMs = Math.max(500, opts.leaseRenewMs ?? 2_000);
    for (let pass = 0; pass < RESUME_RESYNC_PASSES && !stopped && !paused; pass++) {
      await new Promise((r) => setTimeout(r, periodMs).unref());
      if (stopped || paused) return;
      let fixed = 0;
      try {
        const list = await api.request<{ items: V1Pod[] }>('GET', `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${nodeName}`)}`);
        for (const pod of list.items) {
          const worker = workers.get(pod.metadata?.uid ?? '');
          if (worker && writer.rewriteForeignReady(worker, pod.status)) fixed++;
        }
      } catch (err) {
        log.warn({ node: nodeName, err: errorMessage(err) }, 'status resync after resume: list failed; next pass retries');
        continue;
      }
      if (fixed > 0) log.info({ node: nodeName, pods: fixed, pass }, 'status resync after resume: wrote over a Ready condition set by someone else');
    }
  }

  const onExit = () => {
    for (const worker of workers.values()) worker.killNow();
  };
  process.on('exit', onExit);
  await informer.synced();
  log.info({ node: nodeName, pods: workers.size }, 'kubelet ready');

  return {
    nodeName,
    async stop() {
      if (stopped) return;
      stopped = true;
      await informer.stop();
      binder.stop();
      heartbeat.stop();
      writer.stop();
      const all = [...workers.values()];
      await Promise.all(all.map((worker) => worker.terminate(opts.stopGraceMs ?? 3000)));
      process.off('exit', onExit);
      await releaseBlock();
      api.close();
      rmSync(tmpDir, { recursive: true, force: true });
      log.info({ node: nodeName, pods: all.length }, 'kubelet stopped');
    },
    pids() {
      return [...workers.values()].flatMap((worker) => worker.pids());
    },
    logs(namespace, pod, container) {
      for (const worker of workers.values()) if (worker.namespace === namespace && worker.name === pod) return worker.output(container);
      return undefined;
    },
    idle: () => writer.idle(),
    async pauseReporting() {
      if (paused || stopped) return;
      paused = true;
      await Promise.all([heartbeat.pause(), writer.hold()]);
      log.info({ node: nodeName }, 'reporting paused');
    },
    resumeReporting() {
      if (!paused || stopped) return;
      paused = false;
      heartbeat.resume();
      const changes = [...held.values()];
      held.clear();
      for (const change of changes) {
        if ('deleted' in change) onDelete(change.deleted);
        else onPod(change);
      }
      for (const worker of workers.values()) {
        worker.lastWritten = worker.lastWritten === 'terminal' ? worker.lastWritten : '';
        writer.enqueue(worker);
      }
      writer.release();
      log.info({ node: nodeName, changes: changes.length }, 'reporting resumed');
      void resyncAfterResume();
    },
    podStatus(namespace, pod) {
      for (const worker of workers.values()) if (worker.namespace === namespace && worker.name === pod) return worker.buildStatus();
      return undefined;
    },
  };
}
