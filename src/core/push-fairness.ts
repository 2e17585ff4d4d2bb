/**
 * Which namespace's push starts next, pure: the pusher keeps a FIFO of waiting pushes per
 * namespace ("lane") and asks `nextLane` each time a push could start. Namespaces, not apps,
 * are the unit of fairness: a namespace is who can create pods, so a tenant cannot multiply its
 * share by creating more apps (docs/design-decisions.md, "Pushes are shared fairly per namespace").
 *
 * Invariants:
 * - Global bound: nothing starts while `activeTotal >= total`.
 * - Share: a lane below `perNamespace` in flight may start whenever a slot is free.
 * - Lending: a lane at or above its share starts another push only while no other lane has a
 *   push waiting, and only if `perNamespace` slots stay free after it starts
 *   (`activeTotal + 1 <= total − perNamespace`). So a lane alone may use idle slots, at most
 *   `total − perNamespace` of them, and every borrowed start leaves one whole share free: the
 *   next namespace's announcement starts at once, even when the borrower's pods never answer.
 *   Slots cannot be taken back from a push in flight; once another lane waits, the borrower
 *   starts nothing until it is back below its share, so borrowed slots return as pushes end.
 * - Work-conserving within those bounds: when a slot is free and a lane is below its share with
 *   a push waiting, or a lone waiting lane may borrow, a lane is chosen (never null).
 * - Max-min fair: the chosen lane has the fewest pushes in flight among the lanes below their
 *   share; ties go to the lane served least recently (`servedAt`, a counter the caller
 *   advances), then the name, so the answer is deterministic. No eligible lane waits for ever
 *   while slots keep freeing: each start makes the chosen lane the most recently served, so
 *   ties rotate; a borrower is chosen only when it is the one lane waiting.
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
  /** Pushes in flight per namespace while another namespace waits (its share; see Lending). */
  perNamespace: number;
}

/** The per-namespace share when none is configured: a quarter of the total, at least 1. */
export function defaultPerNamespace(total: number): number {
  return Math.max(1, Math.ceil(total / 4));
}

/** The lane whose oldest waiting push starts next, or null when none may start now. */
export function nextLane(lanes: Iterable<Lane>, activeTotal: number, limits: FairnessLimits): string | null {
  if (activeTotal >= limits.total) return null;
  let best: Lane | null = null;
  let waitingLanes = 0;
  let atShare: Lane | null = null;
  for (const lane of lanes) {
    if (lane.waiting <= 0) continue;
    waitingLanes++;
    if (lane.active >= limits.perNamespace) atShare = lane;
    else if (best === null || before(lane, best)) best = lane;
  }
  if (best !== null) return best.namespace;
  return waitingLanes === 1 && atShare !== null && mayBorrow(activeTotal, limits) ? atShare.namespace : null;
}

/**
 * Why a lane with waiting pushes does not start one now (metrics), or null when it may.
 * `othersWaiting`: whether another lane has a push waiting (then this lane cannot borrow).
 */
export function heldBack(lane: Lane, activeTotal: number, limits: FairnessLimits, othersWaiting: boolean): 'namespace' | 'global' | null {
  if (lane.waiting <= 0) return null;
  if (lane.active >= limits.perNamespace && (othersWaiting || !mayBorrow(activeTotal, limits))) return 'namespace';
  if (activeTotal >= limits.total) return 'global';
  return null;
}

/** A lane at its share may start one more only if a whole share of slots stays free after it. */
function mayBorrow(activeTotal: number, limits: FairnessLimits): boolean {
  return activeTotal + 1 <= limits.total - limits.perNamespace;
}

function before(a: Lane, b: Lane): boolean {
  if (a.active !== b.active) return a.active < b.active;
  if (a.servedAt !== b.servedAt) return a.servedAt < b.servedAt;
  return a.namespace < b.namespace;
}
