/**
 * One container of a pod, run as a local process group: start it (launch plan, then spawn),
 * watch its exit, restart it when the restart policy says so after the backoff it gives, run
 * its probes, and stop it (SIGTERM to the group, the grace period, SIGKILL). The decisions live
 * in restart-policy.ts (pure); the pieces in container-launch.ts (what to run),
 * process-group.ts (spawn and signals), container-probes.ts and container-output.ts. This class
 * holds the state machine: waiting → running → terminated or waiting again.
 *
 * Invariants: at most one process per container at a time; every start failure (config error,
 * runner error, missing command) ends up as a waiting state with a reason and a message, never
 * as an exception; after holdRestarts() or terminate() nothing restarts it; every change calls
 * onChange().
 */
import type { ChildProcess } from 'node:child_process';
import type { V1Container, V1ContainerState, V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../platform/logger.ts';
import type { ImageRunner } from '../images.ts';
import { wireTime as now } from '../kube-http.ts';
import { errorMessage } from '../log.ts';
import { envFailure, planLaunch } from './container-launch.ts';
import type { Launch } from './container-launch.ts';
import { ContainerOutput } from './container-output.ts';
import { ContainerProbes } from './container-probes.ts';
import { resolveExecutable, signalGroup, spawnGroup, stopGroup } from './process-group.ts';
import { crashLoopMessage, exitCodeOf, nextRestart, shouldRestart, signalNumber, terminatedReason } from './restart-policy.ts';
import type { ContainerRole, RestartBackoff } from './restart-policy.ts';

export interface ContainerOptions {
  spec: V1Container;
  pod: V1Pod;
  podIP: string;
  runner: ImageRunner;
  role: ContainerRole;
  /** the pod's spec.restartPolicy (Always when unset) */
  podRestartPolicy: string;
  buildEnv: () => Promise<Record<string, string>>;
  /** extra env for every process (e.g. KUBECONFIG), below the container's own */
  baseEnv: Record<string, string>;
  backoff: RestartBackoff;
  logDir: string | undefined;
  onChange: () => void;
  /** bound to the pod; the container adds its own name */
  logger: Logger;
}

export interface ContainerSnapshot {
  state: V1ContainerState;
  lastState: V1ContainerState;
  ready: boolean;
  started: boolean;
  restartCount: number;
  containerID: string | undefined;
  imageID: string;
  /** the readiness probe's last failure, '' when none */
  probeMessage: string;
}

export class ContainerProcess {
  readonly name: string;
  readonly role: ContainerRole;
  readonly #options: ContainerOptions;
  readonly #log: Logger;
  readonly #output: ContainerOutput;
  #child: ChildProcess | undefined;
  #state: V1ContainerState = { waiting: { reason: 'ContainerCreating' } };
  #lastState: V1ContainerState = {};
  #restartCount = 0;
  /** crashes since the backoff was last reset */
  #crashes = 0;
  #startedAtMs = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #stopping = false;
  #exited: Promise<void> = Promise.resolve();
  #resolveExited: () => void = () => {};
  #probes: ContainerProbes | undefined;
  #imageID = '';
  /** why the kubelet killed the current process (a failed probe), '' when it did not */
  #killReason = '';
  /** true once the container has terminated and will not be restarted */
  done = false;
  /** exit code of the final run when done */
  exitCode = 0;

  constructor(options: ContainerOptions) {
    this.#options = options;
    this.name = options.spec.name;
    this.role = options.role;
    this.#log = options.logger.child({ container: this.name });
    const meta = options.pod.metadata;
    this.#output = new ContainerOutput(options.logDir, meta?.namespace, meta?.name, this.name);
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Recent stdout+stderr of the process (ring buffer). */
  output(): string {
    return this.#output.text();
  }

  start(): void {
    void this.#launch();
  }

  snapshot(): ContainerSnapshot {
    const running = !!this.#state.running;
    const started = running && (this.#probes?.started ?? false);
    return {
      state: this.#state,
      lastState: this.#lastState,
      ready: started && (this.#probes?.readinessPasses ?? true),
      started,
      restartCount: this.#restartCount,
      containerID: this.#child?.pid ? `process://${this.#child.pid}` : undefined,
      imageID: this.#imageID,
      probeMessage: running ? (this.#probes?.message() ?? '') : '',
    };
  }

  #retryLater(reason: string, message: string): void {
    const next = nextRestart(this.#crashes, undefined, this.#options.backoff);
    this.#crashes = next.crashes;
    this.#state = { waiting: { reason, message } };
    this.#options.onChange();
    this.#log.warn({ reason, message, delayMs: next.delayMs }, 'start failed; retrying');
    this.#scheduleLaunch(next.delayMs, false);
  }

  /** Launches again after delayMs unless terminated by then; a relaunch after an exit counts as a restart. */
  #scheduleLaunch(delayMs: number, afterExit: boolean): void {
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopping) return;
      if (afterExit) this.#restartCount++;
      void this.#launch();
    }, delayMs);
  }

  async #launch(): Promise<void> {
    if (this.#stopping) return;
    const { spec, pod, podIP, runner, baseEnv } = this.#options;
    let env: Record<string, string>;
    try {
      env = await this.#options.buildEnv();
    } catch (err) {
      const failure = envFailure(err);
      this.#retryLater(failure.reason, failure.message);
      return;
    }
    if (this.#stopping) return;
    const launch = planLaunch({ spec, pod, podIP, runner, env, baseEnv });
    if (!launch.ok) {
      this.#retryLater(launch.reason, launch.message);
      return;
    }
    this.#imageID = launch.imageID;
    let child: ChildProcess;
    try {
      const executable = resolveExecutable(launch.command, launch.env.PATH ?? '', launch.cwd);
      if (!executable) {
        this.#retryLater('RunContainerError', `failed to start container "${this.name}" (image ${spec.image}): exec executable file not found: "${launch.command}"`);
        return;
      }
      child = spawnGroup(executable, launch.args, { cwd: launch.cwd, env: launch.env });
    } catch (err) {
      this.#retryLater('RunContainerError', `failed to start "${launch.command}": ${errorMessage(err)}`);
      return;
    }
    this.#watch(child, launch);
  }

  #watch(child: ChildProcess, launch: Launch): void {
    this.#exited = new Promise((r) => (this.#resolveExited = r));
    this.#output.startRun();
    const onData = (chunk: Buffer) => this.#output.write(chunk);
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    let spawned = false;
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (spawned) return; // e.g. a failed kill(); exit follows
      this.#child = undefined;
      this.#resolveExited();
      const what = err.code === 'ENOENT' ? `executable file not found: "${launch.command}"` : err.message;
      this.#retryLater('RunContainerError', `failed to start container "${this.name}" (image ${this.#options.spec.image}): exec ${what}`);
    });
    child.on('spawn', () => {
      spawned = true;
      this.#child = child;
      this.#startedAtMs = Date.now();
      this.#state = { running: { startedAt: now() } };
      this.#log.info({ pid: child.pid, command: `${launch.command} ${launch.args.join(' ')}`.slice(0, 400) }, 'started');
      this.#probes = new ContainerProbes(this.#options.spec, this.#options.podIP, launch.env, {
        onChange: () => this.#options.onChange(),
        onKill: (reason) => this.#killForRestart(reason),
      });
      this.#probes.start();
      this.#options.onChange();
    });
    child.on('exit', (code, signal) => this.#onExit(child, code, signal));
  }

  #killForRestart(reason: string): void {
    const child = this.#child;
    if (!child?.pid) return;
    this.#log.info({ pid: child.pid, reason }, 'killing for restart');
    this.#killReason = reason;
    this.#probes?.stop();
    void this.#stopProcess(child, (this.#options.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000);
  }

  #stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
    return stopGroup(child, graceMs, (pid) => this.#log.warn({ pid, graceMs }, 'still running after the grace period; SIGKILL'));
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child !== child) return;
    this.#probes?.stop();
    if (child.pid) signalGroup(child.pid, 'SIGKILL'); // strays of the group
    this.#child = undefined;
    const exitCode = exitCodeOf(code, signal);
    const ranMs = Date.now() - this.#startedAtMs;
    const outputTail = this.#output.tail();
    const terminated = {
      exitCode,
      ...(signal ? { signal: signalNumber(signal) } : {}),
      reason: terminatedReason(exitCode),
      message: this.#killReason || outputTail || undefined,
      startedAt: this.#state.running?.startedAt ?? now(),
      finishedAt: now(),
      containerID: `process://${child.pid}`,
    };
    this.#killReason = '';
    this.#resolveExited();
    this.#log.info({ pid: child.pid, ...(signal ? { signal } : { exitCode }), ranMs }, 'exited');
    if (this.#stopping) {
      this.#state = { terminated };
      this.#options.onChange();
      return;
    }
    if (!shouldRestart(this.role, this.#options.podRestartPolicy, exitCode)) {
      this.#state = { terminated };
      this.done = true;
      this.exitCode = exitCode;
      this.#options.onChange();
      return;
    }
    this.#lastState = { terminated };
    const next = nextRestart(this.#crashes, ranMs, this.#options.backoff);
    this.#crashes = next.crashes;
    const meta = this.#options.pod.metadata;
    this.#state = {
      waiting: {
        reason: 'CrashLoopBackOff',
        message: crashLoopMessage({ container: this.name, pod: meta?.name ?? '', namespace: meta?.namespace ?? '', delayMs: next.delayMs, exitCode, outputTail }),
      },
    };
    this.#options.onChange();
    this.#scheduleLaunch(next.delayMs, true);
  }

  /**
   * The pod is terminating: from now on an exit is final and nothing is started again, while
   * the process (a sidecar waiting for its turn to stop) keeps running and being probed.
   */
  holdRestarts(): void {
    this.#stopping = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
  }

  /** Stops the container for good: SIGTERM, wait up to graceMs, SIGKILL. Resolves when the process is gone. */
  async terminate(graceMs: number): Promise<void> {
    this.holdRestarts();
    this.#probes?.stop();
    const child = this.#child;
    if (child) await this.#stopProcess(child, graceMs);
    await this.#exited;
    if (!this.#state.terminated) {
      const previous = this.#state.waiting;
      this.#state = { terminated: { exitCode: 0, reason: 'Completed', message: previous ? `never started: ${previous.reason}` : undefined, finishedAt: now() } };
    }
    this.#output.close();
  }

  /** Synchronous last resort (process exit): SIGKILL the group. */
  killNow(): void {
    if (this.#child?.pid) signalGroup(this.#child.pid, 'SIGKILL');
  }
}
