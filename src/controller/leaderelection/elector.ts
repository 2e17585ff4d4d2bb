/**
 * The election loop (client-go tools/leaderelection/leaderelection.go): all timing lives here;
 * the Lease I/O is in lease-lock.ts and every decision is src/core/election.ts `decide`.
 *
 * run(signal) loops: acquire (one attempt every retryPeriod, +0..20 % jitter, or at the holder's
 * expiry when that is sooner) → lead (renew every retryPeriod) → when the term ends, back to
 * acquiring, until `signal` aborts or release().
 *
 * Invariants:
 * - A term has exactly one epoch, the one written when it was acquired; every acquisition
 *   writes a strictly higher epoch (core nextEpoch), re-acquisition by the same identity too.
 * - The term's AbortSignal is aborted before anything else happens when the term ends: on the
 *   renew deadline (a watchdog timer, and synchronously in isLeader()), on seeing another
 *   acquisition, on cancellation. Only then is the Lease released and onStoppedLeading called.
 * - The renew deadline is measured from the start of the last successful renewal request (peers
 *   can only have seen that write later), so a leader stops before any peer may take over as
 *   long as renewDeadline < leaseDuration and clock rates agree.
 * - Expiry of others' leases is judged from the local time their record's raw form last changed.
 * - No API error escapes run(): failures are logged and retried at the next tick; a 409 means
 *   someone else wrote, so the next attempt re-reads.
 * - Callbacks are isolated: a throwing callback is logged, never breaks the loop.
 */
import { decide, leaderHealthy, mustStepDown, observe, releaseRecord, retryDelayMs } from '../../core/election.ts';
import type { Observation } from '../../core/election.ts';
import { realClock } from '../../platform/clock.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Logger } from '../../platform/logger.ts';
import { resolveConfig } from './config.ts';
import type { Callbacks, ElectorConfig, ResolvedConfig } from './config.ts';
import { isConflict, LeaseLock } from './lease-lock.ts';
import type { LockReadResult, ResourceLock } from './lease-lock.ts';

export interface Elector {
  /** Runs until `signal` aborts or release() is called. Never rejects on API errors. Runs once. */
  run(signal: AbortSignal): Promise<void>;
  /** True while a term is active and its renew deadline has not passed. */
  isLeader(): boolean;
  /** Epoch of the current term; null when not leading. */
  epoch(): number | null;
  /** Holder of the Lease as last observed (ours included); null when none/released. */
  leaderIdentity(): string | null;
  /** False only when leading but not renewed within leaseDuration + healthToleranceMs. */
  healthy(now?: number): boolean;
  /** Stop taking part: end the term (signal first), write the Lease released, let run() return. */
  release(): Promise<void>;
}

/** The elector writes lines and makes no child loggers: the project Logger's line methods. */
type ElectorLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** Test seams: a few injected factory fields, not globals (as controller-runtime does). */
export interface ElectorDeps {
  lock?: ResourceLock;
  clock?: Clock;
}

interface Term {
  readonly ctl: AbortController;
  readonly epoch: number;
  /** Local time at the start of the last successful write (acquire or renew). */
  lastRenewMs: number;
}

type Attempt =
  | { kind: 'acquired'; epoch: number; at: number }
  | { kind: 'renewed'; at: number }
  | { kind: 'wait'; holder: string; expiresInMs: number }
  | { kind: 'lost'; holder: string }
  | { kind: 'error' };

export function createElector(config: ElectorConfig, callbacks: Callbacks, deps: ElectorDeps = {}): Elector {
  return new LeaderElector(config, callbacks, deps);
}

class LeaderElector implements Elector {
  readonly #config: ResolvedConfig;
  readonly #callbacks: Callbacks;
  readonly #log: ElectorLog;
  readonly #lock: ResourceLock;
  readonly #clock: Clock;
  readonly #stop = new AbortController();
  #observed: Observation | null = null;
  #reported = '';
  #term: Term | null = null;
  /** Epoch of an acquisition write whose outcome we never saw (cancelled mid-flight). */
  #pendingEpoch: number | null = null;
  #releaseRequested = false;
  #started = false;
  #running: Promise<void> | null = null;

