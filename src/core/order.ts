/**
 * The (epoch, seq) order of states: the one definition every receiver and sender uses.
 *
 * Invariants:
 * - epoch is the leader's term and wins over seq; within one epoch seq decides.
 * - null ("nothing held yet") is older than every order.
 * - compareOrder is a total order: antisymmetric, transitive, 0 only for equal pairs.
 */
export interface Order {
  epoch: number;
  seq: number;
}

/** -1, 0 or 1: the sign of a − b in (epoch, seq) order; null is older than anything. */
export function compareOrder(a: Order | null, b: Order | null): -1 | 0 | 1 {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  if (a.epoch !== b.epoch) return a.epoch > b.epoch ? 1 : -1;
  return a.seq === b.seq ? 0 : a.seq > b.seq ? 1 : -1;
}

/** True when a is strictly newer than b (b null: anything is newer). */
export function isNewer(a: Order | null, b: Order | null): boolean {
  return compareOrder(a, b) > 0;
}

/** True when a is strictly older than b (b null: nothing is older). */
export function isOlder(a: Order | null, b: Order | null): boolean {
  return compareOrder(a, b) < 0;
}

/** Copies only the order of a state (so a held order never aliases a mutable state). */
export function orderOf(s: Order): Order {
  return { epoch: s.epoch, seq: s.seq };
}
