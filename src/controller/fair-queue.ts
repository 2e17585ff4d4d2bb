/**
 * The pusher's waiting room: one FIFO per namespace ("lane") and the count of pushes each lane
 * has in flight. Which lane goes next is core's decision (src/core/push-fairness.ts, nextLane);
 * this file only holds the queues and the counts.
 *
 * Invariants:
 * - `take()` returns an item only when core's nextLane names its lane; the caller then either
 *   `begin`s a push for that lane or drops the item (it went stale while waiting).
 * - Every `begin(ns)` is matched by exactly one `end(ns)`; a lane with nothing waiting and
 *   nothing in flight is deleted, so memory follows the namespaces with work, not all namespaces.
 * - Within a lane the order is FIFO; an item is in at most one lane once (the caller's flag).
 * - Work per take is O(lanes with work) (the decision scans them); per enqueue O(1).
 */
import { heldBack, nextLane, type FairnessLimits, type Lane } from '../core/push-fairness.ts';

interface LaneState<T> extends Lane {
  items: T[];
  /** Index of the oldest waiting item in `items` (shift() on a long array costs O(n)). */
  head: number;
}

export class FairQueue<T> {
  readonly #limits: FairnessLimits;
  readonly #lanes = new Map<string, LaneState<T>>();
  #active = 0;
  #served = 0;

  constructor(limits: FairnessLimits) {
    this.#limits = { ...limits };
  }

  get limits(): Readonly<FairnessLimits> {
    return this.#limits;
  }

  /** Pushes in flight, in total. */
  get active(): number {
    return this.#active;
  }

  /** Items waiting, in total. */
  get waiting(): number {
    let n = 0;
    for (const lane of this.#lanes.values()) n += lane.waiting;
    return n;
  }

  /** Lanes with waiting items held back only by their namespace's share (metrics). */
  get lanesAtNamespaceBound(): number {
    let waitingLanes = 0;
    for (const lane of this.#lanes.values()) if (lane.waiting > 0) waitingLanes++;
    let n = 0;
    for (const lane of this.#lanes.values()) if (heldBack(lane, this.#active, this.#limits, waitingLanes > 1) === 'namespace') n++;
    return n;
  }

  /** In flight per namespace (tests, debugging). */
  activeIn(namespace: string): number {
    return this.#lanes.get(namespace)?.active ?? 0;
  }

  enqueue(namespace: string, item: T): void {
    const lane = this.#lane(namespace);
    lane.items.push(item);
    lane.waiting++;
  }

  /** The next item whose push may start now, or null. */
  take(): { namespace: string; item: T } | null {
    const namespace = nextLane(this.#lanes.values(), this.#active, this.#limits);
    if (namespace === null) return null;
    const lane = this.#lanes.get(namespace) as LaneState<T>;
    const item = lane.items[lane.head] as T;
    lane.items[lane.head] = undefined as T;
    lane.head++;
    lane.waiting--;
    if (lane.head > 64 && lane.head * 2 > lane.items.length) {
      lane.items = lane.items.slice(lane.head);
      lane.head = 0;
    }
    this.#forgetIfEmpty(lane);
    return { namespace, item };
  }

  /** A push of `namespace` started (after take()). */
  begin(namespace: string): void {
    const lane = this.#lane(namespace);
    lane.active++;
    lane.servedAt = ++this.#served;
    this.#active++;
  }

  /** A push of `namespace` ended. */
  end(namespace: string): void {
    const lane = this.#lanes.get(namespace);
    if (!lane || lane.active === 0) return;
    lane.active--;
    this.#active--;
    this.#forgetIfEmpty(lane);
  }

  /** Forgets every waiting item (stop()); pushes in flight still end() as they finish. */
  clearWaiting(): void {
    for (const lane of this.#lanes.values()) {
      lane.items = [];
      lane.head = 0;
      lane.waiting = 0;
      this.#forgetIfEmpty(lane);
    }
  }

  #lane(namespace: string): LaneState<T> {
    let lane = this.#lanes.get(namespace);
    if (!lane) this.#lanes.set(namespace, (lane = { namespace, active: 0, waiting: 0, servedAt: 0, items: [], head: 0 }));
    return lane;
  }

  #forgetIfEmpty(lane: LaneState<T>): void {
    if (lane.waiting === 0 && lane.active === 0) this.#lanes.delete(lane.namespace);
  }
}
