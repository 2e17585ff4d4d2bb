/**
 * The leader-election *decision* (after client-go's tools/leaderelection):
 * given the Lease record as last read, the local time we saw it change, now, our identity and
 * whether this process currently leads → acquire / renew / wait, with the record to write.
 * The shell in src/controller/leaderelection/ does the I/O (get/create/update with the Lease's
 * resourceVersion for optimistic concurrency) and the timing loop.
 *
 * Invariants, after client-go tools/leaderelection:
 * - Expiry is judged from the LOCAL observation time (`observedTimeMs`, when the record's raw
 *   bytes last changed as seen by us) plus the record's own leaseDurationSeconds — never from the
 *   remote renewTime, so clock skew between nodes cannot steal a lease.
 * - An empty holderIdentity means released: anyone may acquire at once (SIGTERM hand-over).
 * - leaseTransitions keeps its Kubernetes meaning: +1 when the holder identity changes.
 *
 * The epoch (AppState.epoch) — our addition:
 * - Stored on the Lease as the annotation `version-observer.io/epoch` (decimal string), written
 *   in the same optimistic-concurrency update as the record, so two acquisitions can never
 *   produce the same epoch. Not leaseTransitions: that one does not move when the same identity
 *   re-acquires (a restarted process with the same POD_NAME), and is only int32.
 * - Every acquisition writes nextEpoch(old, now) = max(old + 1, floor(now / 1000)): strictly
 *   increasing along the Lease's history, and, because it is at least the acquisition time in
 *   seconds, still higher than anything sidecars hold if the Lease is deleted and recreated
 *   (unless acquisitions ran faster than one per second for a long time). A renewal keeps it.
 * - Re-acquisition by the same identity: a process that is not currently leading (heldEpoch
 *   null) treats a record naming its own identity as its previous incarnation's and acquires at
 *   once with a new epoch, since its seq counter restarted.
 * - A leader whose record now carries another epoch (another process with our identity took
 *   over) has lost: the decision is `wait` with `lost: true`.
 */

import { EPOCH_ANNOTATION } from './labels.ts';

export { EPOCH_ANNOTATION };

/** client-go's JitterFactor: renewDeadline must exceed retryPeriod × this. */
export const JITTER_FACTOR = 1.2;

/** client-go's defaults. */
export const DEFAULT_ELECTION_CONFIG: Readonly<ElectionConfig> = Object.freeze({
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
});

export interface ElectionConfig {
  /** How long a non-leader waits after the last observed change before taking over. Default 15000 ms. */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it steps down. Default 10000 ms. */
  renewDeadlineMs: number;
  /** Interval between acquire/renew attempts. Default 2000 ms. */
  retryPeriodMs: number;
}

/** The Lease as the election sees it (spec fields + the epoch annotation). Times in ms since the epoch. */
export interface LeaseRecord {
  /** spec.holderIdentity; '' when released */
  holderIdentity: string;
  /** spec.leaseDurationSeconds */
  leaseDurationSeconds: number;
  /** spec.acquireTime (ms), null when absent */
  acquireTimeMs: number | null;
  /** spec.renewTime (ms), null when absent */
  renewTimeMs: number | null;
  /** spec.leaseTransitions (0 when absent) */
  leaseTransitions: number;
  /** metadata.annotations["version-observer.io/epoch"] (0 when absent or unreadable) */
  epoch: number;
}

export interface ElectionInput {
  /** The record as last read; null when the Lease does not exist (then `acquire` means create). */
  record: LeaseRecord | null;
  /** Local time (ms) when we last saw the record change (or wrote it ourselves). */
  observedTimeMs: number;
  /** ms since the epoch */
  now: number;
  identity: string;
  /** The epoch this process leads under, or null when it is not leading. */
  heldEpoch: number | null;
  config: ElectionConfig;
}

