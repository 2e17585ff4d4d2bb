/**
 * The sidecar container's main process: runs the server (this same command with
 * VERSION_OBSERVER_SIDECAR_ROLE=server) as a child and keeps the container alive whatever the
 * server does, so trouble in the sidecar never makes the app's pod NotReady (a native sidecar
 * whose main process exits is not ready while the kubelet restarts it).
 *
 * Invariants:
 * - Only SIGTERM/SIGINT end this process: the signal is forwarded, the server drains
 *   (VERSION_OBSERVER_DRAIN_MS) and closes its sockets with 1001; this process exits with the
 *   server's code once it is gone, or SIGKILLs it and exits 1 after the shutdown grace + 1 s.
 * - Any other exit of the server (crash, V8 heap limit, SIGKILL) is logged with its code/signal
 *   and followed by a restart after backoffStep(attempt, RESTART_POLICY); a server that stayed up
 *   HEALTHY_AFTER_MS resets the attempt count. A server that exits CONFIG_INVALID_EXIT (invalid
 *   configuration: a restart cannot fix the env) is not restarted; the container stays up
 *   without it. A port in use is retried like a crash: it may be a previous server still closing.
 * - With a cgroup v2 memory limit the server gets a V8 heap limit of half of it
 *   (serverHeapLimitMiB), so a leak ends in a server restart before the kernel OOM-kills the container.
 * - Loads no server code, no pino, no settings table: a line logger, backoff, cgroup reader only
 *   (its memory is measured in docs/benchmarks.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { backoffStep, type BackoffPolicy } from '../core/backoff.ts';
import { serverHeapLimitMiB } from '../core/connection-cap.ts';
import type { Logger } from '../platform/logger.ts';
import { createLineLogger } from './supervisor-log.ts';
import { realClock, type Clock } from '../platform/clock.ts';
import { parseDuration } from '../platform/config.ts';
import { readMemoryMax } from './memory.ts';
import { CONFIG_INVALID_EXIT, RESTARTS_ENV, ROLE_ENV, SUPERVISOR_SETTINGS } from './supervisor-protocol.ts';
import { packageVersion } from '../platform/version.ts';

export const RESTART_POLICY: BackoffPolicy = { baseMs: 250, maxMs: 30_000, jitter: 'equal' };
export const HEALTHY_AFTER_MS = 30_000;
const MiB = 2 ** 20;

export interface SupervisorOptions {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  /** node and the arguments that run this command again (default: this process's own) */
  command?: { execPath: string; args: readonly string[] };
  log?: Logger;
  clock?: Clock;
}

export async function runSupervisor(argv: string[]): Promise<void> {
  startSupervisor({ argv, env: process.env });
}

