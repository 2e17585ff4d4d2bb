/**
 * The elector's configuration: defaults filled in one place, validated once (client-go's
 * NewLeaderElector checks plus ours), frozen. Invalid configuration throws a VoError
 * VO_CONFIG_INVALID whose message names every offending field.
 *
 * The Lease timing rules are core's validateElectionConfig, which the controller's CLI config
 * also reports through; the health tolerance default below is the one `--health-tolerance`
 * shows, so a program that builds an elector by hand gets what the controller runs with.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { DEFAULT_ELECTION_CONFIG, validateElectionConfig } from '../../core/election.ts';
import type { ElectionConfig } from '../../core/election.ts';
import { VoError } from '../../core/errors.ts';
import { silentLogger, type Logger as PlatformLogger } from '../../platform/logger.ts';

/** The project's logger, minus child(): the elector only writes lines. */
export type Logger = Pick<PlatformLogger, 'debug' | 'info' | 'warn' | 'error'>;

/** healthy() tolerance past leaseDuration when leading without a renewal; `--health-tolerance`'s default. */
export const DEFAULT_HEALTH_TOLERANCE_MS = 5_000;

export interface ElectorConfig {
  /** Where the Lease lives. */
  kubeConfig: KubeConfig;
  /** Namespace of the Lease. */
  namespace: string;
  /** Name of the Lease. */
  name: string;
  /** Unique per process (POD_NAME). Two live processes must never share it. */
  identity: string;
  /** Non-leaders take over after this long without seeing the Lease change. Default 15000 ms. */
  leaseDurationMs?: number;
  /** The leader steps down when it has not renewed for this long. Default 10000 ms. */
  renewDeadlineMs?: number;
  /** Interval between acquire/renew attempts (acquire attempts jittered up to +20 %). Default 2000 ms. */
  retryPeriodMs?: number;
  /** On cancellation of run() while leading, write the Lease released (holder '', 1 s). Default true. */
  releaseOnCancel?: boolean;
  /** healthy() turns false when leading without a renewal for leaseDuration + this. Default DEFAULT_HEALTH_TOLERANCE_MS (5000 ms). */
  healthToleranceMs?: number;
  /** Default: silent. */
  log?: Logger;
}

export interface Callbacks {
  /** A term began. `leading` aborts the instant it ends (before anything else happens). */
  onStartedLeading(leading: AbortSignal, epoch: number): void;
  /** A term ended (after `leading` was aborted and, on release, after the Lease was released).
   * Also runs once when run() returns without ever having led. */
  onStoppedLeading(): void;
  /** The observed holder changed to another non-empty identity (ours included). */
  onNewLeader?(identity: string): void;
}

export interface ResolvedConfig {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly election: Readonly<ElectionConfig>;
  readonly releaseOnCancel: boolean;
  readonly healthToleranceMs: number;
}

export function resolveConfig(config: ElectorConfig, callbacks: Callbacks): { config: ResolvedConfig; log: Logger } {
  const errors: string[] = [];
  const c = (config ?? {}) as Partial<ElectorConfig>;
  const cb = (callbacks ?? {}) as Partial<Callbacks>;
  if (typeof c.kubeConfig !== 'object' || c.kubeConfig === null) errors.push('kubeConfig is required');
  for (const key of ['namespace', 'name', 'identity'] as const) {
    const v = c[key];
    if (typeof v !== 'string' || v.trim() === '') errors.push(`${key} must be a non-empty string (got ${JSON.stringify(v)})`);
  }
  const election: ElectionConfig = {
    leaseDurationMs: c.leaseDurationMs ?? DEFAULT_ELECTION_CONFIG.leaseDurationMs,
    renewDeadlineMs: c.renewDeadlineMs ?? DEFAULT_ELECTION_CONFIG.renewDeadlineMs,
    retryPeriodMs: c.retryPeriodMs ?? DEFAULT_ELECTION_CONFIG.retryPeriodMs,
  };
  const check = validateElectionConfig(election);
  if (!check.ok) errors.push(...check.errors);
  const healthToleranceMs = c.healthToleranceMs ?? DEFAULT_HEALTH_TOLERANCE_MS;
  if (typeof healthToleranceMs !== 'number' || !Number.isFinite(healthToleranceMs) || healthToleranceMs < 0) {
    errors.push(`healthToleranceMs must be a number >= 0 (got ${String(healthToleranceMs)})`);
  }
  const releaseOnCancel = c.releaseOnCancel ?? true;
  if (typeof releaseOnCancel !== 'boolean') errors.push(`releaseOnCancel must be a boolean (got ${String(releaseOnCancel)})`);
  if (typeof cb.onStartedLeading !== 'function') errors.push('callbacks.onStartedLeading must be a function');
  if (typeof cb.onStoppedLeading !== 'function') errors.push('callbacks.onStoppedLeading must be a function');
  if (cb.onNewLeader !== undefined && typeof cb.onNewLeader !== 'function') errors.push('callbacks.onNewLeader must be a function when given');
  if (errors.length > 0 || !check.ok) throw new VoError('VO_CONFIG_INVALID', `leader election: ${errors.join('; ')}`);
  return {
    config: Object.freeze({
      namespace: c.namespace as string,
      name: c.name as string,
      identity: c.identity as string,
      election: check.config,
      releaseOnCancel,
      healthToleranceMs,
    }),
    log: c.log ?? silentLogger,
  };
}
