/**
 * Per-pod push policy (the push of docs/protocol.md), pure: the pusher in
 * src/controller keeps one PodPush per pod and asks these functions what to do.
 *
 * Invariants:
 * - Latest state wins: a pod is never sent anything but the app's current state; states that
 *   changed while a push was in flight or backing off are coalesced into the next send.
 * - At most one push in flight per pod (`nextStep` answers `busy` while one is).
 * - A pod is done when its acknowledged (epoch, seq) is at least the current one. A 409 (stale)
 *   counts as acknowledged: the sidecar already holds that state or a newer one, and resending
 *   cannot help.
 * - Failures back off with full jitter (core backoffStep, 'full': delay = random ×
 *   min(maxMs, baseMs × 2^(failures-1)), spreading the pods of an app the most), `random` in
 *   [0, 1) injected; a success resets the failure count.
 * - A refused connect means the sidecar is not listening yet (or restarting): nothing was sent,
 *   so it is no push failure. It waits its own short backoff (`refusals`) and leaves `failures`
 *   alone; any answer or other failure resets `refusals`. The first `fastTries` refusals wait
 *   about `fastMs` each (equal jitter), the rest 100 ms → 2 s (full jitter): a sidecar that is
 *   starting (or whose server is being restarted by its supervisor) gets the app's state within
 *   ~`fastMs` of listening, and a pod that never listens costs a few connects a second.
 * - Nothing here reads a clock (`now` is an argument) or schedules anything.
 */
import { backoffStep, type BackoffPolicy } from './backoff.ts';
import type { PodView } from './evaluate.ts';
import { isNewer, orderOf, type Order } from './order.ts';

/** The pusher's retry bounds (first retry's upper bound, default 250 ms; cap, default 30 s); the jitter is always full. */
export type BackoffConfig = Pick<BackoffPolicy, 'baseMs' | 'maxMs'>;

export const DEFAULT_BACKOFF: Readonly<BackoffConfig> = Object.freeze({ baseMs: 250, maxMs: 30_000 });

/**
 * Retry bounds after a refused connect (sidecar not listening): `fastTries` quick retries, then
 * `baseMs` → `maxMs`. Short, because a sidecar that starts listening should get the app's state
 * (often an announcement) at once: a pod can turn Ready, and so complete a rollout, before its
 * sidecar's server listens (a native sidecar without probes does not gate the app's start, and
 * Node takes 0.2–1.5 s to load the server on a busy node). A refused connect costs the pod network
 * one SYN and one RST: 80 tries at ~50 ms cover ~3 s of start-up, and 2 s caps what a pod without
 * a listening sidecar costs after that.
 */
export interface ListenBackoffConfig extends BackoffConfig {
  /** Refusals answered with the quick retry before the exponential one starts; default 0. */
  fastTries?: number;
  /** The quick retry's delay (equal jitter: fastMs/2 to fastMs). */
  fastMs?: number;
}

export const DEFAULT_LISTEN_BACKOFF: Readonly<ListenBackoffConfig> = Object.freeze({ baseMs: 100, maxMs: 2_000, fastTries: 80, fastMs: 50 });

/** The wait after the `refusals`-th consecutive refused connect. */
export function listenRetryDelay(refusals: number, listen: ListenBackoffConfig, random: number): number {
  const fastTries = listen.fastTries ?? 0;
  if (refusals <= fastTries && listen.fastMs !== undefined) return backoffStep(1, { baseMs: listen.fastMs, maxMs: listen.fastMs, jitter: 'equal' }, random);
  return backoffStep(refusals - fastTries, { baseMs: listen.baseMs, maxMs: listen.maxMs, jitter: 'full' }, random);
}

/** What the pusher remembers about one pod. */
export interface PodPush {
  /** Newest (epoch, seq) the pod acknowledged (204 or 409); null when none yet. */
  acked: Order | null;
  /** (epoch, seq) of the push in flight; null when none. */
  inFlight: Order | null;
  /** Consecutive failed pushes (refused connects not counted). */
  failures: number;
  /** Consecutive refused connects: the sidecar was not listening at the last try. */
  refusals: number;
  /** Not before this time (ms) may the next push start; 0 = at once. */
  retryAtMs: number;
}

export const IDLE_POD: Readonly<PodPush> = Object.freeze({ acked: null, inFlight: null, failures: 0, refusals: 0, retryAtMs: 0 });

export type PushOutcome = 'applied' | 'stale' | 'failed' | 'not_listening';

export type Step =
  | { kind: 'idle' } // nothing to send: acknowledged up to the current state (or no state yet)
  | { kind: 'busy' } // a push is in flight; its completion will call nextStep again
  | { kind: 'wait'; delayMs: number } // backing off
  | { kind: 'send'; order: Order }; // start a push of the current state now

/** True when a pod that acknowledged `acked` still needs `current`. */
export function needsPush(acked: Order | null | undefined, current: Order | null): boolean {
  return current !== null && isNewer(current, acked ?? null);
}

/** What to do next for one pod given the app's current state order. */
export function nextStep(pod: PodPush, current: Order | null, now: number): Step {
  if (pod.inFlight !== null) return { kind: 'busy' };
  if (!needsPush(pod.acked, current)) return { kind: 'idle' };
  if (now < pod.retryAtMs) return { kind: 'wait', delayMs: pod.retryAtMs - now };
  return { kind: 'send', order: orderOf(current as Order) };
}

/** The pod after a push of `order` started. */
export function started(pod: PodPush, order: Order): PodPush {
  return { ...pod, inFlight: orderOf(order) };
}

/**
 * Maps the sidecar's HTTP answer (null = no answer; then `error` is the transport's reason) to
 * an outcome. A refused connect is `not_listening`, not a failure.
 */
export function outcomeOf(status: number | null, error: string | null = null): PushOutcome {
  if (status === 204 || status === 200) return 'applied';
  if (status === 409) return 'stale';
  if (status === null && error === 'refused') return 'not_listening';
  return 'failed';
}

/** The pod after the push in flight finished with `outcome`. */
export function finished(
  pod: PodPush, outcome: PushOutcome, now: number, random: number, config: BackoffConfig = DEFAULT_BACKOFF, listen: ListenBackoffConfig = DEFAULT_LISTEN_BACKOFF,
): PodPush {
  const sent = pod.inFlight;
  if (outcome === 'not_listening') {
    const refusals = pod.refusals + 1;
    return { ...pod, inFlight: null, refusals, retryAtMs: now + listenRetryDelay(refusals, listen, random) };
  }
  if (outcome === 'failed') {
    const failures = pod.failures + 1;
    return { acked: pod.acked, inFlight: null, failures, refusals: 0, retryAtMs: now + backoffStep(failures, { ...config, jitter: 'full' }, random) };
  }
  const acked = isNewer(sent, pod.acked) ? sent : pod.acked;
  return { acked, inFlight: null, failures: 0, refusals: 0, retryAtMs: 0 };
}

/**
 * A pod gets pushes once it has an IP and is Running (a pod whose phase is unknown counts when it
 * has an IP). Terminating pods still count: their tabs stay connected until the sidecar closes.
 */
export function isPushTarget(pod: Pick<PodView, 'podIP' | 'phase'>): boolean {
  return typeof pod.podIP === 'string' && pod.podIP !== '' && (pod.phase === undefined || pod.phase === 'Running');
}

/** The key the pusher uses for a pod: "namespace/name@ip" (a new IP is a new target). */
export function podKey(pod: Pick<PodView, 'namespace' | 'name' | 'podIP'>): string {
  return `${pod.namespace}/${pod.name}@${pod.podIP ?? ''}`;
}
