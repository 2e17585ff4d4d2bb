/**
 * Test seams for the elector's unit tests: a steppable clock and an in-memory ResourceLock with
 * the Lease's optimistic-concurrency rules (resourceVersion; 404 on get of nothing; 409 on
 * create of something or update from a stale version). Integration tests use the real API.
 */
export { FakeClock, settle } from '../../../support/fake-clock.ts';
import { rawRecord } from '../../../../src/controller/leaderelection/lease-lock.ts';
import type { LockReadResult, ResourceLock } from '../../../../src/controller/leaderelection/lease-lock.ts';
import type { LeaseRecord } from '../../../../src/core/election.ts';

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