export type ElectionDecision =
  | {
      action: 'acquire';
      /** The record to write (create when the input record was null, else update). */
      record: LeaseRecord;
      /** The Lease did not exist: create it. */
      create: boolean;
      reason: 'NoLease' | 'Released' | 'Expired' | 'OwnPreviousIncarnation';
    }
  | { action: 'renew'; record: LeaseRecord }
  | {
      action: 'wait';
      /** Current holder ('' when none). */
      holder: string;
      /** ms until the holder's lease expires by our observation (>= 0). */
      expiresInMs: number;
      /** This process was leading and another acquisition happened: stop leading now. */
      lost: boolean;
    };

export type ConfigCheck = { ok: true; config: Readonly<ElectionConfig> } | { ok: false; errors: string[] };

/** Validates like client-go's NewLeaderElector; each error names the offending field. */
export function validateElectionConfig(config: ElectionConfig, identity?: string): ConfigCheck {
  const errors: string[] = [];
  const { leaseDurationMs: lease, renewDeadlineMs: renew, retryPeriodMs: retry } = config;
  for (const [name, v] of [['leaseDurationMs', lease], ['renewDeadlineMs', renew], ['retryPeriodMs', retry]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) errors.push(`${name} must be a number greater than zero (got ${String(v)})`);
  }
  if (errors.length === 0) {
    if (lease <= renew) errors.push(`leaseDurationMs (${lease}) must be greater than renewDeadlineMs (${renew})`);
    if (renew <= JITTER_FACTOR * retry) {
      errors.push(`renewDeadlineMs (${renew}) must be greater than ${JITTER_FACTOR} × retryPeriodMs (${JITTER_FACTOR * retry})`);
    }
  }
  if (identity !== undefined && identity.trim() === '') errors.push('identity must not be empty');
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, config: Object.freeze({ leaseDurationMs: lease, renewDeadlineMs: renew, retryPeriodMs: retry }) };
}

/** The epoch for a new acquisition over a record that holds `previous`. */
export function nextEpoch(previous: number, now: number): number {
  const prev = Number.isSafeInteger(previous) && previous > 0 ? previous : 0;
  return Math.max(prev + 1, Math.floor(now / 1000));
}

/** Seconds written to spec.leaseDurationSeconds: rounded up, so peers never expire us early. */
export function leaseDurationSeconds(config: ElectionConfig): number {
  return Math.max(1, Math.ceil(config.leaseDurationMs / 1000));
}

/** The lease expires, by our observation, at this local time (ms). */
export function expiresAtMs(record: LeaseRecord, observedTimeMs: number): number {
  return observedTimeMs + Math.max(0, record.leaseDurationSeconds) * 1000;
}

/** One acquire-or-renew step (client-go tryAcquireOrRenew, minus the I/O). */
export function decide(input: ElectionInput): ElectionDecision {
  const { record, observedTimeMs, now, identity, heldEpoch, config } = input;
  const duration = leaseDurationSeconds(config);

  if (record === null) {
    // Whether or not we thought we led, there is no lease: create it with a fresh epoch (above
    // the one we may hold, in case the Lease was deleted under us).
    return {
      action: 'acquire',
      create: true,
      reason: 'NoLease',
      record: { holderIdentity: identity, leaseDurationSeconds: duration, acquireTimeMs: now, renewTimeMs: now, leaseTransitions: 0, epoch: nextEpoch(heldEpoch ?? 0, now) },
    };
  }

  const holder = record.holderIdentity;
  const ours = holder === identity;

  if (heldEpoch !== null) {
    if (ours && record.epoch === heldEpoch) {
      return { action: 'renew', record: { ...record, leaseDurationSeconds: duration, renewTimeMs: now } };
    }
    // Someone else acquired or released it (another identity, or another process under ours): we lost.
    return { action: 'wait', holder, expiresInMs: waitMs(record, observedTimeMs, now), lost: true };
  }

  let reason: 'Released' | 'Expired' | 'OwnPreviousIncarnation';
  if (holder === '') reason = 'Released';
  else if (ours) reason = 'OwnPreviousIncarnation';
  else if (now >= expiresAtMs(record, observedTimeMs)) reason = 'Expired';
  else return { action: 'wait', holder, expiresInMs: waitMs(record, observedTimeMs, now), lost: false };

  return {
    action: 'acquire',
    create: false,
    reason,
    record: {
      holderIdentity: identity,
      leaseDurationSeconds: duration,
      acquireTimeMs: now,
      renewTimeMs: now,
      leaseTransitions: nonNegInt(record.leaseTransitions) + (ours ? 0 : 1),
      epoch: nextEpoch(record.epoch, now),
    },
  };
}

