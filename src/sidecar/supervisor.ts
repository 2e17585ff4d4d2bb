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
 *   HEALTHY_AFTER_MS resets the attempt count. Invalid configuration (which a restart cannot fix)
 *   is logged once and leaves the container up without a server.
 * - With a cgroup v2 memory limit the server gets a V8 heap limit of half of it
 *   (serverHeapLimitMiB), so a leak ends in a server restart before the kernel OOM-kills the container.
 * - Loads no server code: config table, logger, backoff, cgroup reader only (its memory is
 *   measured in docs/benchmarks.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { backoffStep, type BackoffPolicy } from '../core/backoff.ts';
import { serverHeapLimitMiB } from '../core/connection-cap.ts';
import { createLogger, type Logger } from '../platform/logger.ts';
import { realClock, type Clock } from '../platform/clock.ts';
import { OPTIONS, parseConfig } from './config.ts';
import { readMemoryMax } from './memory.ts';
import { RESTARTS_ENV, ROLE_ENV } from './supervisor-protocol.ts';

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
  const level = env[OPTIONS.logLevel.env] || 'info';
  let log = opts.log ?? createLogger({ level: OPTIONS.logLevel.oneOf.includes(level as never) ? level : 'info', base: { component: 'sidecar-supervisor' } });

  let graceMs: number = OPTIONS.shutdownGrace.default;
  let configError: string | null = null;
  try {
    const config = parseConfig(opts.argv, env);
    graceMs = config.shutdownGraceMs;
    log = log.child({ app: config.app, podVersion: config.podVersion });
  } catch (err) {
    configError = (err as Error).message;
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

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    if (timer) clearTimeout(timer);
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
    { event: 'supervisor-start', pid: process.pid, memoryMaxMiB: memoryMaxBytes === null ? null : +(memoryMaxBytes / MiB).toFixed(1), serverHeapLimitMiB: heapMiB },
    memoryMaxBytes === null ? 'supervisor started; no memory limit visible' : `supervisor started; memory limit ${(memoryMaxBytes / MiB).toFixed(0)} MiB, server heap limit ${heapMiB} MiB`,
  );
  if (configError !== null) {
    // One readable line as before (stderr), then the JSON record; restarting cannot fix the env.
    process.stderr.write(`version-observer sidecar: ${configError}\n`);
    log.error({ event: 'config-invalid', error: configError }, `${configError}; the sidecar stays down (the app is unaffected) until its configuration is fixed`);
    // Keep the event loop alive so the container stays up until SIGTERM.
    setInterval(() => {}, 2 ** 30);
  } else {
    startChild();
  }
  return { stop };
}

/** The child's arguments with --max-old-space-size before the script (a flag already given wins). */
function withHeapLimit(args: readonly string[], heapMiB: number): string[] {
  if (args.some((a) => a.startsWith('--max-old-space-size'))) return [...args];
  return [`--max-old-space-size=${heapMiB}`, ...args];
}
