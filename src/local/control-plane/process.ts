/**
 * A supervised child process of the local control plane. Output goes to a log file in the
 * cluster's temp dir (its tail is quoted when the process fails). Children get a parent-death
 * signal where possible (parent-death.ts), so even a SIGKILLed harness leaves no orphans.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { withParentDeathSignal } from '../parent-death.ts';

export interface Supervised {
  readonly name: string;
  readonly logFile: string;
  pid(): number | undefined;
  /** Resolves when the process has exited (SIGTERM, then SIGKILL after graceMs). */
  stop(graceMs?: number): Promise<void>;
  /** The last lines of its log, for error messages. */
  tail(lines?: number): string;
  exited(): boolean;
}

export function startProcess(name: string, bin: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): Supervised {
  const out = createWriteStream(logFile, { flags: 'a' });
  const [cmd, argv] = withParentDeathSignal(bin, args);
  const child: ChildProcess = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
  child.stdout?.pipe(out, { end: false });
  child.stderr?.pipe(out, { end: false });
  let done = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      done = true;
      resolve();
    });
    child.once('error', (err) => {
      out.write(`spawn error: ${err.message}\n`);
      done = true;
      resolve();
    });
  });
  track(child);
  const tail = (lines = 20): string => {
    try {
      return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  return {
    name,
    logFile,
    pid: () => child.pid,
    exited: () => done,
    tail,
    async stop(graceMs = 5000) {
      if (!done) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exit;
        clearTimeout(timer);
      }
      untrack(child);
      out.end();
    },
  };
}

// Last-resort cleanup: kill every live child when the harness process exits or is signalled.
const live = new Set<ChildProcess>();
let hooked = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (hooked) return;
  hooked = true;
  process.once('exit', killAll);
}
function untrack(child: ChildProcess): void {
  live.delete(child);
}
export function killAll(): void {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}
