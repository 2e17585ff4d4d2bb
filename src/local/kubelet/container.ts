/**
 * One container of a pod, run as a local process group: start (env, runner, spawn), watch its
 * exit, restart it with exponential backoff per the restart policy, run its probes, and stop it
 * (SIGTERM to the group, wait the grace period, SIGKILL).
 *
 * Invariants: at most one process per container at a time; every start failure (config error,
 * runner error, missing command) ends up as a waiting state with a reason and a message, never
 * as an exception; after terminate() nothing restarts it; every change calls onChange().
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, createWriteStream, existsSync, statSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import type { V1Container, V1ContainerState, V1Pod } from '@kubernetes/client-node';
import type { ImageRunner, ProcessSpec } from '../images.ts';
import { wireTime as now } from '../kube-http.ts';
import { ConfigError, expandVars } from './env.ts';
import { Prober } from './probe.ts';
import { RingBuffer } from './ring-buffer.ts';

export interface BackoffOptions {
  /** first restart delay; default 1000 ms */
  initialMs: number;
  /** cap; default 60000 ms */
  maxMs: number;
  /** a run at least this long resets the backoff; default 60000 ms */
  resetAfterMs: number;
}

export interface ContainerOptions {
  spec: V1Container;
  pod: V1Pod;
  podIP: string;
  runner: ImageRunner;
  /** whether to restart after an exit with this code */
  shouldRestart: (exitCode: number) => boolean;
  buildEnv: () => Promise<Record<string, string>>;
  /** extra env for every process (e.g. KUBECONFIG), below the container's own */
  baseEnv: Record<string, string>;
  backoff: BackoffOptions;
  logDir: string | undefined;
  onChange: () => void;
  log: (msg: string) => void;
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
  readonly #o: ContainerOptions;
  readonly #out = new RingBuffer();
  #child: ChildProcess | undefined;
  #state: V1ContainerState = { waiting: { reason: 'ContainerCreating' } };
  #lastState: V1ContainerState = {};
  #restartCount = 0;
  #crashes = 0;
  #startedAtMs = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #stopping = false;
  #exited: Promise<void> = Promise.resolve();
  #resolveExited: () => void = () => {};
  #readiness: Prober | undefined;
  #liveness: Prober | undefined;
  #startup: Prober | undefined;
  #started = false;
  #imageID = '';
  #logFile: WriteStream | undefined;
  #killReason = '';
  /** true once the container has terminated and will not be restarted */
  done = false;
  /** exit code of the final run when done */
  exitCode = 0;

  constructor(o: ContainerOptions) {
    this.#o = o;
    this.name = o.spec.name;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Recent stdout+stderr of the process (ring buffer). */
  output(): string {
    return this.#out.toString();
  }

  start(): void {
    void this.#launch();
  }

  snapshot(): ContainerSnapshot {
    const running = !!this.#state.running;
    const readiness = this.#readiness;
    const ready = running && this.#started && (readiness ? readiness.result === true : true);
    return {
      state: this.#state,
      lastState: this.#lastState,
      ready,
      started: running && this.#started,
      restartCount: this.#restartCount,
      containerID: this.#child?.pid ? `process://${this.#child.pid}` : undefined,
      imageID: this.#imageID,
      probeMessage: running ? this.#probeMessage() : '',
    };
  }

  #probeMessage(): string {
    if (this.#startup && this.#startup.result !== true) return this.#startup.lastMessage;
    if (this.#readiness && this.#readiness.result !== true) return this.#readiness.lastMessage;
    return '';
  }

  #setWaiting(reason: string, message: string): void {
    this.#state = { waiting: { reason, message } };
    this.#o.onChange();
  }

  #backoffDelay(): number {
    const b = this.#o.backoff;
    return Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, this.#crashes - 1));
  }

