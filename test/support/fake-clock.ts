/**
 * A steppable Clock for tests whose subject is time: `advance(ms)` fires due sleeps in order and
 * lets the code they wake run, so a test never waits on a real timer. `random()` is fixed at 0.5.
 */
import type { Clock } from '../../src/platform/clock.ts';

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

export class FakeClock implements Clock {
  t: number;
  #timers: Timer[] = [];
  #seq = 0;
  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  random(): number {
    return 0.5;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.#seq++, resolve: () => {} };
      const done = () => {
        this.#timers = this.#timers.filter((x) => x !== timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      timer.resolve = done;
      this.#timers.push(timer);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
  /** Pending timers (for asserting nothing leaks). */
  pending(): number {
    return this.#timers.length;
  }
  /** Moves time forward by `ms`, firing timers in order and letting the code they wake run. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await settle();
    for (;;) {
      const next = [...this.#timers].sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next || next.at > target) break;
      this.t = Math.max(this.t, next.at);
      next.resolve();
      await settle();
    }
    this.t = target;
    await settle();
  }
}

/** Lets every pending promise chain run (the lock below answers via microtasks). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

