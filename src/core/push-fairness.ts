/**
 * Which namespace's push starts next, pure: the pusher keeps a FIFO of waiting pushes per
 * namespace ("lane") and asks `nextLane` each time a push could start. Namespaces, not apps,
 * are the unit of fairness: a namespace is who can create pods, so a tenant cannot multiply its
 * share by creating more apps (docs/design-decisions.md, "Pushes are shared fairly per namespace").
 *
 * Invariants:
 * - Global bound: nothing starts while `activeTotal >= total`.
 * - Namespace bound: a lane never holds more than `perNamespace` pushes in flight, even when
 *   slots are free; so one namespace whose pods never answer holds at most `perNamespace` of the
 *   `total` slots, and `total − perNamespace` slots stay for everybody else.
 * - Work-conserving within those bounds: when a slot is free and some lane has a waiting push
 *   and is below `perNamespace`, a lane is chosen (never null).
 * - Max-min fair: the chosen lane has the fewest pushes in flight among the eligible ones; ties
 *   go to the lane served least recently (`servedAt`, a counter the caller advances), then the
 *   name, so the answer is deterministic. No eligible lane waits for ever while slots keep
 *   freeing: each start makes the chosen lane the most recently served, so ties rotate.
 * - No clock, no I/O; the caller owns the queues.
 */

/** One namespace's view for the decision. */
export interface Lane {
  namespace: string;
  /** Pushes of this namespace in flight. */
  active: number;
  /** Pushes of this namespace waiting for a slot. */
  waiting: number;
  /** When this lane last started a push (a counter; 0 = never). */
  servedAt: number;
}

export interface FairnessLimits {
  /** Pushes in flight at most, in total (--push-concurrency). */
  total: number;
  /** Pushes in flight at most per namespace (--push-namespace-concurrency). */
  perNamespace: number;
}

/** The per-namespace bound when none is configured: a quarter of the total, at least 1. */
export function defaultPerNamespace(total: number): number {
  return Math.max(1, Math.ceil(total / 4));
}

/** The lane whose oldest waiting push starts next, or null when none may start now. */
export function nextLane(lanes: Iterable<Lane>, activeTotal: number, limits: FairnessLimits): string | null {
  if (activeTotal >= limits.total) return null;
  let best: Lane | null = null;
  for (const lane of lanes) {
    if (lane.waiting <= 0 || lane.active >= limits.perNamespace) continue;
    if (best === null || before(lane, best)) best = lane;
  }
  return best?.namespace ?? null;
}

/** Why a lane with waiting pushes does not start one now (metrics), or null when it may. */
export function heldBack(lane: Lane, activeTotal: number, limits: FairnessLimits): 'namespace' | 'global' | null {
  if (lane.waiting <= 0) return null;
  if (lane.active >= limits.perNamespace) return 'namespace';
  if (activeTotal >= limits.total) return 'global';
  return null;
}

function before(a: Lane, b: Lane): boolean {
  if (a.active !== b.active) return a.active < b.active;
  if (a.servedAt !== b.servedAt) return a.servedAt < b.servedAt;
  return a.namespace < b.namespace;
}
