/**
 * Kubernetes Events (events.k8s.io/v1) about apps: VersionConverged / RolloutProgressing
 * (Normal), RolloutDegraded / InvalidVersionLabel (Warning), on the Deployment or the pod.
 * Only the leader records (the controller gates calls).
 *
 * Flood control, so a flapping app cannot flood the API:
 * - Dedup: an Event with the same (object uid, reason, note) as one created within `dedupMs`
 *   is not created again; instead its `series` (count, lastObservedTime) is patched, at most
 *   once per `seriesEveryMs` per Event (client-go's event series, coarser).
 * - Rate limit: a token bucket per regarded object (burst `burst`, one token per `refillMs`),
 *   after client-go's EventSourceObjectSpamFilter; beyond it Events are dropped and counted.
 * - Writes are fire-and-forget: a failed write is logged and counted, never retried, and never
 *   blocks reconciliation.
 * Memory: entries older than `dedupMs` are pruned, so state is O(Events in the window).
 */
import { EventsV1Api, V1MicroTime, type KubeConfig } from '@kubernetes/client-node';
import type { EventType } from '../core/transition-events.ts';
import { realClock, type Clock } from '../platform/clock.ts';
import type { Logger } from '../platform/logger.ts';

export interface Regarding {
  apiVersion: string;
  kind: 'Deployment' | 'Pod';
  namespace: string;
  name: string;
  uid: string;
}

export type EventOutcome = 'created' | 'series' | 'deduplicated' | 'rate_limited' | 'failed';

export interface EventRecorderOptions {
  kubeConfig: KubeConfig;
  /** reportingController, e.g. version-observer.io/controller */
  controller: string;
  /** reportingInstance: this replica's identity */
  instance: string;
  dedupMs: number;
  seriesEveryMs?: number;
  burst?: number;
  refillMs?: number;
  onOutcome?: (reason: string, outcome: EventOutcome) => void;
  log?: Logger;
  /** Dedup windows, token refills and Event names. Default: the real clock. */
  clock?: Clock;
}

interface Seen {
  name: string;
  namespace: string;
  firstMs: number;
  count: number;
  lastPatchMs: number;
  /** The create (or a series patch) in flight, so repeats wait for the name to exist. */
  pending: Promise<unknown> | null;
}

export class EventRecorder {
  readonly #options: Required<Omit<EventRecorderOptions, 'onOutcome' | 'log'>> & Pick<EventRecorderOptions, 'onOutcome' | 'log'>;
  readonly #clock: Clock;
  readonly #api: EventsV1Api;
  readonly #seen = new Map<string, Seen>();
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>();
  #lastPrune = 0;

  constructor(options: EventRecorderOptions) {
    this.#options = { seriesEveryMs: 30_000, burst: 10, refillMs: 60_000, clock: realClock, ...options };
    this.#clock = this.#options.clock;
    this.#api = options.kubeConfig.makeApiClient(EventsV1Api);
  }

  record(regarding: Regarding, type: EventType, reason: string, note: string, action: string): void {
    const now = this.#clock.now();
    this.#prune(now);
    const key = `${regarding.uid}\u0000${reason}\u0000${note}`;
    const seen = this.#seen.get(key);
    if (seen && now - seen.firstMs < this.#options.dedupMs) {
      seen.count++;
      if (now - seen.lastPatchMs < this.#options.seriesEveryMs) return this.#outcome(reason, 'deduplicated');
      seen.lastPatchMs = now;
      const count = seen.count;
      const prior = seen.pending ?? Promise.resolve();
      seen.pending = prior.then(() => this.#patchSeries(seen, count, now, reason));
      return;
    }
    if (!this.#take(regarding.uid, now)) return this.#outcome(reason, 'rate_limited');
    const name = `${regarding.name}.${(BigInt(now) * 1_000_000n + BigInt(Math.floor(this.#clock.random() * 1e6))).toString(16)}`;
    const entry: Seen = { name, namespace: regarding.namespace, firstMs: now, count: 1, lastPatchMs: now, pending: null };
    this.#seen.set(key, entry);
    entry.pending = this.#api
      .createNamespacedEvent({
        namespace: regarding.namespace,
        body: {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          metadata: { name, namespace: regarding.namespace },
          eventTime: new V1MicroTime(now),
          reportingController: this.#options.controller,
          reportingInstance: this.#options.instance,
          action,
          reason,
          note: note.slice(0, 1024),
          type,
          regarding: { ...regarding },
        },
      })
      .then(
        () => this.#outcome(reason, 'created'),
        (err: unknown) => {
          this.#seen.delete(key);
          this.#outcome(reason, 'failed');
          this.#options.log?.warn({ err: describe(err), reason, object: `${regarding.namespace}/${regarding.name}` }, 'event create failed');
        },
      );
  }

  async #patchSeries(seen: Seen, count: number, now: number, reason: string): Promise<void> {
    try {
      await this.#api.patchNamespacedEvent({
        name: seen.name,
        namespace: seen.namespace,
        body: [{ op: 'add', path: '/series', value: { count, lastObservedTime: new V1MicroTime(now).toISOString() } }],
      });
      this.#outcome(reason, 'series');
    } catch (err) {
      this.#outcome(reason, 'failed');
      this.#options.log?.warn({ err: describe(err), reason, event: `${seen.namespace}/${seen.name}` }, 'event series patch failed');
    }
  }

  #take(uid: string, now: number): boolean {
    let b = this.#buckets.get(uid);
    if (!b) this.#buckets.set(uid, (b = { tokens: this.#options.burst, atMs: now }));
    const refill = Math.floor((now - b.atMs) / this.#options.refillMs);
    if (refill > 0) {
      b.tokens = Math.min(this.#options.burst, b.tokens + refill);
      b.atMs += refill * this.#options.refillMs;
    }
    if (b.tokens <= 0) return false;
    b.tokens--;
    return true;
  }

  #prune(now: number): void {
    if (now - this.#lastPrune < Math.min(this.#options.dedupMs, 60_000)) return;
    this.#lastPrune = now;
    for (const [k, s] of this.#seen) if (now - s.firstMs >= this.#options.dedupMs) this.#seen.delete(k);
    const full = this.#options.burst * this.#options.refillMs;
    for (const [k, b] of this.#buckets) if (now - b.atMs >= full) this.#buckets.delete(k);
  }

  #outcome(reason: string, outcome: EventOutcome): void {
    this.#options.onOutcome?.(reason, outcome);
  }
}

function describe(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return code !== undefined ? `${code}: ${msg}` : (msg ?? 'error');
}
