/**
 * A container's process as a process group: spawned detached (so pgid = pid and every process
 * it forks can be signalled at once), stopped with SIGTERM to the group, the grace period, then
 * SIGKILL, as the kubelet stops a container.
 *
 * Invariants: signalling a group that is gone is not an error; stopGroup() resolves only once
 * the process has exited; the executable is resolved before spawning, because setpriv would
 * report a missing one only as exit 127.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { withParentDeathSignal } from '../parent-death.ts';

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

/** The path execvp would run for `command`, or undefined when there is none. */
export function resolveExecutable(command: string, path: string, cwd: string | undefined): string | undefined {
  const candidates = command.includes('/') ? [resolve(cwd ?? process.cwd(), command)] : path.split(':').filter(Boolean).map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Starts `executable` as the leader of a new process group, stdout and stderr piped. May throw (spawn's synchronous errors). */
export function spawnGroup(executable: string, args: string[], opts: { cwd: string | undefined; env: Record<string, string> }): ChildProcess {
  const [command, argv] = withParentDeathSignal(executable, args);
  return spawn(command, argv, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * SIGTERM to the group, wait up to graceMs for the leader to exit, then SIGKILL (after calling
 * onGraceExpired). Resolves when the leader has exited; at once if it already has.
 */
export async function stopGroup(child: ChildProcess, graceMs: number, onGraceExpired: (pid: number) => void): Promise<void> {
  const pid = child.pid;
  if (!pid || child.exitCode !== null || child.signalCode !== null) return;
  signalGroup(pid, 'SIGTERM');
  const exited = new Promise<boolean>((r) => child.once('exit', () => r(true)));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs)));
  const exitedInTime = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (!exitedInTime) {
    onGraceExpired(pid);
    signalGroup(pid, 'SIGKILL');
    await exited;
  }
}
