/**
 * The resource lock: a coordination.k8s.io/v1 Lease, and nothing else (client-go's
 * resourcelock/leaselock.go). It converts a LeaseRecord to and from a Lease spec and calls the
 * API; every timing and election decision lives in the elector and in src/core/election.ts.
 *
 * Invariants:
 * - `get` returns the record and its raw form (a stable JSON string of the record). Callers
 *   detect that someone else renewed by comparing raw forms, never by reading remote times.
 * - `update` is optimistic: it sends the resourceVersion of the Lease last read or written by
 *   this lock, so a concurrent writer makes it fail with 409 Conflict (callers re-get).
 * - `create` fails with 409 AlreadyExists when someone created the Lease first.
 * - Every call takes an AbortSignal that aborts the HTTP request; nothing here retries.
 * - The record is the Lease spec plus the epoch annotation (`version-observer.io/epoch`), both
 *   written in the same guarded update; other labels and annotations of the Lease are kept.
 */
import { CoordinationV1Api, Observable, V1MicroTime } from '@kubernetes/client-node';
import type { ConfigurationOptions, KubeConfig, ObservableMiddleware, RequestContext, ResponseContext, V1Lease } from '@kubernetes/client-node';
import { EPOCH_ANNOTATION, parseEpochAnnotation, recordKey } from '../../core/election.ts';
import type { LeaseRecord } from '../../core/election.ts';

export type { LeaseRecord } from '../../core/election.ts';

export interface LockReadResult {
  record: LeaseRecord;
  /** Stable serialization of `record`; equal strings ⇔ equal records. */
  raw: string;
}

/** What the elector needs from a lock; the Lease lock is the one implementation. */
export interface ResourceLock {
  /** "namespace/name", for logs. */
  describe(): string;
  /** The current record, or null when the Lease does not exist (404). */
  get(signal: AbortSignal): Promise<LockReadResult | null>;
  /** Creates the Lease holding `record`. Throws (409) when it already exists. */
  create(record: LeaseRecord, signal: AbortSignal): Promise<LockReadResult>;
  /** Replaces the spec, guarded by the resourceVersion last seen. Throws (409) on conflict. */
  update(record: LeaseRecord, signal: AbortSignal): Promise<LockReadResult>;
}

/** The stable raw form of a record (what client-go gets by marshalling the record). */
export function rawRecord(r: LeaseRecord): string {
  return recordKey(r) as string;
}

/** HTTP status of an API error (client-node ApiException `.code`), or undefined. */
export function apiStatus(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

export const isConflict = (err: unknown): boolean => apiStatus(err) === 409;
export const isNotFound = (err: unknown): boolean => apiStatus(err) === 404;

export interface LeaseLockOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
}

export class LeaseLock implements ResourceLock {
  readonly #api: CoordinationV1Api;
  readonly #namespace: string;
  readonly #name: string;
  /** The Lease as last read or written; its resourceVersion guards the next update. */
  #lease: V1Lease | null = null;

  constructor(opts: LeaseLockOptions) {
    this.#api = opts.kubeConfig.makeApiClient(CoordinationV1Api);
    this.#namespace = opts.namespace;
    this.#name = opts.name;
  }

  describe(): string {
    return `${this.#namespace}/${this.#name}`;
  }

  async get(signal: AbortSignal): Promise<LockReadResult | null> {
    try {
      const lease = await abortable(this.#api.readNamespacedLease({ name: this.#name, namespace: this.#namespace }, withSignal(signal)), signal);
      return this.#remember(lease);
    } catch (err) {
      if (isNotFound(err)) {
        this.#lease = null;
        return null;
      }
      throw err;
    }
  }

  async create(record: LeaseRecord, signal: AbortSignal): Promise<LockReadResult> {
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.#name, namespace: this.#namespace, annotations: { [EPOCH_ANNOTATION]: String(record.epoch) } },
      spec: recordToSpec(record),
    };
    const lease = await abortable(this.#api.createNamespacedLease({ namespace: this.#namespace, body }, withSignal(signal)), signal);
    return this.#remember(lease);
  }

  async update(record: LeaseRecord, signal: AbortSignal): Promise<LockReadResult> {
    const prev = this.#lease;
    if (!prev?.metadata?.resourceVersion) throw new Error(`lease ${this.describe()} not read yet; call get or create first`);
    const annotations = { ...prev.metadata.annotations, [EPOCH_ANNOTATION]: String(record.epoch) };
    const body: V1Lease = { ...prev, metadata: { ...prev.metadata, annotations }, spec: recordToSpec(record) };
    const lease = await abortable(
      this.#api.replaceNamespacedLease({ name: this.#name, namespace: this.#namespace, body }, withSignal(signal)),
      signal,
    );
    return this.#remember(lease);
  }

  #remember(lease: V1Lease): LockReadResult {
    this.#lease = lease;
    const record = leaseToRecord(lease);
    return { record, raw: rawRecord(record) };
  }
}

function timeToMs(t: unknown): number | null {
  if (t instanceof Date) return Number.isNaN(t.getTime()) ? null : t.getTime();
  if (typeof t === 'string') {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}

export function leaseToRecord(lease: V1Lease): LeaseRecord {
  const spec = lease.spec;
  return {
    holderIdentity: spec?.holderIdentity ?? '',
    leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
    acquireTimeMs: timeToMs(spec?.acquireTime),
    renewTimeMs: timeToMs(spec?.renewTime),
    leaseTransitions: spec?.leaseTransitions ?? 0,
    epoch: parseEpochAnnotation(lease.metadata?.annotations?.[EPOCH_ANNOTATION]),
  };
}

export function recordToSpec(r: LeaseRecord): NonNullable<V1Lease['spec']> {
  return {
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    leaseTransitions: r.leaseTransitions,
    ...(r.acquireTimeMs !== null ? { acquireTime: new V1MicroTime(r.acquireTimeMs) } : {}),
    ...(r.renewTimeMs !== null ? { renewTime: new V1MicroTime(r.renewTimeMs) } : {}),
  };
}

/** Per-call options that make client-node pass `signal` to fetch, so aborting ends the request. */
function withSignal(signal: AbortSignal): ConfigurationOptions<ObservableMiddleware> {
  const mw: ObservableMiddleware = {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(signal);
      return new Observable(Promise.resolve(ctx));
    },
    post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
  };
  return { middleware: [mw], middlewareMergeStrategy: 'append' };
}

/** Settles with the abort reason as soon as `signal` aborts, even if `p` never settles. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
