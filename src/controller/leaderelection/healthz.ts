/**
 * The leader-election health check (client-go HealthzAdaptor): the /healthz handler may exist
 * before the elector does, so the adaptor is created first and bound later. It fails only when
 * this process leads but has not renewed within leaseDuration + healthToleranceMs — a wedged
 * leader that the kubelet should restart. Unbound or not leading: healthy.
 */
import type { Elector } from './elector.ts';

export interface HealthCheck {
  readonly name: string;
  /** null when healthy, else why not. */
  check(now?: number): string | null;
}

export class LeaderElectionHealthz implements HealthCheck {
  readonly name = 'leaderElection';
  #elector: Elector | null = null;

  setElector(elector: Elector): void {
    this.#elector = elector;
  }

  check(now?: number): string | null {
    const e = this.#elector;
    if (e === null || e.healthy(now)) return null;
    return 'leading but the lease has not been renewed within leaseDuration + tolerance';
  }
}