  #retryLater(reason: string, message: string): void {
    this.#crashes++;
    const delay = this.#backoffDelay();
    this.#setWaiting(reason, message);
    this.#o.log(`container ${this.#where()}: ${reason}: ${message}; retrying in ${delay} ms`);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      void this.#launch();
    }, delay);
  }

  #where(): string {
    return `${this.#o.pod.metadata?.namespace}/${this.#o.pod.metadata?.name}/${this.name}`;
  }

  async #launch(): Promise<void> {
    if (this.#stopping) return;
    const spec = this.#o.spec;
    let env: Record<string, string>;
    try {
      env = await this.#o.buildEnv();
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      this.#retryLater(err instanceof ConfigError ? 'CreateContainerConfigError' : 'RunContainerError', msg);
      return;
    }
    if (this.#stopping) return;
    let ps: ProcessSpec;
    try {
      ps = this.#o.runner({
        image: spec.image ?? '',
        ...(spec.command ? { command: spec.command.map((s) => expandVars(s, env)) } : {}),
        ...(spec.args ? { args: spec.args.map((s) => expandVars(s, env)) } : {}),
        env,
        podIP: this.#o.podIP,
        podName: this.#o.pod.metadata?.name ?? '',
        namespace: this.#o.pod.metadata?.namespace ?? '',
      });
    } catch (err) {
      this.#retryLater('RunContainerError', `image ${spec.image}: runner failed: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (ps.cwd && !existsSync(ps.cwd)) {
      this.#retryLater('RunContainerError', `working directory "${ps.cwd}" does not exist (image ${spec.image})`);
      return;
    }
    this.#imageID = `process://${ps.command}`;
    const fullEnv = { ...this.#o.baseEnv, ...env, ...(ps.env ?? {}) };
    let child: ChildProcess;
    try {
      // With setpriv the process also gets a parent-death signal, so a SIGKILLed harness leaves
      // no container behind. setpriv itself would report a missing executable only as exit 127,
      // so resolve it first and keep the clear RunContainerError.
      const exe = resolveExecutable(ps.command, fullEnv.PATH ?? '', ps.cwd);
      if (!exe) {
        this.#retryLater('RunContainerError', `failed to start container "${this.name}" (image ${spec.image}): exec executable file not found: "${ps.command}"`);
        return;
      }
      const [cmd, argv] = HAS_SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', exe, ...ps.args]] : [exe, ps.args];
      child = spawn(cmd, argv, { cwd: ps.cwd, env: fullEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      this.#retryLater('RunContainerError', `failed to start "${ps.command}": ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    this.#exited = new Promise((r) => (this.#resolveExited = r));
    this.#out.clear();
    if (this.#o.logDir && !this.#logFile) {
      const md = this.#o.pod.metadata;
      this.#logFile = createWriteStream(join(this.#o.logDir, `${md?.namespace}_${md?.name}_${this.name}.log`), { flags: 'a' });
      this.#logFile.on('error', () => {});
    }
    const onData = (c: Buffer) => {
      this.#out.write(c);
      this.#logFile?.write(c);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    let spawned = false;
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (spawned) return; // e.g. a failed kill(); exit follows
      this.#child = undefined;
      this.#resolveExited();
      const what = err.code === 'ENOENT' ? `executable file not found: "${ps.command}"` : err.message;
      this.#retryLater('RunContainerError', `failed to start container "${this.name}" (image ${spec.image}): exec ${what}`);
    });
    child.on('spawn', () => {
      spawned = true;
      this.#child = child;
      this.#startedAtMs = Date.now();
      this.#state = { running: { startedAt: now() } };
      this.#o.log(`container ${this.#where()}: started pid ${child.pid} (${ps.command} ${ps.args.join(' ')})`.slice(0, 400));
      this.#startProbes(fullEnv);
      this.#o.onChange();
    });
    child.on('exit', (code, signal) => this.#onExit(child, code, signal));
  }

  #startProbes(env: Record<string, string>): void {
    const spec = this.#o.spec;
    const ctx = { podIP: this.#o.podIP, ports: spec.ports ?? [], env };
    const onChange = () => this.#o.onChange();
    this.#readiness = spec.readinessProbe ? new Prober('readiness', spec.readinessProbe, ctx, onChange) : undefined;
    this.#liveness = spec.livenessProbe
      ? new Prober('liveness', spec.livenessProbe, ctx, (ok, msg) => {
          if (!ok && this.#liveness?.result === false) this.#killForRestart(`Container ${this.name} failed liveness probe, will be restarted: ${msg}`);
        })
      : undefined;
    if (spec.startupProbe) {
      this.#started = false;
      this.#startup = new Prober('startup', spec.startupProbe, ctx, (ok, msg) => {
        if (ok) {
          this.#started = true;
          this.#readiness?.start();
          this.#liveness?.start();
        } else if (this.#startup?.result === false) {
          this.#killForRestart(`Container ${this.name} failed startup probe, will be restarted: ${msg}`);
        }
        this.#o.onChange();
      });
      this.#startup.start();
    } else {
      this.#started = true;
      this.#readiness?.start();
      this.#liveness?.start();
    }
  }

  #stopProbes(): void {
    this.#readiness?.stop();
    this.#liveness?.stop();
    this.#startup?.stop();
    this.#readiness = this.#liveness = this.#startup = undefined;
  }

  #killForRestart(reason: string): void {
    const child = this.#child;
    if (!child?.pid) return;
    this.#o.log(`container ${this.#where()}: ${reason}`);
    this.#killReason = reason;
    this.#stopProbes();
    void this.#killGroup(child, (this.#o.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000);
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child !== child) return;
    this.#stopProbes();
    if (child.pid) signalGroup(child.pid, 'SIGKILL'); // strays of the group
    this.#child = undefined;
    const exitCode = code ?? (signal ? 128 + (signalNumbers[signal] ?? 0) : 1);
    const ranMs = Date.now() - this.#startedAtMs;
    const tail = this.#out.tail();
    const terminated = {
      exitCode,
      ...(signal ? { signal: signalNumbers[signal] ?? 0 } : {}),
      reason: this.#stopping ? (exitCode === 0 ? 'Completed' : 'Error') : exitCode === 0 ? 'Completed' : 'Error',
      message: this.#killReason || tail || undefined,
      startedAt: this.#state.running?.startedAt ?? now(),
      finishedAt: now(),
      containerID: `process://${child.pid}`,
    };
    this.#killReason = '';
    this.#resolveExited();
    this.#o.log(`container ${this.#where()}: pid ${child.pid} exited (${signal ?? `code ${exitCode}`}) after ${ranMs} ms`);
    if (this.#stopping) {
      this.#state = { terminated };
      this.#o.onChange();
      return;
    }
    if (!this.#o.shouldRestart(exitCode)) {
      this.#state = { terminated };
      this.done = true;
      this.exitCode = exitCode;
      this.#o.onChange();
      return;
    }
    this.#lastState = { terminated };
    if (ranMs >= this.#o.backoff.resetAfterMs) this.#crashes = 0;
    this.#crashes++;
    const delay = this.#backoffDelay();
    const md = this.#o.pod.metadata;
    const why = tail ? `; last exit code ${exitCode}: ${tail}` : `; last exit code ${exitCode}`;
    this.#state = {
      waiting: { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${this.name} pod=${md?.name}_${md?.namespace}${why}` },
    };
    this.#o.onChange();
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopping) return;
      this.#restartCount++;
      void this.#launch();
    }, delay);
  }

  async #killGroup(child: ChildProcess, graceMs: number): Promise<void> {
    const pid = child.pid;
    if (!pid || child.exitCode !== null || child.signalCode !== null) return;
    signalGroup(pid, 'SIGTERM');
    const exited = new Promise<boolean>((r) => child.once('exit', () => r(true)));
    let t: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((r) => (t = setTimeout(() => r(false), graceMs)));
    const ok = await Promise.race([exited, timedOut]);
    clearTimeout(t);
    if (!ok) {
      this.#o.log(`container ${this.#where()}: pid ${pid} still running after ${graceMs} ms grace; SIGKILL`);
      signalGroup(pid, 'SIGKILL');
      await exited;
    }
  }

  /** Stops the container for good: SIGTERM, wait up to graceMs, SIGKILL. Resolves when the process is gone. */
  async terminate(graceMs: number): Promise<void> {
    this.#stopping = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    this.#stopProbes();
    const child = this.#child;
    if (child) await this.#killGroup(child, graceMs);
    await this.#exited;
    if (!this.#state.terminated) {
      const prev = this.#state.waiting;
      this.#state = { terminated: { exitCode: 0, reason: 'Completed', message: prev ? `never started: ${prev.reason}` : undefined, finishedAt: now() } };
    }
    this.#logFile?.end();
    this.#logFile = undefined;
  }

  /** Synchronous last resort (process exit): SIGKILL the group. */
  killNow(): void {
    if (this.#child?.pid) signalGroup(this.#child.pid, 'SIGKILL');
  }
}

const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

/** Signals a whole process group (the container was spawned detached, so pgid = pid). */
export function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

const SETPRIV = '/usr/bin/setpriv';
const HAS_SETPRIV = existsSync(SETPRIV);

/** The path execvp would run for `command`, or undefined when there is none. */
function resolveExecutable(command: string, path: string, cwd: string | undefined): string | undefined {
  const candidates = command.includes('/') ? [resolve(cwd ?? process.cwd(), command)] : path.split(':').filter(Boolean).map((dir) => join(dir, command));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      if (statSync(c).isFile()) return c;
    } catch {
      // not here
    }
  }
  return undefined;
}
