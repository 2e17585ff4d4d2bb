/**
 * Pod status as the process kubelet reports it, computed from what it knows about each
 * container. Pure: `now` is an argument, and the previous conditions decide lastTransitionTime.
 *
 * Invariants: conditions PodReadyToStartContainers, Initialized, ContainersReady, Ready and
 * PodScheduled are always present (conditions of other types are passed through untouched);
 * a condition's lastTransitionTime changes only when its status changes; Ready is never True
 * while any container is not ready or a readiness gate is not True.
 *
 * Native sidecars (init containers with restartPolicy Always) follow the kubelet
 * (pkg/kubelet/status/generate.go, prober_manager.go): their readiness counts toward
 * ContainersReady and Ready like an app container's, listed first; one counts as initialized
 * once started. A regular init container that exited 0 is reported ready (and not started).
 */
import type { V1ContainerState, V1ContainerStatus, V1PodCondition, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import type { ContainerSnapshot } from './container.ts';

export interface ContainerView {
  name: string;
  image: string;
  /** undefined: a virtual container (no process), always running and ready since startTime */
  snap: ContainerSnapshot | undefined;
  /** for init containers and restartPolicy Never/OnFailure: terminated and will not restart */
  done?: boolean;
  /** init containers not reached yet */
  pending?: boolean;
  /** a native sidecar: an init container with restartPolicy Always */
  sidecar?: boolean;
}

export interface PodView {
  pod: V1Pod;
  podIP: string;
  hostIP: string;
  startTime: string;
  initDone: boolean;
  initContainers: ContainerView[];
  containers: ContainerView[];
  /** the conditions of the status computed last time (for lastTransitionTime) */
  previous: V1PodCondition[];
  now: string;
}

const OWNED = ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready', 'PodScheduled'];

function containerStatus(c: ContainerView, pod: V1Pod, startTime: string, init: boolean): V1ContainerStatus {
  // a regular init container runs to completion; a sidecar runs like an app container
  const runsToCompletion = init && !c.sidecar;
  if (!c.snap) {
    const uid = pod.metadata?.uid ?? '';
    const state: V1ContainerState = c.pending
      ? { waiting: { reason: 'PodInitializing' } }
      : runsToCompletion
        ? { terminated: { exitCode: 0, reason: 'Completed', startedAt: startTime as unknown as Date, finishedAt: startTime as unknown as Date } }
        : { running: { startedAt: startTime as unknown as Date } };
    return {
      name: c.name,
      image: c.image,
      imageID: `virtual://${c.image}`,
      containerID: `virtual://${uid}/${c.name}`,
      ready: !c.pending,
      started: !runsToCompletion && !c.pending,
      restartCount: 0,
      state,
    };
  }
  const s = c.snap;
  const st: V1ContainerStatus = {
    name: c.name,
    image: c.image,
    imageID: s.imageID,
    ready: runsToCompletion ? !c.pending && s.state.terminated?.exitCode === 0 : s.ready,
    started: s.started,
    restartCount: s.restartCount,
    state: c.pending ? { waiting: { reason: 'PodInitializing' } } : s.state,
  };
  if (s.containerID) st.containerID = s.containerID;
  else if (s.state.terminated?.containerID) st.containerID = s.state.terminated.containerID;
  if (s.lastState.terminated || s.lastState.running || s.lastState.waiting) st.lastState = s.lastState;
  return st;
}

function notReadyDetail(c: ContainerView): string {
  const s = c.snap;
  if (!s) return '';
  if (s.probeMessage) return `${c.name}: ${s.probeMessage}`;
  const w = s.state.waiting;
  if (w) return `${c.name}: ${w.reason}${w.message ? `: ${w.message}` : ''}`;
  const t = s.state.terminated;
  if (t) return `${c.name}: terminated (${t.reason}, exit code ${t.exitCode})`;
  return '';
}

/** The status of a pod status's Ready condition ('True' / 'False' / 'Unknown'), if it has one. */
export function readyStatusOf(status: V1PodStatus | undefined): string | undefined {
  return status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

export function phaseOf(view: PodView): V1PodStatus['phase'] {
  const policy = view.pod.spec?.restartPolicy ?? 'Always';
  if (!view.initDone) {
    const failed = view.initContainers.some((c) => c.done && (c.snap?.state.terminated?.exitCode ?? 0) !== 0);
    return failed && policy === 'Never' ? 'Failed' : 'Pending';
  }
  // A native sidecar still running keeps the pod Running, as in the kubelet: a pod gets its
  // terminal phase only once every container has stopped, and a deleted pod's sidecars stop
  // after its app containers and serve (and are pushed to) until then.
  const sidecarRunning = view.initContainers.some((c) => c.sidecar && !c.pending && !c.done && (c.snap === undefined || c.snap.state.running !== undefined));
  if (view.containers.length > 0 && view.containers.every((c) => c.done) && !sidecarRunning) {
    return view.containers.every((c) => (c.snap?.state.terminated?.exitCode ?? 0) === 0) ? 'Succeeded' : 'Failed';
  }
  // A container that ran and stopped counts as started (as the kubelet's getPhase counts stopped
  // containers of a restartPolicy Always pod as Running): a deleted pod whose app container has
  // exited while its sidecar drains is Running, not Pending.
  const started = view.containers.some((c) => !c.snap || c.snap.state.running || c.snap.state.terminated || c.snap.restartCount > 0 || c.snap.lastState.terminated || c.done);
  return started ? 'Running' : 'Pending';
}

export function buildPodStatus(view: PodView): V1PodStatus {
  const phase = phaseOf(view);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const initStatuses = view.initContainers.map((c) => containerStatus(c, view.pod, view.startTime, true));
  const statuses = view.containers.map((c) => containerStatus({ ...c, pending: !view.initDone }, view.pod, view.startTime, false));
  const sidecars = view.initContainers.flatMap((c, i) => (c.sidecar ? [{ c, status: initStatuses[i]! }] : []));
  const unready = [...sidecars, ...view.containers.map((c, i) => ({ c, status: statuses[i]! }))].filter((x) => !x.status.ready).map((x) => x.c);
  const details = unready.map(notReadyDetail).filter(Boolean).join('; ');
  const unreadyMsg = `containers with unready status: [${unready.map((c) => c.name).join(' ')}]${details ? ` (${details})` : ''}`.slice(0, 2000);
  const containersReady = unready.length === 0 && view.initDone;
  const current = view.pod.status?.conditions ?? [];
  const gates = (view.pod.spec?.readinessGates ?? []).map((g) => g.conditionType);
  const gatesOpen = gates.filter((t) => current.find((c) => c.type === t)?.status !== 'True');

  type Cond = { type: string; ok: boolean; reason?: string; message?: string };
  const incomplete = view.initContainers.filter((c, i) => (c.sidecar ? !initStatuses[i]!.started : !c.done)).map((c) => c.name);
  const conds: Cond[] = [
    { type: 'PodReadyToStartContainers', ok: true },
    view.initDone ? { type: 'Initialized', ok: true } : { type: 'Initialized', ok: false, reason: 'ContainersNotInitialized', message: `containers with incomplete status: [${incomplete.join(' ')}]` },
    terminal
      ? { type: 'ContainersReady', ok: false, reason: 'PodCompleted' }
      : containersReady
        ? { type: 'ContainersReady', ok: true }
        : { type: 'ContainersReady', ok: false, reason: 'ContainersNotReady', message: unreadyMsg },
    terminal
      ? { type: 'Ready', ok: false, reason: 'PodCompleted' }
      : !containersReady
        ? { type: 'Ready', ok: false, reason: 'ContainersNotReady', message: unreadyMsg }
        : gatesOpen.length > 0
          ? { type: 'Ready', ok: false, reason: 'ReadinessGatesNotReady', message: `corresponding condition of pod readiness gate "${gatesOpen[0]}" does not exist or is not True` }
          : { type: 'Ready', ok: true },
    { type: 'PodScheduled', ok: true },
  ];
  const conditions: V1PodCondition[] = conds.map((c) => {
    const status = c.ok ? 'True' : 'False';
    const prev = view.previous.find((p) => p.type === c.type) ?? current.find((p) => p.type === c.type);
    const lastTransitionTime = prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : view.now;
    const out: V1PodCondition = { type: c.type, status, lastProbeTime: null as unknown as undefined, lastTransitionTime: lastTransitionTime as unknown as Date };
    if (c.reason) out.reason = c.reason;
    if (c.message) out.message = c.message;
    return out;
  });
  for (const c of current) if (!OWNED.includes(c.type)) conditions.push(c);

  const status: V1PodStatus = {
    phase,
    conditions,
    hostIP: view.hostIP,
    hostIPs: [{ ip: view.hostIP }],
    podIP: view.podIP,
    podIPs: [{ ip: view.podIP }],
    startTime: view.startTime as unknown as Date,
    containerStatuses: statuses,
  };
  if (initStatuses.length > 0) status.initContainerStatuses = initStatuses;
  return status;
}
