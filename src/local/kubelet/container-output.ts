/**
 * A container's stdout and stderr: the recent bytes in memory (quoted in status messages and
 * served by logs()), and, when a log dir is set, every byte appended to
 * <logDir>/<namespace>_<pod>_<container>.log across restarts.
 *
 * Invariants: memory stays bounded by the ring buffer; a log file write error never reaches
 * the container (the file is a convenience); close() ends the file and the next write reopens it.
 */
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import { RingBuffer } from './ring-buffer.ts';

export class ContainerOutput {
  readonly #recent = new RingBuffer();
  readonly #logPath: string | undefined;
  #logFile: WriteStream | undefined;

  constructor(logDir: string | undefined, namespace: string | undefined, pod: string | undefined, container: string) {
    this.#logPath = logDir ? join(logDir, `${namespace}_${pod}_${container}.log`) : undefined;
  }

  /** Starts a new run: forgets the previous run's output (the log file keeps it). */
  startRun(): void {
    this.#recent.clear();
    if (this.#logPath && !this.#logFile) {
      this.#logFile = createWriteStream(this.#logPath, { flags: 'a' });
      this.#logFile.on('error', () => {});
    }
  }

  write(chunk: Buffer): void {
    this.#recent.write(chunk);
    this.#logFile?.write(chunk);
  }

  /** The recent output of this run. */
  text(): string {
    return this.#recent.toString();
  }

  /** The last few non-empty lines (for the status message of an exit). */
  tail(): string {
    return this.#recent.tail();
  }

  close(): void {
    this.#logFile?.end();
    this.#logFile = undefined;
  }
}