/**
 * The record a leader writes on graceful shutdown (client-go release): no holder, 1 s duration,
 * epoch and transitions kept, so a peer acquires at its next retry. Only write it while leading.
 */
export function releaseRecord(record: LeaseRecord, now: number): LeaseRecord {
  return { holderIdentity: '', leaseDurationSeconds: 1, acquireTimeMs: now, renewTimeMs: now, leaseTransitions: record.leaseTransitions, epoch: record.epoch };
}

/** A leader must stop leading (and pushing) once it has not renewed within renewDeadline. */
export function mustStepDown(lastRenewMs: number, now: number, config: ElectionConfig): boolean {
  return now - lastRenewMs >= config.renewDeadlineMs;
}

/**
 * Health check (client-go HealthzAdaptor): unhealthy when this process leads but has not renewed
 * within leaseDuration + toleranceMs. A non-leader is always healthy.
 */
export function leaderHealthy(leading: boolean, lastRenewMs: number, now: number, config: ElectionConfig, toleranceMs = 0): boolean {
  return !leading || now - lastRenewMs <= config.leaseDurationMs + toleranceMs;
}

/**
 * Tracks when the record last changed as seen locally (client-go compares raw bytes). Pass the
 * previous observation and the freshly read record with its raw serialization (any stable string,
 * e.g. JSON of the Lease spec + epoch annotation); observedTimeMs moves only when raw changes.
 */
export interface Observation {
  record: LeaseRecord | null;
  raw: string | null;
  observedTimeMs: number;
}
export function observe(prev: Observation | null, record: LeaseRecord | null, raw: string | null, now: number): Observation {
  if (prev !== null && prev.raw === raw) return { record, raw, observedTimeMs: prev.observedTimeMs };
  return { record, raw, observedTimeMs: now };
}

/** Stable raw form of a record for observe() when the shell has no raw bytes at hand. */
export function recordKey(record: LeaseRecord | null): string | null {
  return record === null ? null : JSON.stringify([record.holderIdentity, record.leaseDurationSeconds, record.acquireTimeMs, record.renewTimeMs, record.leaseTransitions, record.epoch]);
}

/** Reads the epoch annotation; 0 when absent or not a non-negative safe integer. */
export function parseEpochAnnotation(value: string | undefined | null): number {
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(value)) return 0;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : 0;
}

/**
 * Delay before the next attempt: retryPeriod stretched by up to `jitter` × retryPeriod, with
 * `random` in [0, 1) injected. Default jitter 0.2 (not client-go's 1.2, which would let a peer
 * wait up to 4.4 s and miss the "takeover within 3 s of SIGTERM" goal with the 2 s default).
 */
export function retryDelayMs(config: ElectionConfig, random: number, jitter = 0.2): number {
  const r = Math.min(Math.max(random, 0), 1);
  return Math.round(config.retryPeriodMs * (1 + jitter * r));
}

function waitMs(record: LeaseRecord, observedTimeMs: number, now: number): number {
  return record.holderIdentity === '' ? 0 : Math.max(0, expiresAtMs(record, observedTimeMs) - now);
}

function nonNegInt(n: number): number {
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}
