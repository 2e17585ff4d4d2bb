/**
 * The life of one pod on the process kubelet: IP, init containers in order, then all
 * containers; status on every change (through the shared StatusWriter); on deletion stop every
 * process (SIGTERM, grace, SIGKILL), then remove the pod from the API and free its IP.
 *
 * Invariants: a worker belongs to one pod UID; it starts containers once; it holds no timer of
 * its own while the pod runs (virtual containers cost one object and one status write);
 * terminate() runs at most once and always ends with every process gone; once the pod
 * terminates no container is started or restarted again.
 *
 * Each container carries its role (restart-policy.ts: init, sidecar, main). The role decides
 * its restarts inside ContainerProcess and, through container-order.ts, when init moves on (a
 * native sidecar counts once started) and the order of stopping (app containers first, then
 * the sidecars in reverse order). When every app container has finished for good (restartPolicy
 * Never/OnFailure), the sidecars are stopped in that same order, as the kubelet does.
 */
import type { V1Container, V1Pod, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';
import type { Logger } from '../../platform/logger.ts';
import { findRunner } from '../images.ts';
import type { ImageMap } from '../images.ts';
import { rfc3339 } from '../kube-http.ts';
import { ContainerProcess } from './container.ts';
import { graceAfterWait, nextInitStep, stopPrerequisites } from './container-order.ts';
import type { InitSlotState } from './container-order.ts';
import { buildEnv } from './env.ts';
import type { DataLookup } from './env.ts';
import { containerRole } from './restart-policy.ts';
import type { ContainerRole, RestartBackoff } from './restart-policy.ts';
import type { CredentialsFor } from './service-account.ts';
import { buildPodStatus } from './status.ts';
import type { ContainerView } from './status.ts';

export interface PodWorkerDeps {
  nodeName: string;
  hostIP: string;
  images: ImageMap;
  backoff: RestartBackoff;
  baseEnv: Record<string, string>;
  /** kubeconfig path with the pod's ServiceAccount token, for KUBECONFIG */
  credentials: CredentialsFor | undefined;
  logDir: string | undefined;
  lookup: DataLookup;
  allocateIP: () => string;
  reserveIP: (ip: string) => boolean;
  releaseIP: (ip: string) => void;
  /** the status of this worker changed; write it soon */
  dirty: (w: PodWorker) => void;
  /** the kubelet's logger; the worker binds its pod */
  logger: Logger;
}

/** One container of the pod as the worker tracks it. */
interface Slot {
  spec: V1Container;
  /** a sidecar (init container with restartPolicy Always) counts as initialized once started and then runs alongside the main containers */
  role: ContainerRole;
  /** undefined for a virtual container (an image with no runner) */
  proc: ContainerProcess | undefined;
  virtual: boolean;
  /** the process has been started once */
  launched: boolean;
  /** set when its stop began; resolves when its process is gone */
  stopped?: Promise<void>;
}

function initSlotState(slot: Slot): InitSlotState {
  const proc = slot.proc;
  return {
    role: slot.role,
    virtual: slot.virtual,
    launched: slot.launched,
    started: proc?.snapshot().started ?? false,
    succeeded: !!proc?.done && proc.exitCode === 0,
  };
}

/** Resolves when `p` settles or after `ms`, whichever comes first. */
function within(p: Promise<unknown>, ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((r) => (timer = setTimeout(r, ms)));
  return Promise.race([p.then(() => undefined), timeout]).finally(() => clearTimeout(timer));
}

export class PodWorker {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  pod: V1Pod;
  readonly #deps: PodWorkerDeps;
  readonly #log: Logger;
  podIP = '';
  #ownsIP = false;
  #startTime = '';
  #init: Slot[] = [];
  #main: Slot[] = [];
  #initIndex = 0;
  #initDone = false;
  #previous: V1PodCondition[] = [];
  #started = false;
  #terminating: Promise<void> | undefined;
  /** JSON of the last status written (set by the writer) */
  lastWritten = '';
  /** the Ready status of the last write (status-writer.ts) */
  lastReady?: string;
  /** true once the pod is gone from the API (or being removed): no more status writes */
  gone = false;

  constructor(pod: V1Pod, deps: PodWorkerDeps) {
    this.pod = pod;
    this.#deps = deps;
    this.uid = pod.metadata?.uid ?? '';
    this.namespace = pod.metadata?.namespace ?? 'default';
    this.name = pod.metadata?.name ?? '';
    this.#log = deps.logger.child({ pod: `${this.namespace}/${this.name}` });
  }

  get terminating(): boolean {
    return this.#terminating !== undefined;
  }

  /** Latest object from the watch. Starts the pod the first time. */
  update(pod: V1Pod): void {
    this.pod = pod;
    if (!this.#started) this.#start();
  }

  #start(): void {
    this.#started = true;
    const pod = this.pod;
    const phase = pod.status?.phase;
    const old = pod.status?.podIP;
    if (pod.spec?.hostNetwork) {
      this.podIP = this.#deps.hostIP;
    } else if (old && this.#deps.reserveIP(old)) {
      this.podIP = old;
      this.#ownsIP = true;
    } else {
      this.podIP = this.#deps.allocateIP();
      this.#ownsIP = true;
    }
    this.#startTime = (pod.status?.startTime as unknown as string | undefined) ?? rfc3339();
    if (phase === 'Succeeded' || phase === 'Failed') {
      // finished before this kubelet started: nothing to run, keep the status as it is
      this.lastWritten = 'terminal';
      return;
    }
    const podRestartPolicy = pod.spec?.restartPolicy ?? 'Always';
    const makeSlot = (spec: V1Container, inInitList: boolean): Slot => {
      const role = containerRole(spec, inInitList);
      const runner = findRunner(this.#deps.images, spec.image ?? '');
      const slot: Slot = { spec, role, proc: undefined, virtual: !runner, launched: false };
      if (runner) {
        slot.proc = new ContainerProcess({
          spec,
          pod,
          podIP: this.podIP,
          runner,
          role,
          podRestartPolicy,
          buildEnv: async () => {
            const env = await buildEnv({ pod: this.pod, container: spec, podIP: this.podIP, hostIP: this.#deps.hostIP, nodeName: this.#deps.nodeName, lookup: this.#deps.lookup });
            const kubeconfig = await this.#deps.credentials?.(this.pod);
            return kubeconfig ? { KUBECONFIG: kubeconfig, ...env } : env;
          },
          baseEnv: this.#deps.baseEnv,
          backoff: this.#deps.backoff,
          logDir: this.#deps.logDir,
          onChange: () => this.#onContainerChange(slot),
          logger: this.#log,
        });
      }
      return slot;
    };
    this.#init = (pod.spec?.initContainers ?? []).map((c) => makeSlot(c, true));
    this.#main = (pod.spec?.containers ?? []).map((c) => makeSlot(c, false));
    const processes = [...this.#init, ...this.#main].filter((s) => !s.virtual).length;
    if (processes > 0) this.#log.info({ podIP: this.podIP, processes }, 'starting pod');
    this.#advanceInit();
    this.#deps.dirty(this);
  }

  #onContainerChange(slot: Slot): void {
    if (!this.#initDone && this.#init[this.#initIndex] === slot) this.#advanceInit();
    if (slot.role === 'main' && this.#initDone && !this.#terminating && this.#main.every((s) => !s.virtual && s.proc!.done)) {
      // every app container finished for good: the sidecars have nothing left to serve
      void this.#stopSlots(this.#init.filter((s) => s.role === 'sidecar'), this.#podGraceMs());
    }
    this.#deps.dirty(this);
  }

  /** Runs init containers in order (container-order.ts), then starts the main containers. */
  #advanceInit(): void {
    if (this.#terminating) return;
    const step = nextInitStep(this.#init.map(initSlotState), this.#initIndex);
    this.#initIndex = step.index;
    if (step.kind === 'launch') {
      const slot = this.#init[step.index]!;
      slot.launched = true;
      slot.proc!.start();
      return;
    }
    if (step.kind === 'wait') return; // running, or failed (restarting or, with restartPolicy Never, the pod fails)
    this.#initDone = true;
    for (const s of this.#main) {
      s.launched = true;
      s.proc?.start();
    }
  }

  #podGraceMs(): number {
    return (this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
  }

  /**
   * Stops these slots in the kubelet's order (container-order.ts) within graceMs overall; a
   * slot already stopping keeps its first stop. Resolves when all their processes are gone.
   */
  #stopSlots(slots: Slot[], graceMs: number): Promise<void> {
    const t0 = Date.now();
    const waits = stopPrerequisites(
      this.#init.map((s) => ({ name: s.spec.name, role: s.role })),
      this.#main.map((s) => s.spec.name),
    );
    const byName = new Map([...this.#init, ...this.#main].map((s) => [s.spec.name, s]));
    for (const s of slots) s.proc?.holdRestarts();
    // prerequisites first: app and init containers, then the sidecars from the last declared
    const order = [...slots.filter((s) => s.role !== 'sidecar'), ...slots.filter((s) => s.role === 'sidecar').reverse()];
    for (const slot of order) {
      const proc = slot.proc;
      if (!proc || slot.stopped) continue;
      const before = (waits.get(slot.spec.name) ?? []).map((name) => byName.get(name)?.stopped).filter((p) => p !== undefined);
      slot.stopped = (async () => {
        if (before.length > 0) await within(Promise.all(before), graceMs - (Date.now() - t0));
        await proc.terminate(graceAfterWait(graceMs, Date.now() - t0));
      })();
    }
    return Promise.all(slots.map((s) => s.stopped)).then(() => undefined);
  }

  buildStatus(): V1PodStatus {
    const viewOf = (slot: Slot, index: number, init: boolean): ContainerView => {
      const view: ContainerView = { name: slot.spec.name, image: slot.spec.image ?? '', snap: slot.proc?.snapshot() };
      if (slot.role === 'sidecar') view.sidecar = true;
      if (init) {
        const reached = slot.virtual ? index < this.#initIndex || this.#initDone : slot.launched;
        if (!reached) {
          view.pending = true;
          view.snap = undefined;
        } else if (slot.virtual ? slot.role !== 'sidecar' : slot.proc!.done) {
          view.done = true;
        }
      } else if (slot.proc?.done) {
        view.done = true;
      }
      return view;
    };
    const status = buildPodStatus({
      pod: this.pod,
      podIP: this.podIP,
      hostIP: this.#deps.hostIP,
      startTime: this.#startTime,
      initDone: this.#initDone,
      initContainers: this.#init.map((slot, i) => viewOf(slot, i, true)),
      containers: this.#main.map((slot, i) => viewOf(slot, i, false)),
      previous: this.#previous,
      now: rfc3339(),
    });
    this.#previous = status.conditions ?? [];
    return status;
  }

  pids(): number[] {
    const out: number[] = [];
    for (const s of [...this.#init, ...this.#main]) {
      const pid = s.proc?.pid;
      if (pid) out.push(pid);
    }
    return out;
  }

  /** Container output (ring buffer) by container name. */
  output(container: string): string | undefined {
    return [...this.#init, ...this.#main].find((s) => s.spec.name === container)?.proc?.output();
  }

  /**
   * Stops all processes: SIGTERM, wait up to graceMs, SIGKILL; app containers first, sidecars
   * after them in reverse order within what is left of graceMs. Idempotent. Frees the IP afterwards.
   */
  terminate(graceMs: number): Promise<void> {
    if (!this.#terminating) {
      this.#terminating = (async () => {
        const slots = [...this.#main, ...this.#init].filter((s) => s.proc);
        if (slots.length > 0) this.#log.info({ containers: slots.length, graceMs }, 'stopping pod');
        await this.#stopSlots(slots, graceMs);
        if (this.#ownsIP) this.#deps.releaseIP(this.podIP);
        this.#ownsIP = false;
      })();
    }
    return this.#terminating;
  }

  killNow(): void {
    for (const s of [...this.#init, ...this.#main]) s.proc?.killNow();
  }
}
