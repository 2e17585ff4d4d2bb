/**
 * Test seams for the elector's unit tests: a steppable clock and an in-memory ResourceLock with
 * the Lease's optimistic-concurrency rules (resourceVersion; 404 on get of nothing; 409 on
 * create of something or update from a stale version). Integration tests use the real API.
 */
import type { Clock } from '../../../../src/controller/leaderelection/clock.ts';
import { rawRecord } from '../../../../src/controller/leaderelection/lease-lock.ts';
import type { LockReadResult, ResourceLock } from '../../../../src/controller/leaderelection/lease-lock.ts';
import type { LeaseRecord } from '../../../../src/core/election.ts';

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

export class FakeClock implements Clock {
  t: number;
  #timers: Timer[] = [];
  #seq = 0;
  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  random(): number {
    return 0.5;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.#seq++, resolve: () => {} };
      const done = () => {
        this.#timers = this.#timers.filter((x) => x !== timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      timer.resolve = done;
      this.#timers.push(timer);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
  /** Pending timers (for asserting nothing leaks). */
  pending(): number {
    return this.#timers.length;
  }
  /** Moves time forward by `ms`, firing timers in order and letting the code they wake run. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await settle();
    for (;;) {
      const next = [...this.#timers].sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next || next.at > target) break;
      this.t = Math.max(this.t, next.at);
      next.resolve();
      await settle();
    }
    this.t = target;
    await settle();
  }
}

/** Lets every pending promise chain run (the lock below answers via microtasks). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

export class ApiError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** The shared "API server": one Lease, a resourceVersion, and fault injection. */
export class MemoryLeaseStore {
  lease: { record: LeaseRecord; rv: number } | null = null;
  #rv = 0;
  /** 'ok' answers; 'fail' rejects with a 503; 'hang' never answers until the request is aborted. */
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  /** Every successful write, in order. */
  writes: Array<{ op: 'create' | 'update'; by: string; record: LeaseRecord }> = [];

  /** Writes as an outside party would (another controller, kubectl). */
  put(record: LeaseRecord): void {
    this.lease = { record: { ...record }, rv: ++this.#rv };
  }
  bump(): number {
    return ++this.#rv;
  }
}

export class MemoryLock implements ResourceLock {
  readonly store: MemoryLeaseStore;
  readonly who: string;
  #rv: number | null = null;
  /** Per-client fault (a partition of this process only); overrides the store's mode. */
  mode: 'ok' | 'fail' | 'hang' | null = null;
  constructor(store: MemoryLeaseStore, who: string) {
    this.store = store;
    this.who = who;
  }
  describe(): string {
    return 'test/lease';
  }
  async get(signal: AbortSignal): Promise<LockReadResult | null> {
    await this.#gate(signal);
    const l = this.store.lease;
    if (l === null) {
      this.#rv = null;
      return null;
    }
    this.#rv = l.rv;
    return { record: { ...l.record }, raw: rawRecord(l.record) };
  }
  async create(record: LeaseRecord, signal: AbortSignal): Promise<LockReadResult> {
    await this.#gate(signal);
    if (this.store.lease !== null) throw new ApiError(409, 'AlreadyExists');
    this.store.lease = { record: { ...record }, rv: this.store.bump() };
    this.#rv = this.store.lease.rv;
    this.store.writes.push({ op: 'create', by: this.who, record: { ...record } });
    return { record: { ...record }, raw: rawRecord(record) };
  }
  async update(record: LeaseRecord, signal: AbortSignal): Promise<LockReadResult> {
    await this.#gate(signal);
    if (this.#rv === null) throw new Error('not read yet');
    if (this.store.lease === null) throw new ApiError(404, 'NotFound');
    if (this.store.lease.rv !== this.#rv) throw new ApiError(409, 'Conflict');
    this.store.lease = { record: { ...record }, rv: this.store.bump() };
    this.#rv = this.store.lease.rv;
    this.store.writes.push({ op: 'update', by: this.who, record: { ...record } });
    return { record: { ...record }, raw: rawRecord(record) };
  }
  async #gate(signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw signal.reason;
    const mode = this.mode ?? this.store.mode;
    if (mode === 'fail') throw new ApiError(503, 'ServiceUnavailable');
    if (mode === 'hang') {
      await new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    }
  }
}

export function record(over: Partial<LeaseRecord> = {}): LeaseRecord {
  return { holderIdentity: '', leaseDurationSeconds: 15, acquireTimeMs: 0, renewTimeMs: 0, leaseTransitions: 0, epoch: 0, ...over };
}
