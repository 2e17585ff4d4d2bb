/**
 * The probes of one run of a container, wired as the kubelet wires them: a startup probe, when
 * present, gates the other two (readiness and liveness start once it succeeds); a failed
 * liveness or startup probe asks for the container to be killed and restarted; every change of
 * a result is reported.
 *
 * Invariants: a ContainerProbes object belongs to one process run and stop() ends all of its
 * timers for good; `started` is true without a startup probe; without a readiness probe the
 * readiness passes. Once stopped the probes judge nothing: readiness passes, message() is ''
 * and `started` keeps its last value (the process is on its way out; its state will say why).
 */
import type { V1Container } from '@kubernetes/client-node';
import { Prober } from './probe.ts';

export interface ProbeHooks {
  /** a result changed: write the status soon */
  onChange: () => void;
  /** liveness or startup failed: kill the process so it restarts */
  onKill: (reason: string) => void;
}

export class ContainerProbes {
  readonly #readiness: Prober | undefined;
  readonly #liveness: Prober | undefined;
  readonly #startup: Prober | undefined;
  #started: boolean;
  #stopped = false;

  constructor(spec: V1Container, podIP: string, env: Record<string, string>, hooks: ProbeHooks) {
    const ctx = { podIP, ports: spec.ports ?? [], env };
    this.#readiness = spec.readinessProbe ? new Prober('readiness', spec.readinessProbe, ctx, hooks.onChange) : undefined;
    this.#liveness = spec.livenessProbe
      ? new Prober('liveness', spec.livenessProbe, ctx, (ok, message) => {
          if (!ok && this.#liveness?.result === false) hooks.onKill(`Container ${spec.name} failed liveness probe, will be restarted: ${message}`);
        })
      : undefined;
    this.#startup = spec.startupProbe
      ? new Prober('startup', spec.startupProbe, ctx, (ok, message) => {
          if (ok) {
            this.#started = true;
            this.#readiness?.start();
            this.#liveness?.start();
          } else if (this.#startup?.result === false) {
            hooks.onKill(`Container ${spec.name} failed startup probe, will be restarted: ${message}`);
          }
          hooks.onChange();
        })
      : undefined;
    this.#started = !this.#startup;
  }

  start(): void {
    if (this.#startup) {
      this.#startup.start();
    } else {
      this.#readiness?.start();
      this.#liveness?.start();
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#readiness?.stop();
    this.#liveness?.stop();
    this.#startup?.stop();
  }

  /** The startup probe has succeeded (or there is none). */
  get started(): boolean {
    return this.#started;
  }

  /** The readiness probe passes (or there is none). */
  get readinessPasses(): boolean {
    return this.#readiness && !this.#stopped ? this.#readiness.result === true : true;
  }

  /** Why the container is not started or not ready yet: the failing probe's last message, '' when none. */
  message(): string {
    if (this.#stopped) return '';
    if (this.#startup && this.#startup.result !== true) return this.#startup.lastMessage;
    if (this.#readiness && this.#readiness.result !== true) return this.#readiness.lastMessage;
    return '';
  }
}
