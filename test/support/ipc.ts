/**
 * Request/response over a forked child's IPC channel (load clients, the push sink).
 * Invariant: an `ask` settles exactly once — with the first message from the child that
 * `accepts`, or with an error when the child exits first — and leaves no listener behind.
 */
import type { ChildProcess } from 'node:child_process';

/**
 * Sends `msg` (none when null: just wait, e.g. for the child's first "ready" message) and
 * resolves with the first answer `accepts` takes (any message by default).
 */
export function ask<T>(child: ChildProcess, msg: object | null, accepts: (m: unknown) => boolean = () => true): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown): void => {
      if (!accepts(m)) return;
      done();
      resolve(m as T);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      done();
      reject(new Error(`child ${child.pid} exited (${signal ?? code}) before answering ${msg === null ? 'its first message' : JSON.stringify(msg)}`));
    };
    const done = (): void => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    if (child.exitCode !== null || child.signalCode !== null) return onExit(child.exitCode, child.signalCode);
    child.on('message', onMessage);
    child.once('exit', onExit);
    if (msg !== null) child.send(msg);
  });
}

/** Accepts the answer whose `cmd` is `reply` (for children that tag their answers). */
export const reply = (cmd: string) => (m: unknown): boolean => typeof m === 'object' && m !== null && (m as { cmd?: unknown }).cmd === cmd;