  constructor(config: ElectorConfig, callbacks: Callbacks, deps: ElectorDeps) {
    const { config: resolved, log } = resolveConfig(config, callbacks);
    this.#config = resolved;
    this.#callbacks = callbacks;
    this.#log = log;
    this.#clock = deps.clock ?? realClock;
    this.#lock = deps.lock ?? new LeaseLock({ kubeConfig: config.kubeConfig, namespace: resolved.namespace, name: resolved.name });
  }

  run(signal: AbortSignal): Promise<void> {
    if (this.#started) return Promise.reject(new Error('leader elector: run() may be called only once'));
    this.#started = true;
    this.#running = this.#run(AbortSignal.any([signal, this.#stop.signal]));
    return this.#running;
  }

  isLeader(): boolean {
    const t = this.#term;
    if (t === null || t.ctl.signal.aborted) return false;
    if (mustStepDown(t.lastRenewMs, this.#clock.now(), this.#config.election)) {
      this.#endTerm(t, 'renew deadline exceeded');
      return false;
    }
    return true;
  }

  epoch(): number | null {
    return this.isLeader() ? (this.#term as Term).epoch : null;
  }

  leaderIdentity(): string | null {
    return this.#observed?.record?.holderIdentity || null;
  }

  healthy(now: number = this.#clock.now()): boolean {
    const t = this.#term;
    return leaderHealthy(t !== null, t?.lastRenewMs ?? 0, now, this.#config.election, this.#config.healthToleranceMs);
  }

  async release(): Promise<void> {
    this.#releaseRequested = true;
    this.#stop.abort(new Error('leader election released'));
    if (this.#running) await this.#running;
  }

  // --- the loop

  async #run(stop: AbortSignal): Promise<void> {
    const lock = this.#lock.describe();
    let led = false;
    try {
      while (!stop.aborted) {
        const acquired = await this.#acquire(stop);
        if (acquired === null) break;
        led = true;
        await this.#lead(stop, acquired);
      }
      if (this.#pendingEpoch !== null && this.#releasing()) await this.#releaseLease(this.#pendingEpoch);
    } catch (err) {
      // Only a bug gets here (attempts catch their own errors); never let it escape run().
      this.#log.error({ err, lock }, 'leader election loop failed');
      const t = this.#term;
      if (t !== null) {
        this.#endTerm(t, 'leader election loop failed');
        this.#term = null;
        this.#callback('onStoppedLeading', () => this.#callbacks.onStoppedLeading());
        led = true;
      }
    } finally {
      if (!led) this.#callback('onStoppedLeading', () => this.#callbacks.onStoppedLeading());
      this.#log.info({ lock, identity: this.#config.identity }, 'leader election stopped');
    }
  }

  #releasing(): boolean {
    return this.#releaseRequested || this.#config.releaseOnCancel;
  }

  /** Tries every retryPeriod (jittered) until acquired; null when stopped first. */
  async #acquire(stop: AbortSignal): Promise<{ epoch: number; at: number } | null> {
    this.#log.info({ lock: this.#lock.describe(), identity: this.#config.identity }, 'attempting to acquire leader lease');
    while (!stop.aborted) {
      const r = await this.#tryAcquireOrRenew(stop, null);
      this.#reportTransition();
      if (r.kind === 'acquired') return { epoch: r.epoch, at: r.at };
      // Wake at the holder's expiry when that comes before the next retry, so a dead leader is
      // replaced leaseDuration after we last saw it renew, not up to a retryPeriod later.
      const retry = retryDelayMs(this.#config.election, this.#clock.random());
      await this.#clock.sleep(r.kind === 'wait' ? Math.min(retry, r.expiresInMs + 1) : retry, stop);
    }
    return null;
  }

  async #lead(stop: AbortSignal, acquired: { epoch: number; at: number }): Promise<void> {
    const term: Term = { ctl: new AbortController(), epoch: acquired.epoch, lastRenewMs: acquired.at };
    const leading = term.ctl.signal;
    const onStop = () => this.#endTerm(term, 'stopped');
    stop.addEventListener('abort', onStop, { once: true });
    this.#term = term;
    this.#log.info({ lock: this.#lock.describe(), identity: this.#config.identity, epoch: term.epoch }, 'acquired leader lease');
    if (stop.aborted) onStop();
    this.#callback('onStartedLeading', () => this.#callbacks.onStartedLeading(leading, term.epoch));
    const watchdog = this.#watchdog(term);
    try {
      while (!leading.aborted) {
        await this.#clock.sleep(this.#config.election.retryPeriodMs, leading);
        if (leading.aborted) break;
        const r = await this.#tryAcquireOrRenew(leading, term.epoch);
        this.#reportTransition();
        if (r.kind === 'renewed') {
          if (!leading.aborted) term.lastRenewMs = r.at;
        } else if (r.kind !== 'error') {
          this.#endTerm(term, `lease lost (holder ${JSON.stringify('holder' in r ? r.holder : '')})`);
        }
      }
    } finally {
      stop.removeEventListener('abort', onStop);
      this.#endTerm(term, 'stopped');
      await watchdog;
      this.#term = null;
      if (stop.aborted && this.#releasing()) await this.#releaseLease(term.epoch);
      this.#callback('onStoppedLeading', () => this.#callbacks.onStoppedLeading());
    }
  }

  /** Ends the term the moment the renew deadline passes, even while a request hangs. */
  async #watchdog(term: Term): Promise<void> {
    const leading = term.ctl.signal;
    while (!leading.aborted) {
      const now = this.#clock.now();
      if (mustStepDown(term.lastRenewMs, now, this.#config.election)) {
        this.#endTerm(term, 'renew deadline exceeded');
        return;
      }
      await this.#clock.sleep(term.lastRenewMs + this.#config.election.renewDeadlineMs - now, leading);
    }
  }

  #endTerm(term: Term, reason: string): void {
    if (term.ctl.signal.aborted) return;
    term.ctl.abort(new Error(`leadership ended: ${reason}`));
    const level = reason === 'stopped' ? 'info' : 'warn';
    this.#log[level]({ lock: this.#lock.describe(), identity: this.#config.identity, epoch: term.epoch, reason }, 'stopped leading');
  }

  /**
   * One step (client-go tryAcquireOrRenew): the leader first renews optimistically over the record
   * it last wrote; otherwise get (or create) and let core decide. Never throws.
   */
  async #tryAcquireOrRenew(signal: AbortSignal, heldEpoch: number | null): Promise<Attempt> {
    const { identity, election } = this.#config;
    const lock = this.#lock.describe();
    const obs = this.#observed;
    if (heldEpoch !== null && obs?.record) {
      const d = decide({ record: obs.record, observedTimeMs: obs.observedTimeMs, now: this.#clock.now(), identity, heldEpoch, config: election });
      if (d.action === 'renew') {
        const at = this.#clock.now();
        try {
          this.#observe(await this.#lock.update(d.record, signal), at);
          return { kind: 'renewed', at };
        } catch (err) {
          if (signal.aborted) return { kind: 'error' };
          this.#log.debug({ err: errInfo(err), lock }, 'optimistic renew failed; re-reading the lease');
        }
      }
    }

    let read: LockReadResult | null;
    try {
      read = await this.#lock.get(signal);
    } catch (err) {
      if (!signal.aborted) this.#log.warn({ err: errInfo(err), lock }, 'error retrieving the lease');
      return { kind: 'error' };
    }
    this.#observe(read, this.#clock.now());
    const current = this.#observed as Observation;
    const now = this.#clock.now();
    const d = decide({ record: current.record, observedTimeMs: current.observedTimeMs, now, identity, heldEpoch, config: election });
    if (d.action === 'wait') {
      if (heldEpoch === null) this.#log.debug({ lock, holder: d.holder, expiresInMs: d.expiresInMs }, 'lease is held and has not expired');
      return d.lost ? { kind: 'lost', holder: d.holder } : { kind: 'wait', holder: d.holder, expiresInMs: d.expiresInMs };
    }
    if (d.action === 'acquire' && heldEpoch !== null) return { kind: 'lost', holder: current.record?.holderIdentity ?? '' };

    const acquiring = d.action === 'acquire';
    if (acquiring) this.#pendingEpoch = d.record.epoch;
    try {
      const res = acquiring && d.create ? await this.#lock.create(d.record, signal) : await this.#lock.update(d.record, signal);
      this.#observe(res, now);
      if (acquiring) this.#pendingEpoch = null;
      return acquiring ? { kind: 'acquired', epoch: d.record.epoch, at: now } : { kind: 'renewed', at: now };
    } catch (err) {
      if (signal.aborted) return { kind: 'error' };
      if (acquiring) this.#pendingEpoch = null;
      if (isConflict(err)) this.#log.info({ lock }, 'lease was written concurrently; re-reading at the next attempt');
      else this.#log.warn({ err: errInfo(err), lock }, acquiring ? 'failed to acquire the lease' : 'failed to renew the lease');
      return { kind: 'error' };
    }
  }

  #observe(read: LockReadResult | null, now: number): void {
    this.#observed = observe(this.#observed, read?.record ?? null, read?.raw ?? null, now);
  }

  #reportTransition(): void {
    const holder = this.#observed?.record?.holderIdentity ?? '';
    if (holder === '' || holder === this.#reported) return;
    this.#reported = holder;
    this.#log.info({ lock: this.#lock.describe(), leader: holder }, 'new leader observed');
    const cb = this.#callbacks.onNewLeader;
    if (cb) this.#callback('onNewLeader', () => cb.call(this.#callbacks, holder));
  }

  /**
   * client-go release: if the Lease still names us under `epoch`, write it with no holder and a
   * 1 s duration (epoch and transitions kept) so a peer acquires at its next retry. Conflicts
   * re-read; the whole step is bounded by renewDeadline.
   */
  async #releaseLease(epoch: number): Promise<void> {
    const lock = this.#lock.describe();
    const signal = AbortSignal.timeout(this.#config.election.renewDeadlineMs);
    for (let i = 0; i < 5 && !signal.aborted; i++) {
      try {
        const read = await this.#lock.get(signal);
        if (read === null || read.record.holderIdentity !== this.#config.identity || read.record.epoch !== epoch) {
          this.#log.info({ lock, epoch }, 'lease not held by us; nothing to release');
          return;
        }
        const at = this.#clock.now();
        this.#observe(await this.#lock.update(releaseRecord(read.record, at), signal), at);
        this.#pendingEpoch = null;
        this.#log.info({ lock, epoch }, 'released leader lease');
        return;
      } catch (err) {
        if (isConflict(err)) continue;
        this.#log.warn({ err: errInfo(err), lock, epoch }, 'failed to release the lease; it will expire');
        return;
      }
    }
    this.#log.warn({ lock, epoch }, 'gave up releasing the lease; it will expire');
  }

  #callback(name: string, fn: () => unknown): void {
    try {
      const r = fn();
      if (r instanceof Promise) r.catch((err: unknown) => this.#log.error({ err: errInfo(err) }, `${name} callback failed`));
    } catch (err) {
      this.#log.error({ err: errInfo(err) }, `${name} callback threw`);
    }
  }
}

function errInfo(err: unknown): unknown {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { message: err.message.split('\n')[0], ...(code !== undefined ? { code } : {}) };
  }
  return err;
}