export function startSupervisor(opts: SupervisorOptions): { stop(signal: NodeJS.Signals): void } {
  const { env } = opts;
  const clock = opts.clock ?? realClock;
  const command = opts.command ?? { execPath: process.execPath, args: [...process.execArgv, ...process.argv.slice(1)] };
  const level = settingText(opts.argv, env, SUPERVISOR_SETTINGS.logLevel) ?? SUPERVISOR_SETTINGS.logLevel.default;
  const log = opts.log ?? createLineLogger(level, { component: 'sidecar-supervisor' });

  // Only what the supervisor itself needs; the server checks the whole configuration. A grace
  // that does not parse leaves the default: the server then exits CONFIG_INVALID_EXIT anyway.
  let graceMs: number = SUPERVISOR_SETTINGS.shutdownGrace.default;
  const graceText = settingText(opts.argv, env, SUPERVISOR_SETTINGS.shutdownGrace);
  if (graceText !== undefined) {
    try {
      graceMs = /^\d+$/.test(graceText) ? Number(graceText) : parseDuration(graceText);
    } catch {
      // reported by the server
    }
  }

  const memoryMaxBytes = readMemoryMax(env);
  const heapMiB = serverHeapLimitMiB(memoryMaxBytes);
  const execArgs = heapMiB === null ? [...command.args] : withHeapLimit(command.args, heapMiB);

  let child: ChildProcess | null = null;
  let startedAt = 0;
  let attempt = 0;
  let restarts = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopping = false;

  const startChild = (): void => {
    timer = null;
    if (stopping) return;
    startedAt = clock.now();
    const proc = spawn(command.execPath, execArgs, { stdio: 'inherit', env: { ...env, [ROLE_ENV]: 'server', [RESTARTS_ENV]: String(restarts) } });
    child = proc;
    let settled = false;
    const onGone = (code: number | null, signal: NodeJS.Signals | null, error?: Error): void => {
      if (settled) return;
      settled = true;
      child = null;
      if (stopping) return;
      if (code === CONFIG_INVALID_EXIT) {
        log.error({ event: 'config-invalid', code }, 'the configuration is invalid (the line above says why); the sidecar stays down, the app is unaffected, until the pod is recreated with a fixed configuration');
        return;
      }
      const uptimeMs = clock.now() - startedAt;
      if (uptimeMs >= HEALTHY_AFTER_MS) attempt = 0;
      attempt += 1;
      restarts += 1;
      const delayMs = backoffStep(attempt, RESTART_POLICY, clock.random());
      log.warn(
        { event: 'server-exit', code, signal, error: error?.message, uptimeMs: Math.round(uptimeMs), restarts, attempt, delayMs },
        `server exited (${signal ?? `code ${code}`}) after ${Math.round(uptimeMs)} ms; restart ${restarts} in ${delayMs} ms`,
      );
      timer = setTimeout(startChild, delayMs);
    };
    proc.once('exit', (code, signal) => onGone(code, signal));
    proc.once('error', (err) => onGone(null, null, err));
    log.info({ event: 'server-start', pid: proc.pid, restarts, heapLimitMiB: heapMiB }, `server started (pid ${proc.pid})`);
  };

  // The event loop stays alive while the server is down for good (invalid configuration).
  const keepAlive = setInterval(() => {}, 2 ** 30);
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    if (timer) clearTimeout(timer);
    clearInterval(keepAlive);
    const running = child;
    if (!running) {
      log.info({ signal }, `${signal}: no server running; exiting`);
      process.exit(0);
    }
    log.info({ signal, pid: running.pid, graceMs }, `${signal}: forwarded to the server; waiting up to ${graceMs + 1000} ms for its drain and exit`);
    const hard = setTimeout(() => {
      log.error({ pid: running.pid }, 'the server outlived the shutdown grace; SIGKILL');
      running.kill('SIGKILL');
      process.exit(1);
    }, graceMs + 1000);
    running.once('exit', (code, sig) => {
      clearTimeout(hard);
      process.exit(code ?? (sig ? 1 : 0));
    });
    running.kill(signal);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // A bug here must not end the container: log it and keep supervising.
  process.on('uncaughtException', (err) => log.error({ err: { message: err.message, stack: err.stack } }, 'supervisor error (kept running)'));

  log.info(
    { event: 'supervisor-start', version: packageVersion(), node: process.version, pid: process.pid, memoryMaxMiB: memoryMaxBytes === null ? null : +(memoryMaxBytes / MiB).toFixed(1), serverHeapLimitMiB: heapMiB },
    memoryMaxBytes === null ? 'supervisor started; no memory limit visible' : `supervisor started; memory limit ${(memoryMaxBytes / MiB).toFixed(0)} MiB, server heap limit ${heapMiB} MiB`,
  );
  startChild();
  return { stop };
}

/** A setting's raw text, flag (`--x v`, `--x=v`) over env, as src/platform/config.ts reads it; undefined when unset. */
export function settingText(argv: readonly string[], env: NodeJS.ProcessEnv, row: { flag: string; env: string }): string | undefined {
  let text: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${row.flag}`) text = argv[i + 1];
    else if (argv[i]!.startsWith(`--${row.flag}=`)) text = argv[i]!.slice(row.flag.length + 3);
  }
  text ??= env[row.env];
  return text?.trim() || undefined;
}

/** The child's arguments with --max-old-space-size before the script (a flag already given wins). */
function withHeapLimit(args: readonly string[], heapMiB: number): string[] {
  if (args.some((a) => a.startsWith('--max-old-space-size'))) return [...args];
  return [`--max-old-space-size=${heapMiB}`, ...args];
}
